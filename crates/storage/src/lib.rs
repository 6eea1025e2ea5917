//! Persistence for sohoa on SQLite (the embedded default) or PostgreSQL.
//!
//! One repository code serves both backends through sqlx's `Any` driver and a portable SQL
//! subset (TEXT, BIGINT, `$n` placeholders, `ON CONFLICT`, `RETURNING`). What differs per
//! backend lives here and nowhere else: the migrations (one directory each) and the
//! connection set-up in [`Db::connect`]. This crate knows nothing of HTTP.

pub mod accounts;
pub mod agencies;
pub mod application;
pub mod applications;
pub mod audit;
pub mod audit_index;
pub mod backup;
pub mod batch;
pub mod changes;
pub mod counter;
pub mod credentials;
pub mod direct;
pub mod feedback;
pub mod files;
pub mod indicators;
pub mod jobs;
pub mod monitoring;
pub mod notifications;
pub mod payments;
pub mod pki;
pub mod procedures;
pub mod registry;
pub mod replicas;
pub mod sealed;
pub mod settings;
pub mod sharing;
pub mod signatures;
pub mod tickets;
pub mod units;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row};

pub use sqlx::Error as SqlxError;

/// A transaction on the write side; every change and its audit entry commit in one.
pub type Tx = sqlx::Transaction<'static, Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("unsupported database URL (expected sqlite://PATH or postgres://...): {0}")]
    UnsupportedUrl(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already exists")]
    Conflict(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the change could not be written: {0}")]
    BatchWrite(String),
    #[error("the change could not be written, the database being unreachable: {0}")]
    BatchUnavailable(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("personal data is sealed under data key {0}, which is not configured")]
    MissingKey(u32),
    #[error("data key {0} is not the key this database was sealed with (its check value differs)")]
    WrongKey(u32),
    #[error("no data key is configured: personal data cannot be sealed or opened")]
    NoKeyring,
}

impl StorageError {
    /// True when the database was unreachable or overloaded rather than the request wrong:
    /// the web layer answers 503 instead of 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Database(e) => sqlx_unavailable(e),
            StorageError::BatchUnavailable(_) => true,
            StorageError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            _ => false,
        }
    }
}

/// A database error that says the server is away, going, coming back or full, not that the
/// statement was wrong: what a failover looks like from here (the old primary shutting
/// down, a standby refusing writes until promoted, the new one starting up).
fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08: connection exceptions. 57P01-03: shutting down, crashed, starting.
            // 25006: a read-only transaction (a standby not yet promoted). 53300: too many
            // connections. 40P01 and 55P03 are contention, not absence, and stay errors.
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "25006" | "53300"
                )
        }),
        _ => false,
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Connection options that are not part of the URL.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Connections for reads (and, on PostgreSQL, for writes too).
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The SQLite writer's page cache: index pages of a city-sized registry are what upserts
/// touch. A bulk load lowers it for its duration (see [`registry::bulk_begin`]).
pub(crate) const WRITER_CACHE_KIB: i64 = 256 * 1024;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The database: a pool for reads and one for writes. On SQLite the write pool holds a
/// single connection, so writers queue in the application instead of failing with
/// SQLITE_BUSY; readers proceed in parallel thanks to WAL. On PostgreSQL both are one pool.
#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
    /// On SQLite, connections for point reads on the caller's thread ([`direct`]).
    point: Option<std::sync::Arc<direct::PointReaders>>,
    /// Keys that seal personal data at rest (see [`sealed`]). Shared by every clone, and
    /// replaceable while the server runs: a new key file is taken up without a restart.
    keyring: std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<sealed::Keyring>>>>,
    /// PostgreSQL's streaming replicas, for reads that may be slightly stale.
    replicas: Option<std::sync::Arc<replicas::Replicas>>,
}

/// Splits a URL into its backend and, for SQLite, the file path it names.
fn classify(url: &str) -> Result<(Backend, Option<PathBuf>)> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return Err(StorageError::UnsupportedUrl(
                "an SQLite database needs a file path (in-memory databases lose data)".into(),
            ));
        }
        return Ok((Backend::Sqlite, Some(PathBuf::from(path))));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, None));
    }
    // Never echo the URL: it may hold a password.
    let scheme = url.split(':').next().unwrap_or_default();
    Err(StorageError::UnsupportedUrl(format!("scheme {scheme:?}")))
}

