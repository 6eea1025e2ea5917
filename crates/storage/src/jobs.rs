//! Durable background jobs: enqueued in the transaction of the change that causes them,
//! leased by one worker at a time, retried with backoff, dead with their last error when
//! they run out of attempts. Every server runs workers over the same table, so a job runs
//! once however many servers there are: on PostgreSQL a worker's claim skips rows another
//! holds (`FOR UPDATE SKIP LOCKED`); on SQLite the single writer serializes claims.
//!
//! A lease that runs out (its worker was killed, or lost the database) makes the job
//! claimable again; completing or failing takes the lease's owner, so a worker whose lease
//! was taken over cannot overwrite what the new holder does.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::Timestamp;
use sqlx::any::AnyRow;

use crate::{int, opt_parsed, opt_text, parsed, stamp, text, AnyQuery, Backend, Db, Result, Tx};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    Ready,
    Running,
    Done,
    Dead,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Ready,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Ready => "ready",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub kind: String,
    /// JSON, as the kind's handler reads it.
    pub payload: String,
    pub state: JobState,
    pub run_at: Timestamp,
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, kind, payload, state, run_at, attempts, max_attempts, lease_owner, \
    lease_until, last_error, idempotency_key, created_at, updated_at, finished_at";
const T: &str = "jobs";

fn from_row(r: &AnyRow) -> Result<Job> {
    Ok(Job {
        id: text(r, "id")?,
        kind: text(r, "kind")?,
        payload: text(r, "payload")?,
        state: parsed(r, T, "state", JobState::parse)?,
        run_at: parsed(r, T, "run_at", stamp)?,
        attempts: int(r, "attempts")?,
        max_attempts: int(r, "max_attempts")?,
        lease_owner: opt_text(r, "lease_owner")?,
        lease_until: opt_parsed(r, T, "lease_until", stamp)?,
        last_error: opt_text(r, "last_error")?,
        idempotency_key: opt_text(r, "idempotency_key")?,
        created_at: parsed(r, T, "created_at", stamp)?,
        updated_at: parsed(r, T, "updated_at", stamp)?,
        finished_at: opt_parsed(r, T, "finished_at", stamp)?,
    })
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    /// When it may run first (now, or later for a scheduled job).
    pub run_at: Timestamp,
    pub max_attempts: i64,
    /// A job enqueued again with the same kind and key is the same job.
    pub idempotency_key: Option<&'a str>,
}

/// Enqueues a job in `tx`, the transaction of the change that causes it; the job's id, or
/// the id of the job already enqueued with the same kind and idempotency key.
pub async fn enqueue(tx: &mut Tx, job: &NewJob<'_>) -> Result<String> {
    let id = crate::time_ordered_id("job")?;
    let now = Timestamp::now().to_string();
    let inserted = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, run_at, attempts, max_attempts, \
         idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, 'ready', $4, 0, $5, $6, $7, $7) \
         ON CONFLICT (kind, idempotency_key) DO NOTHING",
    )
    .bind(&id)
    .bind(job.kind)
    .bind(job.payload)
    .bind(job.run_at.to_string())
    .bind(job.max_attempts.max(1))
    .bind(job.idempotency_key)
    .bind(&now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(id);
    }
    let row = sqlx::query("SELECT id FROM jobs WHERE kind = $1 AND idempotency_key = $2")
        .bind(job.kind)
        .bind(job.idempotency_key)
        .fetch_one(&mut **tx)
        .await?;
    text(&row, "id")
}

