//! Background work, run exactly once across every server: each server runs a [`Worker`]
//! over the one `jobs` table (see `sohoa_storage::jobs`). A kind of job is a name, a
//! handler, and how many of it may run at once; a recurring kind is also a [`Schedule`].
//!
//! A job's effect should be idempotent by its id (a file named after it, a row keyed by
//! it), or committed with its completion (`Lease::complete` in the handler's own
//! transaction): a worker killed between the effect and the completion leaves the lease to
//! run out, and the job runs again.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::Timestamp;
use sohoa_storage::jobs::{self as store, Failure, Job, JobState, NewJob, Operation};
use sohoa_storage::{Db, StorageError, Tx};

use crate::error::authorize;
use crate::{Acting, Error, Result};

/// How a handler's attempt ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// Worth trying again later (a peer down, a timeout).
    Retry(String),
    /// Can never succeed (a payload that does not parse): dead at once, with the reason.
    Permanent(String),
}

type Attempt = Pin<Box<dyn Future<Output = std::result::Result<(), JobError>> + Send>>;
/// What runs a job: its payload and its lease in, the outcome out.
pub type Handler = Arc<dyn Fn(Job, Lease) -> Attempt + Send + Sync>;

/// A kind of job: its name, its handler and its limits.
#[derive(Clone)]
pub struct Kind {
    pub name: &'static str,
    pub handler: Handler,
    /// At most this many of the kind run at once, across every server.
    pub max_running: i64,
    /// Attempts before the job is dead.
    pub max_attempts: i64,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kind")
            .field("name", &self.name)
            .field("max_running", &self.max_running)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl Kind {
    /// A kind whose handler is an async function of the job and its lease.
    pub fn new<F, Fut>(name: &'static str, handler: F) -> Self
    where
        F: Fn(Job, Lease) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), JobError>> + Send + 'static,
    {
        Self {
            name,
            handler: Arc::new(move |job, lease| Box::pin(handler(job, lease))),
            max_running: 4,
            max_attempts: 8,
        }
    }
    pub fn max_running(mut self, n: i64) -> Self {
        self.max_running = n.max(1);
        self
    }
    pub fn max_attempts(mut self, n: i64) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// A running job's lease, as its handler holds it.
#[derive(Debug, Clone)]
pub struct Lease {
    pub job_id: String,
    pub owner: String,
}

impl Lease {
    /// Completes the job in `tx`, the transaction of its effect, so the two commit together;
    /// false when the lease was lost (another worker holds the job now, and the effect must
    /// not be committed: roll `tx` back).
    pub async fn complete(&self, tx: &mut Tx) -> Result<bool> {
        Ok(store::complete(tx, &self.job_id, &self.owner).await?)
    }
}

/// Enqueues a job of `kind` in `tx`; with a key, a second job of the same kind and key is
/// the first one. Returns its id.
pub async fn enqueue(
    tx: &mut Tx,
    kind: &str,
    payload: &serde_json::Value,
    key: Option<&str>,
    max_attempts: i64,
) -> Result<String> {
    let payload = payload.to_string();
    let job = NewJob {
        kind,
        payload: &payload,
        run_at: Timestamp::now(),
        max_attempts,
        idempotency_key: key,
    };
    Ok(store::enqueue(tx, &job).await?)
}

/// A recurring kind: one job per period, across every server (each server's scheduler asks
/// for the period's job; its key makes the asks one job).
#[derive(Debug, Clone)]
pub struct Schedule {
    pub kind: &'static str,
    pub every: Duration,
    pub max_attempts: i64,
}

impl Schedule {
    /// The period `at` falls in, counted from the Unix epoch.
    fn period(&self, at: Timestamp) -> i64 {
        let secs = self.every.as_secs().max(1) as i64;
        at.datetime().unix_timestamp().div_euclid(secs)
    }

    /// Enqueues this period's job unless some server already has; its id.
    pub async fn enqueue_due(&self, db: &Db) -> Result<String> {
        self.enqueue_for(db, Timestamp::now()).await
    }

    /// Enqueues the job of the period `at` falls in, unless some server already has.
    pub async fn enqueue_for(&self, db: &Db, at: Timestamp) -> Result<String> {
        let period = self.period(at);
        let key = format!("period:{period}");
        // Every server asks each period; all but the first find the job there, by a read.
        if let Some(id) = store::by_key(db, self.kind, &key).await? {
            return Ok(id);
        }
        let payload = serde_json::json!({ "period": period }).to_string();
        let mut tx = db.begin().await?;
        let id = store::enqueue(
            &mut tx,
            &NewJob {
                kind: self.kind,
                payload: &payload,
                run_at: Timestamp::now(),
                max_attempts: self.max_attempts,
                idempotency_key: Some(&key),
            },
        )
        .await?;
        tx.commit().await.map_err(StorageError::from)?;
        Ok(id)
    }
}

/// How long after its `attempts`-th failure a job is tried again: doubling from 2 seconds,
/// at most an hour, each wait drawn between half and all of that so that jobs failing
/// together do not come back together.
pub fn backoff(attempts: i64) -> Duration {
    let base = 2u64.saturating_pow(u32::try_from(attempts.clamp(1, 12)).unwrap_or(12));
    let ceiling = base.min(3600) * 1000;
    let draw = crate::random_bytes::<8>()
        .map(u64::from_le_bytes)
        .unwrap_or_default();
    Duration::from_millis(ceiling / 2 + draw % (ceiling / 2 + 1))
}

/// The message of a panic, as a job's last error records it.
fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => match p.downcast::<String>() {
            Ok(s) => format!("panicked: {s}"),
            Err(p) => match p.downcast::<&str>() {
                Ok(s) => format!("panicked: {s}"),
                Err(_) => "panicked".to_owned(),
            },
        },
        Err(e) => format!("stopped: {e}"),
    }
}