/// The SQLite URL for a database file, creating it if missing.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A pool of at most `max` SQLite connections, each set up for WAL, durable commits and
/// foreign keys, with a page cache of `cache_kib`. Page cache per connection: the writer's
/// is large, because index pages of a city-sized registry are what bulk loads and upserts
/// touch; readers share the OS page cache beyond their own.
async fn sqlite_pool(
    url: &str,
    opts: &DbOptions,
    max: u32,
    cache_kib: i64,
) -> std::result::Result<AnyPool, sqlx::Error> {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(opts.acquire_timeout)
        // A connection to a local file does not go stale, and the ping sqlx sends before
        // each use is a round trip to the connection's thread: as costly as the query itself
        // for a point read.
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // WAL lets readers run beside the writer. synchronous=FULL syncs the WAL on
                // every commit: a 2xx answer promises the record survives a power cut, which
                // NORMAL does not.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA synchronous = FULL")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA busy_timeout = 10000")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(&format!("PRAGMA cache_size = -{cache_kib}"))
                    .execute(&mut *conn)
                    .await?;
                // Lets CREATE INDEX (the end of a bulk load) sort on more than one core.
                sqlx::query("PRAGMA threads = 2")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await
}

impl Db {
    pub async fn connect(url: &str, opts: &DbOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, path) = classify(url)?;
        match backend {
            Backend::Sqlite => Self::connect_sqlite(url, path, opts).await,
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(opts.max_connections.max(2))
                    .acquire_timeout(opts.acquire_timeout)
                    .connect(url)
                    .await?;
                Ok(Self {
                    backend,
                    read: pool.clone(),
                    write: pool,
                    point: None,
                    keyring: Default::default(),
                    replicas: None,
                })
            }
        }
    }

    /// Opens an SQLite database (creating its directory and file if missing): a single
    /// writer connection and a pool of readers.
    async fn connect_sqlite(url: &str, path: Option<PathBuf>, opts: &DbOptions) -> Result<Self> {
        if let Some(dir) = path
            .as_ref()
            .and_then(|p| p.parent())
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::DataDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let url = if url.contains('?') {
            url.to_owned()
        } else {
            format!("{url}?mode=rwc")
        };
        let write = sqlite_pool(&url, opts, 1, WRITER_CACHE_KIB).await?;
        let read = sqlite_pool(&url, opts, opts.max_connections.max(1), 32 * 1024).await?;
        Ok(Self {
            backend: Backend::Sqlite,
            read,
            write,
            point: path
                .as_deref()
                .map(|p| std::sync::Arc::new(direct::PointReaders::new(p))),
            keyring: Default::default(),
            replicas: None,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations embedded in the binary that the database has not seen yet.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.write).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.write).await?,
        }
        Ok(())
    }

    /// Names of the migrations this binary carries, oldest first.
    pub fn known_migrations(&self) -> Vec<String> {
        let m = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        m.iter()
            .map(|m| format!("{} {}", m.version, m.description))
            .collect()
    }

    pub(crate) fn point(&self) -> Option<&direct::PointReaders> {
        self.point.as_deref()
    }

    /// The SQLite file, for connections of [`direct`].
    pub(crate) fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.point.as_deref().map(direct::PointReaders::path)
    }

    /// Holds the single write connection of SQLite (without using it), so a writer of
    /// [`direct`] writes while no sqlx writer does.
    pub(crate) async fn write_lock(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.write.acquire().await?)
    }

    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The same database, sealing and opening personal data with `keyring`.
    pub fn with_keyring(self, keyring: std::sync::Arc<sealed::Keyring>) -> Self {
        self.replace_keyring(keyring);
        self
    }

    /// Puts a new keyring in force for every clone of this handle.
    pub fn replace_keyring(&self, keyring: std::sync::Arc<sealed::Keyring>) {
        // A poisoned lock held only a pointer: the value inside is whole.
        *self.keyring.write().unwrap_or_else(|p| p.into_inner()) = Some(keyring);
    }

    /// The keyring in force.
    pub fn keyring(&self) -> Result<std::sync::Arc<sealed::Keyring>> {
        self.keyring
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(StorageError::NoKeyring)
    }

    /// Checks the keyring against the check values this database remembers, and remembers
    /// those of new keys: a server started with the wrong key refuses to start instead of
    /// sealing data nobody else can open.
    pub async fn check_keyring(&self) -> Result<()> {
        self.check_keyring_of(&*self.keyring()?).await
    }

    /// [`Db::check_keyring`] for a keyring not yet in force (before replacing it).
    pub async fn check_keyring_of(&self, keyring: &sealed::Keyring) -> Result<()> {
        let mut tx = self.begin().await?;
        for (id, check) in keyring.checks() {
            let key = format!("data_key_check:{id}");
            match settings::get(&mut tx, &key).await? {
                Some(known) if known != *check => return Err(StorageError::WrongKey(*id)),
                Some(_) => {}
                None => settings::set(&mut tx, &key, check).await?,
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// A write transaction. On SQLite it takes the write lock at `BEGIN` (`IMMEDIATE`): a
    /// deferred transaction that reads first and writes later fails at once with
    /// `SQLITE_BUSY` (no busy wait) when another connection committed in between, as the
    /// server's background indexing does beside a command-line import. Waiting for the lock
    /// up front lets `busy_timeout` do its work.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    /// Refreshes PostgreSQL's planner statistics after a bulk load, as autovacuum would a
    /// little later: until then the planner believes the tables as small as they were. SQLite
    /// plans without statistics; nothing to do there.
    pub async fn refresh_statistics(&self) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("ANALYZE").execute(&self.write).await?;
        }
        Ok(())
    }

    /// After a bulk load of `table` on PostgreSQL, does at once what autovacuum would do a
    /// little later: marks the new pages all-visible (so index-only scans skip the table) and
    /// refreshes the planner's statistics. Nothing to do on SQLite.
    pub async fn settle_bulk_load(&self, table: &str) -> Result<()> {
        if self.backend == Backend::Postgres
            && table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            sqlx::query(&format!("VACUUM (ANALYZE) {table}"))
                .execute(&self.write)
                .await?;
        }
        Ok(())
    }

    /// Round-trips a query: what `/readyz` asks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Copies the WAL back into the database file and empties it (SQLite; nothing to do on
    /// PostgreSQL). A bulk load leaves a WAL as large as what it wrote: checkpointed here,
    /// the next start does not replay it before its first statement. `Ok(false)` when
    /// readers of another process (a running server) kept it from finishing; their own
    /// checkpoints finish it later.
    pub async fn checkpoint(&self) -> Result<bool> {
        if self.backend != Backend::Sqlite {
            return Ok(true);
        }
        let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.write)
            .await?;
        // (busy, frames in the log, frames checkpointed); busy = 1 when it could not finish.
        Ok(row.try_get::<i64, _>(0)? == 0)
    }

    /// Waits for connections in use to be returned, then closes them all.
    /// Returns the connections, waiting a few seconds at most: what was committed is durable
    /// already, and sqlx's pool maintenance can (rarely) spin on a closing pool, which must
    /// not hang a command that has done its work.
    pub async fn close(&self) {
        const WAIT: std::time::Duration = std::time::Duration::from_secs(5);
        for pool in [&self.read, &self.write] {
            if tokio::time::timeout(WAIT, pool.close()).await.is_err() {
                tracing::warn!("a database pool did not close in time; leaving it to the exit");
            }
        }
    }
}

