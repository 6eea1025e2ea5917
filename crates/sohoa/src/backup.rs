//! `sohoa backup DIR` and `sohoa restore DIR`: a consistent copy of the database and the
//! uploaded files, taken while the server runs, and put back.
//!
//! A backup directory holds the database (`sohoa.db` for SQLite, `sohoa.pgdump` in
//! pg_dump's custom format for PostgreSQL), the uploaded files under `files/`, and
//! `manifest.json` naming the audit chain's head at the moment of the snapshot. A restore
//! is accepted only if the restored chain verifies and ends exactly at that head.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sohoa_storage::audit::{self, Verification};
use sohoa_storage::backup::{self as snapshot, Head};
use sohoa_storage::{Backend, Db, StorageError};

use crate::config::StoreConfig;

const MANIFEST: &str = "manifest.json";
const FILES: &str = "files";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub backend: String,
    pub created_at: String,
    pub database_file: String,
    pub database_sha256: String,
    pub audit_entries: i64,
    pub audit_head_hash: String,
    pub files: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists and is not empty: back up into a new directory")]
    NotEmpty(PathBuf),
    #[error("the database to restore into already holds data: pass --replace to overwrite it")]
    TargetNotBlank,
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        tool: &'static str,
        status: String,
        stderr: String,
    },
    #[error("{0} is not a backup of this format: {1}")]
    Manifest(PathBuf, String),
    #[error("the backup was taken from {backup}, but the target database is {target}")]
    BackendMismatch { backup: String, target: String },
    #[error("{0} does not match the checksum in the manifest: the backup is damaged")]
    Checksum(PathBuf),
    #[error("the restored audit chain is broken at entry {0}")]
    BrokenChain(i64),
    #[error("the restored audit chain ends at entry {restored}, the backup's at {expected}")]
    HeadMismatch { expected: i64, restored: i64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Start(#[from] crate::StartError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io(path.to_owned(), e)
}

fn sha256_file(path: &Path) -> Result<String, BackupError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Copies a directory tree; uploaded files are immutable (named by their SHA-256), so a
/// file present is complete. Returns how many files were copied.
fn copy_tree(from: &Path, to: &Path) -> Result<u64, BackupError> {
    if !from.exists() {
        return Ok(0);
    }
    std::fs::create_dir_all(to).map_err(io(to))?;
    let mut n = 0;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        if entry.file_type().map_err(io(&src))?.is_dir() {
            n += copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(io(&src))?;
            n += 1;
        }
    }
    Ok(n)
}

fn run_tool(tool: &'static str, args: &[&std::ffi::OsStr]) -> Result<(), BackupError> {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| BackupError::Io(PathBuf::from(tool), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BackupError::Tool {
            tool,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Takes a backup into `dir` (created; must be new or empty) while the server may run.
pub async fn backup(store: &StoreConfig, dir: &Path) -> Result<Manifest, BackupError> {
    if dir.exists() && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(BackupError::NotEmpty(dir.to_owned()));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let db = crate::open(store).await?;
    let backend = db.backend();
    let (file, head) = match backend {
        Backend::Sqlite => {
            let file = dir.join("sohoa.db");
            let head = snapshot::sqlite_snapshot(&db, &file).await?;
            (file, head)
        }
        Backend::Postgres => {
            let file = dir.join("sohoa.pgdump");
            let url = store.database_url.clone();
            let out = file.clone();
            let head = snapshot::postgres_snapshot(&db, |id| async move {
                tokio::task::spawn_blocking(move || {
                    run_tool(
                        "pg_dump",
                        &[
                            "--format=custom".as_ref(),
                            "--no-owner".as_ref(),
                            format!("--snapshot={id}").as_ref(),
                            "--file".as_ref(),
                            out.as_os_str(),
                            "--dbname".as_ref(),
                            url.as_ref(),
                        ],
                    )
                })
                .await
                .unwrap_or_else(|e| {
                    Err(BackupError::Io(
                        PathBuf::from("pg_dump"),
                        std::io::Error::other(e),
                    ))
                })
            })
            .await??;
            (file, head)
        }
    };
    db.close().await;
    // Files after the database: every file the snapshot refers to was written before the
    // row that names it, so the copy holds at least those.
    let files = copy_tree(&store.data_dir.join(FILES), &dir.join(FILES))?;
    let manifest = Manifest {
        format: 1,
        backend: backend.name().to_owned(),
        created_at: sohoa_domain::Timestamp::now().to_string(),
        database_file: file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        database_sha256: sha256_file(&file)?,
        audit_entries: head.seq,
        audit_head_hash: head.hash,
        files,
    };
    let path = dir.join(MANIFEST);
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Manifest(path.clone(), e.to_string()))?;
    std::fs::write(&path, json).map_err(io(&path))?;
    Ok(manifest)
}