/// Enqueues several jobs of one kind in `tx`, due now, with ids the caller chose (a sealed
/// payload names its job in its sealing context), in one multi-row statement per chunk.
pub async fn enqueue_many(
    tx: &mut Tx,
    kind: &str,
    jobs: &[(String, String)],
    max_attempts: i64,
) -> Result<()> {
    let now = Timestamp::now().to_string();
    // Nine values a row: well under either backend's limit on bound values per statement.
    for chunk in jobs.chunks(500) {
        let sql = format!(
            "INSERT INTO jobs (id, kind, payload, state, run_at, attempts, max_attempts, \
             created_at, updated_at) VALUES {}",
            crate::values_placeholders(tx, chunk.len(), 9)
        );
        let mut q = sqlx::query(&sql);
        for (id, payload) in chunk {
            q = q
                .bind(id)
                .bind(kind)
                .bind(payload)
                .bind("ready")
                .bind(&now)
                .bind(0i64)
                .bind(max_attempts.max(1))
                .bind(&now)
                .bind(&now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Takes up to `limit` due jobs of `kind` for `owner` until `lease_until`: ready ones whose
/// time has come, and running ones whose lease ran out. At most `max_running` of the kind
/// run at once across every worker, so `limit` is cut to what the kind has left.
pub async fn claim(
    db: &Db,
    kind: &str,
    owner: &str,
    lease_until: Timestamp,
    limit: i64,
    max_running: i64,
) -> Result<Vec<Job>> {
    let now = Timestamp::now().to_string();
    // Most polls find nothing due: they read, on a reader, and write nothing. A write
    // transaction per poll would hold SQLite's one write lock several times a second on an
    // idle server, in the way of every command run beside it.
    let due = sqlx::query(
        "SELECT 1 AS due FROM jobs WHERE kind = $1 AND \
         ((state = 'ready' AND run_at <= $2) OR (state = 'running' AND lease_until < $2)) LIMIT 1",
    )
    .bind(kind)
    .bind(&now)
    .fetch_optional(db.reader())
    .await?;
    if due.is_none() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    if db.backend() == Backend::Postgres {
        // Claims of one kind take turns, so two servers cannot both see a free slot of the
        // kind's limit and fill it twice. Claims of other kinds go on beside them.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("jobs:{kind}"))
            .execute(&mut *tx)
            .await?;
    }
    let running = sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = $1 AND state = 'running' AND lease_until >= $2",
    )
    .bind(kind)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    let free = (max_running - int(&running, "n")?).min(limit);
    if free <= 0 {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let skip_locked = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let rows = sqlx::query(&format!(
        "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
         attempts = attempts + 1, updated_at = $3 \
         WHERE id IN (SELECT id FROM jobs WHERE kind = $4 AND \
         ((state = 'ready' AND run_at <= $3) OR (state = 'running' AND lease_until < $3)) \
         ORDER BY run_at, id LIMIT $5{skip_locked}) RETURNING {COLUMNS}"
    ))
    .bind(owner)
    .bind(lease_until.to_string())
    .bind(&now)
    .bind(kind)
    .bind(free)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut jobs = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    jobs.sort_by(|a, b| (a.run_at, &a.id).cmp(&(b.run_at, &b.id)));
    Ok(jobs)
}

/// Extends a running job's lease; false when `owner` no longer holds it.
pub async fn renew(db: &Db, id: &str, owner: &str, lease_until: Timestamp) -> Result<bool> {
    let q = sqlx::query(
        "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(lease_until.to_string())
    .bind(id)
    .bind(owner);
    Ok(alone(db, q).await? == 1)
}

/// Runs one statement in a write transaction of its own; the rows it changed.
async fn alone(db: &Db, q: AnyQuery<'_>) -> Result<u64> {
    let mut tx = db.begin().await?;
    let n = q.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// Marks a job `owner` holds done, in `tx` (the transaction of the job's own writes, so its
/// effect and its completion commit together); false when the lease was lost.
pub async fn complete(tx: &mut Tx, id: &str, owner: &str) -> Result<bool> {
    let now = Timestamp::now().to_string();
    let n = sqlx::query(
        "UPDATE jobs SET state = 'done', finished_at = $1, updated_at = $1, lease_owner = NULL, \
         lease_until = NULL, last_error = NULL WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(&now)
    .bind(id)
    .bind(owner)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// What becomes of a job that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Tried again at this time.
    RetryAt(Timestamp),
    /// Never again: out of attempts, or it cannot succeed (a payload that does not parse).
    Dead,
}

/// Records a failure of a job `owner` holds, with its error; false when the lease was lost.
pub async fn fail(db: &Db, id: &str, owner: &str, error: &str, then: Failure) -> Result<bool> {
    let now = Timestamp::now().to_string();
    // An error message is for people: a long one (a panic with a backtrace) is cut.
    let error: String = error.chars().take(2000).collect();
    let q = match then {
        Failure::RetryAt(at) => sqlx::query(
            "UPDATE jobs SET state = 'ready', run_at = $1, last_error = $2, updated_at = $3, \
             lease_owner = NULL, lease_until = NULL WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(at.to_string()),
        Failure::Dead => sqlx::query(
            "UPDATE jobs SET state = 'dead', finished_at = $1, last_error = $2, updated_at = $3, \
             lease_owner = NULL, lease_until = NULL WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(now.clone()),
    };
    let q = q.bind(error).bind(now.clone()).bind(id).bind(owner);
    Ok(alone(db, q).await? == 1)
}

/// Makes a dead or cancelled job ready to run now, with its attempts counted afresh, and
/// appends `record` to the audit log; false (and nothing written) when there is no such job
/// in either state.
pub async fn retry(tx: &mut Tx, id: &str, record: &AuditRecord) -> Result<bool> {
    change_one(
        tx,
        "UPDATE jobs SET state = 'ready', run_at = $1, attempts = 0, finished_at = NULL, \
         updated_at = $1 WHERE id = $2 AND state IN ('dead', 'cancelled')",
        id,
        record,
    )
    .await
}

/// Cancels a job that has not started (or waits to be tried again), with `record` in the
/// audit log; false otherwise. A running job finishes its attempt: stopping it half-way
/// would leave its effect half-done.
pub async fn cancel(tx: &mut Tx, id: &str, record: &AuditRecord) -> Result<bool> {
    change_one(
        tx,
        "UPDATE jobs SET state = 'cancelled', finished_at = $1, updated_at = $1 \
         WHERE id = $2 AND state = 'ready'",
        id,
        record,
    )
    .await
}

/// An operator's change of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Retry,
    Cancel,
}

impl Operation {
    /// The audit log's name for it.
    pub fn action(self) -> &'static str {
        match self {
            Operation::Retry => "job.retry",
            Operation::Cancel => "job.cancel",
        }
    }
}

/// Applies `op` to the job `id` in a transaction of its own, with `record` in the audit log
/// when it changed the job; whether it did.
pub async fn operate(db: &Db, id: &str, op: Operation, record: &AuditRecord) -> Result<bool> {
    let mut tx = db.begin().await?;
    let changed = match op {
        Operation::Retry => retry(&mut tx, id, record).await?,
        Operation::Cancel => cancel(&mut tx, id, record).await?,
    };
    tx.commit().await?;
    Ok(changed)
}

/// An operator's change of one job: `sql` takes the time now as `$1` and the id as `$2`,
/// and says in its own WHERE which states it applies to. Whether it changed the job; the
/// audit entry is written only when it did.
async fn change_one(tx: &mut Tx, sql: &str, id: &str, record: &AuditRecord) -> Result<bool> {
    let n = sqlx::query(sql)
        .bind(Timestamp::now().to_string())
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n == 1 {
        crate::audit::append(tx, record).await?;
    }
    Ok(n == 1)
}

/// Deletes up to `limit` jobs that ended (done or cancelled) before `before`; how many.
/// Dead jobs stay until an operator retries or cancels them.
pub async fn purge(db: &Db, before: Timestamp, limit: i64) -> Result<u64> {
    // The oldest that ended come from the partial index `jobs_ended`. On PostgreSQL the ids
    // are handed over as an array: `id IN (subquery)` is planned as a hash join over the
    // whole table, a full scan per batch once the table is large; `= ANY(ARRAY(...))`
    // deletes by primary key.
    let sql = match db.backend() {
        Backend::Postgres => {
            "DELETE FROM jobs WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE state IN \
             ('done', 'cancelled') AND finished_at < $1 ORDER BY finished_at LIMIT $2))"
        }
        Backend::Sqlite => {
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN ('done', 'cancelled') \
             AND finished_at < $1 ORDER BY finished_at LIMIT $2)"
        }
    };
    let q = sqlx::query(sql).bind(before.to_string()).bind(limit);
    alone(db, q).await
}

/// The id of the job of `kind` enqueued with `key`, if there is one.
pub async fn by_key(db: &Db, kind: &str, key: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT id FROM jobs WHERE kind = $1 AND idempotency_key = $2")
        .bind(kind)
        .bind(key)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| text(&r, "id")).transpose()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Job>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Jobs in `state` (all when `None`) of `kind` (all when `None`), newest first, at most
/// `limit`, after the id `before` (the last of the previous page).
pub async fn list(
    db: &Db,
    state: Option<JobState>,
    kind: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Job>> {
    let mut f = crate::Filter::default();
    if let Some(s) = state {
        f.and("state = ?", [s.as_str().to_owned()]);
    }
    if let Some(k) = kind {
        f.and("kind = ?", [k.to_owned()]);
    }
    if let Some(b) = before {
        f.and("id < ?", [b.to_owned()]);
    }
    let n = f.next_placeholder();
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs{} ORDER BY id DESC LIMIT ${n}",
        f.where_sql()
    );
    f.bind(sqlx::query(&sql))
        .bind(limit)
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// How many jobs there are of each kind in each state.
pub async fn counts(db: &Db) -> Result<Vec<(String, JobState, i64)>> {
    sqlx::query(
        "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind, state",
    )
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|r| {
        Ok((
            text(r, "kind")?,
            parsed(r, T, "state", JobState::parse)?,
            int(r, "n")?,
        ))
    })
    .collect()
}