/// A new id that sorts by creation time (microseconds, then 8 random bytes), so the ids of
/// one batch land side by side at the end of the index instead of on random pages.
pub(crate) fn time_ordered_id(prefix: &str) -> Result<String> {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| StorageError::Corrupt("no randomness for an id".into()))?;
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    Ok(format!("{prefix}_{micros:014x}{}", hex::encode(b)))
}

// Row decoding helpers: the Any driver reports a missing or mistyped column as an error,
// which we surface as `Corrupt` so a schema mismatch is never a panic.
pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String> {
    row.try_get::<String, _>(col).map_err(StorageError::from)
}
/// A column's value as the domain's type: one that does not parse is corrupt data, named
/// by its table and column, never dropped.
pub(crate) fn parsed<T>(
    row: &AnyRow,
    table: &str,
    col: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T> {
    let raw = text(row, col)?;
    parse(&raw).ok_or_else(|| StorageError::Corrupt(format!("{table}.{col}: {raw:?}")))
}

/// [`parsed`] for a column that may be null.
pub(crate) fn opt_parsed<T>(
    row: &AnyRow,
    table: &str,
    col: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>> {
    match opt_text(row, col)? {
        None => Ok(None),
        Some(raw) => parse(&raw)
            .map(Some)
            .ok_or_else(|| StorageError::Corrupt(format!("{table}.{col}: {raw:?}"))),
    }
}

/// A day stored as `YYYY-MM-DD`.
pub(crate) fn day(s: &str) -> Option<time::Date> {
    sohoa_domain::registry::parse_date("date", s).ok()
}

/// A stored time, as [`parsed`] takes it.
pub(crate) fn stamp(s: &str) -> Option<sohoa_domain::Timestamp> {
    sohoa_domain::Timestamp::parse(s).ok()
}

/// An amount in đồng that may be null; a negative one is a storage error naming its column.
pub(crate) fn opt_money(
    row: &AnyRow,
    table: &str,
    col: &str,
) -> Result<Option<sohoa_domain::Money>> {
    match opt_int(row, col)? {
        None => Ok(None),
        Some(n) => sohoa_domain::Money::from_dong(n)
            .map(Some)
            .map_err(|_| StorageError::Corrupt(format!("{table}.{col}: {n}"))),
    }
}

pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(col)
        .map_err(StorageError::from)
}
pub(crate) fn float(row: &AnyRow, col: &str) -> Result<f64> {
    row.try_get::<f64, _>(col).map_err(StorageError::from)
}

pub(crate) fn opt_float(row: &AnyRow, col: &str) -> Result<Option<f64>> {
    row.try_get::<Option<f64>, _>(col)
        .map_err(StorageError::from)
}

/// A query on either backend, for helpers that bind a row's values.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

pub(crate) fn int(row: &AnyRow, col: &str) -> Result<i64> {
    row.try_get::<i64, _>(col).map_err(StorageError::from)
}
pub(crate) fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    row.try_get::<Option<i64>, _>(col)
        .map_err(StorageError::from)
}

