//! Uploaded files, stored once by their SHA-256 however often they are attached, and the
//! citizens' personal document store that names them.
//!
//! The bytes live behind [`BlobStore`]: the filesystem by default ([`FsBlobStore`], under
//! the data directory's `files/`, where `sohoa backup` copies them from); an S3-compatible
//! store implements the same two calls. A blob is written completely (temporary file,
//! fsync, rename) before any row names it, so a row never names a missing or partial file.

use std::io::Write;
use std::path::{Path, PathBuf};

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::{CitizenId, Timestamp};
use sqlx::any::AnyRow;

use crate::{audit, int, parsed, stamp, text, Db, Result, StorageError, Tx};

/// Where uploaded bytes are kept, by their SHA-256 (lower-case hex).
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` (unless already there) and returns their SHA-256.
    fn put(&self, bytes: &[u8]) -> Result<String>;
    /// The bytes stored under `sha256`, if any.
    fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>>;
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// Files under `root/ab/cd/<sha256>`.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

fn io(e: std::io::Error) -> StorageError {
    StorageError::Corrupt(format!("file store: {e}"))
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let ok = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| {
            self.root
                .join(&sha256[..2])
                .join(&sha256[2..4])
                .join(sha256)
        })
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)
}

impl BlobStore for FsBlobStore {
    fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha = sha256_hex(bytes);
        let path = self
            .path_of(&sha)
            .ok_or_else(|| StorageError::Corrupt("a SHA-256 that is not hex".into()))?;
        if path.exists() {
            return Ok(sha);
        }
        let dir = path
            .parent()
            .ok_or_else(|| StorageError::Corrupt("a file path without a directory".into()))?;
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut nonce = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| StorageError::Corrupt("no randomness for a temporary name".into()))?;
        let tmp = dir.join(format!(".{}.tmp", hex::encode(nonce)));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        sync_dir(dir)?;
        Ok(sha)
    }

    fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let Some(path) = self.path_of(sha256) else {
            return Ok(None);
        };
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}

/// A document in a citizen's personal store.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    /// The citizen whose store it is in.
    pub owner: CitizenId,
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub name: String,
    pub created_at: Timestamp,
    pub origin: Origin,
}

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The citizen uploaded it.
    Upload,
    /// Paper scanned at a one-stop counter; `checked` names the officer who compared it
    /// with the original, and when.
    CounterScan {
        scanned_by: String,
        checked: Option<(String, Timestamp)>,
    },
    /// The result issued on an application.
    Result(sohoa_domain::services::application::ApplicationNumber),
}

impl Origin {
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::Upload => "upload",
            Origin::CounterScan { .. } => "counter_scan",
            Origin::Result(_) => "result",
        }
    }
}

const COLUMNS: &str =
    "id, owner, sha256, size, media_type, name, created_at, origin, checked_by, checked_at, result_of";

fn origin_of(r: &AnyRow) -> Result<Origin> {
    let kind = text(r, "origin")?;
    let by = crate::opt_text(r, "checked_by")?;
    let at = crate::opt_parsed(r, "documents", "checked_at", stamp)?;
    Ok(match kind.as_str() {
        "upload" => Origin::Upload,
        // The scanning officer is in checked_by with no time when nobody checked it.
        "counter_scan" => Origin::CounterScan {
            scanned_by: by.clone().unwrap_or_default(),
            checked: by.zip(at),
        },
        "result" => Origin::Result(parsed(r, "documents", "result_of", |n| {
            sohoa_domain::services::application::ApplicationNumber::parse(n)
        })?),
        other => {
            return Err(StorageError::Corrupt(format!(
                "documents.origin: {other:?}"
            )))
        }
    })
}

fn from_row(r: &AnyRow) -> Result<Document> {
    Ok(Document {
        id: text(r, "id")?,
        owner: parsed(r, "documents", "owner", |o| CitizenId::parse(o).ok())?,
        sha256: text(r, "sha256")?,
        size: int(r, "size")?,
        media_type: text(r, "media_type")?,
        name: text(r, "name")?,
        created_at: parsed(r, "documents", "created_at", stamp)?,
        origin: origin_of(r)?,
    })
}

/// Adds a document to its owner's store, unless the owner already holds these bytes:
/// then that document is returned and nothing is written.
pub async fn add(tx: &mut Tx, doc: &Document, record: AuditRecord) -> Result<Document> {
    let existing = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM documents WHERE owner = $1 AND sha256 = $2"
    ))
    .bind(doc.owner.as_str())
    .bind(&doc.sha256)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(r) = existing {
        return from_row(&r);
    }
    let (by, at, result_of) = match &doc.origin {
        Origin::Upload => (None, None, None),
        Origin::CounterScan {
            scanned_by,
            checked,
        } => match checked {
            Some((who, when)) => (Some(who.clone()), Some(when.to_string()), None),
            None => (Some(scanned_by.clone()), None, None),
        },
        Origin::Result(n) => (None, None, Some(n.to_string())),
    };
    sqlx::query(&format!(
        "INSERT INTO documents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&doc.id)
    .bind(doc.owner.as_str())
    .bind(&doc.sha256)
    .bind(doc.size)
    .bind(&doc.media_type)
    .bind(&doc.name)
    .bind(doc.created_at.to_string())
    .bind(doc.origin.as_str())
    .bind(by)
    .bind(at)
    .bind(result_of)
    .execute(&mut **tx)
    .await?;
    let mut record = record.fields(["document"]);
    record.object_type = "document".into();
    record.object_id = doc.id.clone();
    audit::append(tx, &record).await?;
    Ok(doc.clone())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Document>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM documents WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// An owner's documents, newest first.
pub async fn list(db: &Db, owner: &str, limit: i64) -> Result<Vec<Document>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM documents WHERE owner = $1 ORDER BY created_at DESC, id LIMIT $2"
    ))
    .bind(owner)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// A document attached to an application for one of its procedure's required documents.
#[derive(Debug, Clone)]
pub struct Attached {
    pub code: String,
    pub document: Document,
}

/// Attaches documents: `(application number, (document code, document id))`, in
/// multi-row statements; attaching one twice is a no-op.
pub async fn attach_many(tx: &mut Tx, docs: &[(&str, &(String, String))]) -> Result<()> {
    for chunk in crate::pow2_chunks(docs, 64) {
        let sql = format!(
            "INSERT INTO application_documents (number, code, document_id) VALUES {} \
             ON CONFLICT (number, code, document_id) DO NOTHING",
            crate::values_placeholders(tx, chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (number, (code, id)) in chunk {
            q = q.bind(*number).bind(code).bind(id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// An application's documents, by code.
pub async fn attached(db: &Db, number: &str) -> Result<Vec<Attached>> {
    let rows = sqlx::query(
        "SELECT ad.code, d.id, d.owner, d.sha256, d.size, d.media_type, d.name, d.created_at, \
         d.origin, d.checked_by, d.checked_at, d.result_of \
         FROM application_documents ad JOIN documents d ON d.id = ad.document_id \
         WHERE ad.number = $1 ORDER BY ad.code, d.id",
    )
    .bind(number)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attached {
                code: text(r, "code")?,
                document: from_row(r)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_stored_once_under_their_hash_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path());
        let a = store.put(b"%PDF-1.7 hello").unwrap();
        let b = store.put(b"%PDF-1.7 hello").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, sha256_hex(b"%PDF-1.7 hello"));
        assert_eq!(
            store.get(&a).unwrap().as_deref(),
            Some(&b"%PDF-1.7 hello"[..])
        );
        assert_eq!(store.get(&"0".repeat(64)).unwrap(), None);
        assert_eq!(store.get("../../etc/passwd").unwrap(), None);
        let files: Vec<_> = walk(dir.path());
        assert_eq!(files.len(), 1, "{files:?}");
    }

    fn walk(p: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(p).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