/// Runs the jobs of its kinds, claiming due ones every `poll` (or as soon as one finishes),
/// each under a lease it renews while the job runs.
#[derive(Debug, Clone)]
pub struct Worker {
    db: Db,
    /// Names this worker in leases: server and process, then a random part.
    owner: String,
    kinds: Arc<HashMap<&'static str, Kind>>,
    lease: Duration,
    poll: Duration,
}

impl Worker {
    pub fn new(db: Db, kinds: Vec<Kind>) -> Result<Self> {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "sohoa".to_owned());
        let owner = format!(
            "{host}:{}:{}",
            std::process::id(),
            hex::encode(crate::random_bytes::<4>()?)
        );
        Ok(Self {
            db,
            owner,
            kinds: Arc::new(kinds.into_iter().map(|k| (k.name, k)).collect()),
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
        })
    }

    /// How long a lease lasts unrenewed: how soon a killed worker's jobs run elsewhere.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(300));
        self
    }

    pub fn poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn lease_until(&self) -> Timestamp {
        crate::identity::later(self.lease)
    }

    /// Claims what is due of every kind now and runs it; returns once those jobs ended, with
    /// how many ran. The server loops over this; `sohoa jobs run` calls it until nothing is
    /// due.
    pub async fn run_due(&self) -> Result<usize> {
        let mut running = tokio::task::JoinSet::new();
        for kind in self.kinds.values() {
            let jobs = store::claim(
                &self.db,
                kind.name,
                &self.owner,
                self.lease_until(),
                kind.max_running,
                kind.max_running,
            )
            .await?;
            for job in jobs {
                let me = self.clone();
                let kind = kind.clone();
                running.spawn(async move { me.run_one(&kind, job).await });
            }
        }
        let mut ran = 0;
        while let Some(done) = running.join_next().await {
            if let Err(e) = done.map_err(Error::internal).and_then(|r| r) {
                tracing::error!(error = ?e, "a job's outcome could not be recorded");
            }
            ran += 1;
        }
        Ok(ran)
    }

    /// Runs one claimed job to its end and records the outcome: done, tried again later,
    /// or dead. A panic is a failure with its message.
    async fn run_one(&self, kind: &Kind, job: Job) -> Result<()> {
        let lease = Lease {
            job_id: job.id.clone(),
            owner: self.owner.clone(),
        };
        let (id, attempts, max_attempts) = (job.id.clone(), job.attempts, job.max_attempts);
        let attempt = tokio::spawn((kind.handler)(job, lease.clone()));
        let outcome = self.renewing(&id, attempt).await;
        let recorded = match outcome {
            Ok(Ok(())) => {
                let mut tx = self.db.begin().await?;
                let done = store::complete(&mut tx, &id, &self.owner).await?;
                tx.commit().await.map_err(StorageError::from)?;
                // Not completed here: the handler completed it in its own transaction, or
                // its lease went to another worker.
                done || store::get(&self.db, &id)
                    .await?
                    .is_some_and(|j| j.state == JobState::Done)
            }
            Ok(Err(JobError::Permanent(why))) => {
                store::fail(&self.db, &id, &self.owner, &why, Failure::Dead).await?
            }
            Ok(Err(JobError::Retry(why))) => {
                self.retry_or_bury(&id, &why, attempts, max_attempts)
                    .await?
            }
            Err(panicked) => {
                self.retry_or_bury(&id, &panicked, attempts, max_attempts)
                    .await?
            }
        };
        if !recorded {
            tracing::warn!(job = %id, "a job's lease was lost before its outcome was recorded");
        }
        Ok(())
    }

    async fn retry_or_bury(&self, id: &str, why: &str, attempts: i64, max: i64) -> Result<bool> {
        tracing::warn!(job = %id, attempts, error = %why, "a job failed");
        let then = if attempts >= max {
            Failure::Dead
        } else {
            Failure::RetryAt(crate::identity::later(backoff(attempts)))
        };
        Ok(store::fail(&self.db, id, &self.owner, why, then).await?)
    }

    /// Waits for `attempt`, renewing the job's lease every third of its length.
    async fn renewing(
        &self,
        id: &str,
        mut attempt: tokio::task::JoinHandle<std::result::Result<(), JobError>>,
    ) -> std::result::Result<std::result::Result<(), JobError>, String> {
        let mut tick = tokio::time::interval(self.lease / 3);
        tick.tick().await;
        loop {
            tokio::select! {
                done = &mut attempt => return done.map_err(panic_message),
                _ = tick.tick() => {
                    match store::renew(&self.db, id, &self.owner, self.lease_until()).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job = %id, "a running job's lease was taken over"),
                        Err(e) => tracing::warn!(job = %id, error = %e, "a lease could not be renewed"),
                    }
                }
            }
        }
    }

    /// Runs until `stop` turns true: due jobs every `poll`, and each schedule's job of the
    /// period enqueued as its period begins.
    pub async fn run(self, schedules: Vec<Schedule>, mut stop: tokio::sync::watch::Receiver<bool>) {
        // The period each schedule's job was last enqueued for: asked once per period, not
        // at every poll.
        let mut asked: Vec<Option<i64>> = vec![None; schedules.len()];
        while !*stop.borrow() {
            for (s, last) in schedules.iter().zip(asked.iter_mut()) {
                let period = s.period(Timestamp::now());
                if *last == Some(period) {
                    continue;
                }
                match s.enqueue_due(&self.db).await {
                    Ok(_) => *last = Some(period),
                    Err(e) => {
                        tracing::warn!(kind = s.kind, error = ?e, "a recurring job could not be enqueued")
                    }
                }
            }
            let ran = match self.run_due().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = ?e, "jobs could not be claimed");
                    0
                }
            };
            if ran > 0 {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                // A stop sent, or its sender gone with the server: either way, stop.
                changed = stop.changed() => if changed.is_err() { return; },
            }
        }
    }
}