/// `(?,?,..),(..)` on SQLite, `($1,$2,..),(..)` on PostgreSQL, for `rows` rows of `ncols`.
///
/// SQLite looks a numbered parameter's name up by a linear scan, which makes binding
/// thousands of `$n` parameters quadratic; anonymous `?` parameters bind in order at no such
/// cost. PostgreSQL only knows `$n`. The arguments are bound in order either way.
pub(crate) fn values_placeholders(tx: &mut Tx, rows: usize, ncols: usize) -> String {
    let anonymous = (**tx).backend_name() == "SQLite";
    let mut sql = String::with_capacity(rows * ncols * 6);
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..ncols {
            if c > 0 {
                sql.push(',');
            }
            if anonymous {
                sql.push('?');
            } else {
                sql.push_str(&format!("${}", r * ncols + c + 1));
            }
        }
        sql.push(')');
    }
    sql
}

/// Splits `items` into runs whose lengths are powers of two (the largest first, at most
/// `max`, itself a power of two), for multi-row statements: a statement's text depends on
/// its row count, and with a handful of counts every batch size reuses prepared statements
/// instead of preparing a new one-off statement of thousands of parameters.
pub(crate) fn pow2_chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let mut n = max.max(1);
        while n > rest.len() {
            n /= 2;
        }
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
    }
    out
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern that matches `needle`
/// anywhere.
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Builds `WHERE` clauses with numbered placeholders, which both backends accept. Every
/// filter value is text: the columns filtered on are.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    args: Vec<String>,
}

impl Filter {
    /// Adds a clause; each `?` in it becomes the next `$n`, bound to the next of `args`.
    pub(crate) fn and(&mut self, clause: &str, args: impl IntoIterator<Item = String>) {
        let mut n = self.args.len();
        let mut out = String::with_capacity(clause.len() + 4);
        for c in clause.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        self.args.extend(args);
        debug_assert_eq!(
            n,
            self.args.len(),
            "placeholders and arguments differ in {clause}"
        );
        self.clauses.push(out);
    }

    pub(crate) fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    pub(crate) fn next_placeholder(&self) -> usize {
        self.args.len() + 1
    }

    pub(crate) fn bind<'q>(
        &self,
        mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        for a in &self.args {
            q = q.bind(a.clone());
        }
        q
    }
}

impl FromStr for Backend {
    type Err = StorageError;
    fn from_str(url: &str) -> Result<Self> {
        classify(url).map(|(b, _)| b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_classified_without_echoing_secrets() {
        assert!(matches!(
            classify("sqlite://./d/x.db"),
            Ok((Backend::Sqlite, Some(_)))
        ));
        assert!(matches!(
            classify("postgres://u:p@h/db"),
            Ok((Backend::Postgres, None))
        ));
        assert!(classify("sqlite::memory:").is_err());
        let err = classify("mysql://root:hunter2@h/db")
            .map(|_| ())
            .err()
            .map(|e| e.to_string());
        assert!(err.as_deref().is_some_and(|e| !e.contains("hunter2")));
    }

    #[test]
    fn filter_numbers_placeholders_in_order() {
        let mut f = Filter::default();
        f.and("a = ?", ["x".into()]);
        f.and("(b = ? OR c = ?)", ["1".into(), "2".into()]);
        assert_eq!(f.where_sql(), " WHERE a = $1 AND (b = $2 OR c = $3)");
        assert_eq!(f.next_placeholder(), 4);
    }

    #[test]
    fn chunks_have_power_of_two_lengths() {
        let items: Vec<u32> = (0..108).collect();
        let lens: Vec<usize> = pow2_chunks(&items, 64).iter().map(|c| c.len()).collect();
        assert_eq!(lens, [64, 32, 8, 4]);
        let lens: Vec<usize> = pow2_chunks(&items, 32).iter().map(|c| c.len()).collect();
        assert_eq!(lens, [32, 32, 32, 8, 4]);
        assert!(pow2_chunks::<u32>(&[], 8).is_empty());
        let flat: Vec<u32> = pow2_chunks(&items, 16).concat();
        assert_eq!(flat, items);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
