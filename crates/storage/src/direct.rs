//! SQLite without sqlx's thread hop, for the two hottest paths of once-only sharing.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands it every statement
//! through a channel: each statement costs two thread wake-ups, which on a small virtual
//! machine cost more than a point read or a row insert itself. Two paths go around it:
//!
//! - [`PointReaders`]: one record by its identity, read on the calling thread through a
//!   read-only connection to the same file, for the few microseconds a B-tree seek takes.
//!   WAL mode lets it read beside the writer exactly as sqlx's readers do.
//! - [`DirectWriter`]: the audit entries of reads, a whole group commit in one synchronous
//!   transaction on the group commit's own thread. It writes only while holding sqlx's
//!   single write connection ([`crate::Db::write_lock`]), so SQLite still sees one writer
//!   at a time and nobody waits on SQLITE_BUSY.
//!
//! Everything else, and everything on PostgreSQL, goes through sqlx.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use crate::{Result, StorageError};

/// Idle connections kept; more are opened when more callers read at once (at most one a
/// runtime thread, since a read never awaits), and closed when returned beyond this.
const KEEP: usize = 8;

/// Read-only connections to one SQLite file, taken by one caller at a time.
#[derive(Debug)]
pub struct PointReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// A row's columns as the repositories decode them, on either kind of row.
pub(crate) trait Fields {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
}

impl Fields for sqlx::any::AnyRow {
    fn text(&self, col: &str) -> Result<String> {
        crate::text(self, col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        crate::opt_text(self, col)
    }
    fn int(&self, col: &str) -> Result<i64> {
        crate::int(self, col)
    }
}

/// A row of a statement whose columns are `names`, in order, read in place: nothing copied
/// but the values decoded. Columns are found by position in `names`: rusqlite's own lookup by
/// name asks SQLite for every column's name and measures it, on each value read (2% of the
/// server's samples on audited look-ups).
pub(crate) struct Named<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    names: &'r [&'r str],
}

impl<'r, 's> Named<'r, 's> {
    pub(crate) fn new(row: &'r rusqlite::Row<'s>, names: &'r [&'r str]) -> Self {
        Self { row, names }
    }

    fn get<T: rusqlite::types::FromSql>(&self, col: &str) -> Result<T> {
        let i = self
            .names
            .iter()
            .position(|n| *n == col)
            .ok_or_else(|| StorageError::Corrupt(format!("no column {col}")))?;
        Ok(self.row.get(i)?)
    }
}

impl Fields for Named<'_, '_> {
    fn text(&self, col: &str) -> Result<String> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.get(col)
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.get(col)
    }
}

/// The durability and locking settings of sqlx's connections (see [`crate::Db::connect`]),
/// with a smaller cache: a point read touches a handful of pages, and the audit writer
/// appends in key order (the log, and the runs of [`crate::audit_index`]). An A/B of 8 against
/// 64 MiB for the writer on the 14M bench showed no difference.
const PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; \
                       PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192;";

impl PointReaders {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // The same settings as sqlx's readers; query_only guards against a write slipping
        // through this side door.
        conn.execute_batch(&format!("{PRAGMAS} PRAGMA query_only = ON;"))?;
        Ok(conn)
    }

    /// `decode` of the one row `sql` finds with `param` bound to `?1`, if any.
    pub fn one<T>(
        &self,
        sql: &str,
        param: &str,
        decode: impl FnOnce(&rusqlite::Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        // A poisoned lock guards only a list of idle connections, which stays whole.
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.open()?,
        };
        let row = read_one(&conn, sql, param, decode);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < KEEP {
            idle.push(conn);
        }
        row
    }
}

fn read_one<T>(
    conn: &Connection,
    sql: &str,
    param: &str,
    decode: impl FnOnce(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([param])?;
    rows.next()?.map(decode).transpose()
}

/// Statements a writer connection keeps prepared.
const WRITER_STATEMENTS: usize = 64;

/// A read-write connection for one writer task, opened on first use.
#[derive(Debug)]
pub struct DirectWriter {
    path: PathBuf,
    conn: Mutex<Option<Connection>>,
}

impl DirectWriter {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            conn: Mutex::new(None),
        }
    }

    /// Runs `f` in an immediate transaction and commits it (synchronously: call it from a
    /// thread that may block, and only while holding [`crate::Db::write_lock`]).
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let conn = Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.execute_batch(PRAGMAS)?;
            // The log's and the index's upkeep statements together are more than rusqlite's
            // default of 16: with fewer, each batch would parse some of them again.
            conn.set_prepared_statement_cache_capacity(WRITER_STATEMENTS);
            *guard = Some(conn);
        }
        let conn = guard
            .as_mut()
            .ok_or_else(|| StorageError::Corrupt("no connection".into()))?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}
