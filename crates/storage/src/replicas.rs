//! Read replicas (PostgreSQL streaming standbys). Reads that may be slightly stale
//! (dashboards, the catalogs, search, the evaluation) go to a replica through
//! [`Db::stale`]; everything else reads the primary. A client that just wrote reads its
//! own write: the web layer hands it the primary's WAL position after its write, the client
//! sends it back, and its stale reads go to a replica only once that replica has replayed
//! that far (else to the primary). Each replica's replay position is polled every
//! [`POLL`], so choosing costs no round trip.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

use crate::{text, Backend, Db, DbOptions, Result, StorageError};

/// How often each replica's replay position is read.
pub const POLL: Duration = Duration::from_millis(100);

tokio::task_local! {
    /// The WAL position the current request must read at least (its client's last write).
    static READ_AFTER: Lsn;
}

/// A position in PostgreSQL's write-ahead log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// PostgreSQL's text form, `16/B374D848`.
    pub fn parse(s: &str) -> Option<Self> {
        let (hi, lo) = s.trim().split_once('/')?;
        let hi = u64::from_str_radix(hi, 16).ok()?;
        let lo = u64::from_str_radix(lo, 16).ok()?;
        (hi <= u64::from(u32::MAX) && lo <= u64::from(u32::MAX)).then_some(Self((hi << 32) | lo))
    }
}

impl std::fmt::Display for Lsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// Runs `f` reading at least at `lsn`: its stale reads skip replicas that are behind it.
pub async fn read_after<F: std::future::Future>(lsn: Option<Lsn>, f: F) -> F::Output {
    match lsn {
        Some(l) => READ_AFTER.scope(l, f).await,
        None => f.await,
    }
}

#[derive(Debug)]
pub(crate) struct Replica {
    pool: AnyPool,
    replayed: AtomicU64,
    up: AtomicBool,
}

/// How long a replica may take to answer before it counts as down: a stale read is not
/// worth waiting for when the primary can answer it.
const PATIENCE: Duration = Duration::from_secs(1);

impl Replica {
    async fn poll(&self) {
        let q = sqlx::query("SELECT pg_last_wal_replay_lsn()::text AS lsn").fetch_one(&self.pool);
        let row = tokio::time::timeout(PATIENCE, q)
            .await
            .ok()
            .and_then(|r| r.ok());
        match row
            .and_then(|r| text(&r, "lsn").ok())
            .and_then(|s| Lsn::parse(&s))
        {
            Some(l) => {
                self.replayed.store(l.0, Ordering::Release);
                self.up.store(true, Ordering::Release);
            }
            // Down, or not a standby (no replay position): not read from.
            None => self.up.store(false, Ordering::Release),
        }
    }
}

/// The replicas of a primary.
#[derive(Debug, Default)]
pub(crate) struct Replicas {
    list: Vec<Replica>,
    next: AtomicU64,
}

impl Db {
    /// Adds the streaming replicas at `urls` (PostgreSQL), polled for their replay position
    /// from now on. A replica that cannot be reached at start is an error: a typo in a URL
    /// must not pass for a replica that is merely down.
    pub async fn with_replicas(mut self, urls: &[String], opts: &DbOptions) -> Result<Self> {
        if urls.is_empty() {
            return Ok(self);
        }
        if self.backend != Backend::Postgres {
            return Err(StorageError::UnsupportedUrl(
                "read replicas are PostgreSQL's (SQLite has one file)".into(),
            ));
        }
        let mut list = Vec::new();
        for url in urls {
            let pool = AnyPoolOptions::new()
                .max_connections(opts.max_connections.max(2))
                .acquire_timeout(opts.acquire_timeout.min(PATIENCE))
                .connect(url)
                .await?;
            list.push(Replica {
                pool,
                replayed: AtomicU64::new(0),
                up: AtomicBool::new(false),
            });
        }
        let replicas = Arc::new(Replicas {
            list,
            next: AtomicU64::new(0),
        });
        for r in &replicas.list {
            r.poll().await;
        }
        let watched = Arc::downgrade(&replicas);
        tokio::spawn(async move {
            // Stops when the last handle on the database is gone.
            while let Some(rs) = watched.upgrade() {
                for r in &rs.list {
                    r.poll().await;
                }
                drop(rs);
                tokio::time::sleep(POLL).await;
            }
        });
        self.replicas = Some(replicas);
        Ok(self)
    }

    /// This database for reads that may be slightly stale: a replica that is up and has
    /// replayed what the current request must see (round robin among them), else the
    /// primary. Writes through it still go to the primary.
    pub fn stale(&self) -> Db {
        self.replica().unwrap_or_else(|| self.clone())
    }

    /// A replica fit for the current request's stale reads, if there is one.
    fn replica(&self) -> Option<Db> {
        let rs = self.replicas.as_ref()?;
        let need = READ_AFTER.try_with(|l| *l).unwrap_or_default();
        let n = rs.list.len() as u64;
        let start = rs.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &rs.list[((start + i) % n) as usize])
            .find(|r| {
                r.up.load(Ordering::Acquire) && Lsn(r.replayed.load(Ordering::Acquire)) >= need
            })
            .map(|r| {
                let mut db = self.clone();
                db.read = r.pool.clone();
                db
            })
    }

    /// Runs the stale read `f` on a replica (see [`Db::stale`]); if the replica turns out to
    /// be unreachable (it died since its last poll), runs it again on the primary: a replica
    /// going away costs its readers a moment, never an error.
    pub async fn read_stale<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: Fn(Db) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let Some(replica) = self.replica() else {
            return f(self.clone()).await;
        };
        match f(replica).await {
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "a read replica failed; read from the primary");
                f(self.clone()).await
            }
            other => other,
        }
    }

    /// Whether reads may go to replicas (any are configured).
    pub fn has_replicas(&self) -> bool {
        self.replicas.is_some()
    }

    /// The primary's WAL position now: after a write committed, at or past its commit.
    pub async fn wal_position(&self) -> Result<Option<Lsn>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let row = sqlx::query("SELECT pg_current_wal_lsn()::text AS lsn")
            .fetch_one(&self.write)
            .await?;
        Ok(Lsn::parse(&text(&row, "lsn")?))
    }
}

#[cfg(test)]
mod tests {
    use super::Lsn;

    #[test]
    fn positions_read_and_print_as_postgres_writes_them() {
        let l = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(l.0, (0x16 << 32) | 0xB374_D848);
        assert_eq!(l.to_string(), "16/B374D848");
        assert!(Lsn::parse("0/1").unwrap() < Lsn::parse("1/0").unwrap());
        for bad in ["", "16", "x/1", "1/", "100000000/0", "1/2/3"] {
            assert_eq!(Lsn::parse(bad), None, "{bad}");
        }
    }
}