/// The kind that forgets jobs which ended (done or cancelled) more than `keep` ago, a batch
/// at a time, so the table holds what is live and recent, not every message ever sent.
pub const PURGE: &str = "jobs.purge";

pub fn purge_kind(db: Db, keep: Duration) -> Kind {
    Kind::new(PURGE, move |_, _| {
        let db = db.clone();
        async move {
            let before = Timestamp::from_datetime(Timestamp::now().datetime() - keep);
            loop {
                let n = store::purge(&db, before, 10_000)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                if n < 10_000 {
                    return Ok(());
                }
            }
        }
    })
    .max_running(1)
    .max_attempts(3)
}

/// How many jobs of one kind are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KindCounts {
    pub kind: String,
    pub ready: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
    pub cancelled: i64,
}

impl KindCounts {
    pub fn of(&self, state: JobState) -> i64 {
        match state {
            JobState::Ready => self.ready,
            JobState::Running => self.running,
            JobState::Done => self.done,
            JobState::Dead => self.dead,
            JobState::Cancelled => self.cancelled,
        }
    }
    fn slot(&mut self, state: JobState) -> &mut i64 {
        match state {
            JobState::Ready => &mut self.ready,
            JobState::Running => &mut self.running,
            JobState::Done => &mut self.done,
            JobState::Dead => &mut self.dead,
            JobState::Cancelled => &mut self.cancelled,
        }
    }
}