/// Restores the backup in `dir` into the configured database and data directory, then
/// proves it: the audit chain must verify and end at the manifest's head. SQLite restores
/// need the server stopped; PostgreSQL restores go into an empty database (or, with
/// `replace`, over the old one).
pub async fn restore(
    store: &StoreConfig,
    dir: &Path,
    replace: bool,
) -> Result<Manifest, BackupError> {
    let (manifest, file) = read_backup(store, dir)?;
    match snapshot::sqlite_path(&store.database_url) {
        Some(db_path) => restore_sqlite(store, &db_path, &file, replace).await?,
        None => restore_postgres(store, &file, replace).await?,
    }
    copy_tree(&dir.join(FILES), &store.data_dir.join(FILES))?;
    check_chain(store, &manifest).await?;
    Ok(manifest)
}

/// The backup's manifest and database file, once the manifest is of a known format, the
/// file matches its checksum, and the backup is of the configured backend.
fn read_backup(store: &StoreConfig, dir: &Path) -> Result<(Manifest, PathBuf), BackupError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| BackupError::Manifest(path.clone(), e.to_string()))?;
    if manifest.format != 1 || manifest.database_file.contains(['/', '\\']) {
        return Err(BackupError::Manifest(path, "unknown format".into()));
    }
    let file = dir.join(&manifest.database_file);
    if sha256_file(&file)? != manifest.database_sha256 {
        return Err(BackupError::Checksum(file));
    }
    let target = match snapshot::sqlite_path(&store.database_url) {
        Some(_) => "sqlite",
        None => "postgres",
    };
    if manifest.backend != target {
        return Err(BackupError::BackendMismatch {
            backup: manifest.backend.clone(),
            target: target.to_owned(),
        });
    }
    Ok((manifest, file))
}

/// Puts the SQLite file `file` in place of the database at `db_path`, refusing to
/// overwrite one holding data unless `replace`.
async fn restore_sqlite(
    store: &StoreConfig,
    db_path: &Path,
    file: &Path,
    replace: bool,
) -> Result<(), BackupError> {
    if db_path.exists() {
        let db = crate::open(store).await?;
        let blank = snapshot::is_blank(&db).await?;
        db.close().await;
        if !blank && !replace {
            return Err(BackupError::TargetNotBlank);
        }
    }
    if let Some(parent) = db_path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    // Copy beside the target, then rename over it: a crash leaves the old file or
    // the whole new one, never half of it.
    let tmp = db_path.with_extension("restoring");
    std::fs::copy(file, &tmp).map_err(io(&tmp))?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if side.exists() {
            std::fs::remove_file(&side).map_err(io(&side))?;
        }
    }
    std::fs::rename(&tmp, db_path).map_err(io(db_path))?;
    Ok(())
}

/// Restores the dump `file` with pg_restore in one transaction, over the old tables
/// (`replace`) when the database holds data.
async fn restore_postgres(
    store: &StoreConfig,
    file: &Path,
    replace: bool,
) -> Result<(), BackupError> {
    let db = crate::open(store).await?;
    let blank = snapshot::is_blank(&db).await?;
    db.close().await;
    if !blank && !replace {
        return Err(BackupError::TargetNotBlank);
    }
    let url = store.database_url.clone();
    let mut args: Vec<std::ffi::OsString> = vec![
        "--no-owner".into(),
        "--exit-on-error".into(),
        "--single-transaction".into(),
    ];
    if !blank {
        args.push("--clean".into());
        args.push("--if-exists".into());
    }
    args.push("--dbname".into());
    args.push(url.into());
    args.push(file.to_owned().into());
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        run_tool("pg_restore", &refs)
    })
    .await
    .map_err(|e| BackupError::Io(PathBuf::from("pg_restore"), std::io::Error::other(e)))?
}

/// Proves a restore: the restored audit chain verifies and ends at the manifest's head.
async fn check_chain(store: &StoreConfig, manifest: &Manifest) -> Result<(), BackupError> {
    let db: Db = crate::open(store).await?;
    let verified = audit::verify(&db, |_, _| {}).await;
    let head = audit::head(&db).await;
    db.close().await;
    match verified? {
        Verification::Intact { .. } => {}
        Verification::Broken(b) => return Err(BackupError::BrokenChain(b.seq())),
    }
    let (seq, hash) = head?;
    if (Head { seq, hash })
        != (Head {
            seq: manifest.audit_entries,
            hash: manifest.audit_head_hash.clone(),
        })
    {
        return Err(BackupError::HeadMismatch {
            expected: manifest.audit_entries,
            restored: seq,
        });
    }
    Ok(())
}
