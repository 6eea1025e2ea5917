//! Consistent online snapshots of the database, taken while the server runs.
//!
//! SQLite copies itself with `VACUUM INTO` inside one read transaction. PostgreSQL exports
//! a snapshot from a repeatable-read transaction and `pg_dump` dumps exactly that snapshot,
//! so the audit head read in the same transaction describes the dump exactly.

use std::path::{Path, PathBuf};

use crate::{audit, int, text, Backend, Db, Result, StorageError};

/// Where the audit chain stood in the snapshot: the number of entries and the last hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// The file an SQLite URL names, if it is one.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    match crate::classify(url) {
        Ok((Backend::Sqlite, path)) => path,
        _ => None,
    }
}

/// Writes a consistent copy of an SQLite database to `dest` (which must not exist).
pub async fn sqlite_snapshot(db: &Db, dest: &Path) -> Result<Head> {
    let dest_text = dest
        .to_str()
        .ok_or_else(|| StorageError::Corrupt("backup path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(dest_text)
        .execute(db.reader())
        .await?;
    // The head as the copy holds it, not as the live database holds it a moment later.
    let copy = Db::connect(&crate::sqlite_url(dest), &crate::DbOptions::default()).await?;
    let (seq, hash) = audit::head(&copy).await?;
    copy.close().await;
    Ok(Head { seq, hash })
}

/// Runs `dump(snapshot_id)` while a repeatable-read transaction holds the snapshot open,
/// and returns the audit head as that snapshot sees it.
pub async fn postgres_snapshot<F, Fut, E>(db: &Db, dump: F) -> Result<std::result::Result<Head, E>>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), E>>,
{
    let mut tx = db.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("SELECT pg_export_snapshot() AS id")
        .fetch_one(&mut *tx)
        .await?;
    let snapshot = text(&row, "id")?;
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    let head = Head {
        seq: int(&row, "seq")?,
        hash: text(&row, "hash")?,
    };
    let dumped = dump(snapshot).await;
    tx.rollback().await?;
    Ok(dumped.map(|()| head))
}

/// Whether the database holds any table of ours (a restore target must be empty).
pub async fn is_blank(db: &Db) -> Result<bool> {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'",
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'audit_log'"
        }
    };
    let row = sqlx::query(sql).fetch_one(db.reader()).await?;
    Ok(int(&row, "n")? == 0)
}