/// Jobs as the city's administrators see them: per kind, how many in each state.
pub async fn counts(app: &crate::App, who: &Principal) -> Result<Vec<KindCounts>> {
    authorize(who, Action::OperateJobs, &Target::default())?;
    let mut out: Vec<KindCounts> = Vec::new();
    // Sorted by kind: one entry per kind, in the order the rows come.
    for (kind, state, n) in store::counts(&app.db).await? {
        if out.last().is_none_or(|k| k.kind != kind) {
            out.push(KindCounts {
                kind,
                ..KindCounts::default()
            });
        }
        if let Some(k) = out.last_mut() {
            *k.slot(state) += n;
        }
    }
    Ok(out)
}

/// A job as an administrator sees it: everything but its payload, which may carry a
/// citizen's message.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    pub id: String,
    pub kind: String,
    pub state: JobState,
    pub run_at: Timestamp,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            state: j.state,
            run_at: j.run_at,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

/// Which jobs to list: newest first, `limit` after the job `before`.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub state: Option<JobState>,
    pub kind: Option<String>,
    pub before: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<JobView>,
    /// The id to list from for the next page, when there is one.
    pub next: Option<String>,
}

pub async fn list(app: &crate::App, who: &Principal, q: &ListQuery) -> Result<Page> {
    authorize(who, Action::OperateJobs, &Target::default())?;
    if !(1..=crate::staff::MAX_PAGE).contains(&q.limit) {
        return Err(Error::bad_request("invalid_page").field("limit"));
    }
    let mut jobs = store::list(
        &app.db,
        q.state,
        q.kind.as_deref(),
        q.before.as_deref(),
        q.limit + 1,
    )
    .await?;
    let more = jobs.len() as i64 > q.limit;
    jobs.truncate(q.limit as usize);
    let next = more.then(|| jobs.last().map(|j| j.id.clone())).flatten();
    Ok(Page {
        items: jobs.into_iter().map(JobView::from).collect(),
        next,
    })
}

/// Tries a dead or cancelled job again, now, with its attempts counted afresh (audited).
pub async fn retry(app: &crate::App, who: Acting<'_>, id: &str) -> Result<JobView> {
    operate(app, who, id, Operation::Retry).await
}

/// Cancels a job that waits to run (audited); a running one finishes its attempt.
pub async fn cancel(app: &crate::App, who: Acting<'_>, id: &str) -> Result<JobView> {
    operate(app, who, id, Operation::Cancel).await
}

/// An administrator's change of one job: authorized, audited in the change's transaction,
/// refused (409) when the job is not in a state the change applies to.
async fn operate(app: &crate::App, who: Acting<'_>, id: &str, op: Operation) -> Result<JobView> {
    authorize(who.principal, Action::OperateJobs, &Target::default())?;
    let not_found = || Error::not_found("job_not_found");
    let job = store::get(&app.db, id).await?.ok_or_else(not_found)?;
    let record = AuditRecord::new(who.actor(), op.action(), "job", &job.id)
        .fields(["state"])
        .client_addr(who.addr());
    if !store::operate(&app.db, &job.id, op, &record).await? {
        let refused = match op {
            Operation::Retry => "job_not_retryable",
            Operation::Cancel => "job_not_cancellable",
        };
        return Err(Error::conflict(refused).arg("state", job.state.as_str()));
    }
    let job = store::get(&app.db, id).await?.ok_or_else(not_found)?;
    Ok(job.into())
}
