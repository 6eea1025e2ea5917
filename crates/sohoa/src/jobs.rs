//! `sohoa jobs`: the durable jobs as an operator sees and steers them. Listing reads;
//! retrying and cancelling change one job, and say so when it was not in a state that
//! allows it.

use std::fmt::Write as _;
use std::time::Duration;

use sohoa_app::jobs::{purge_kind, JobError, Kind, Schedule, Worker, PURGE};
use sohoa_domain::audit::AuditRecord;
use sohoa_storage::jobs::{self as store, JobState};
use sohoa_storage::{Db, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("a state is one of ready, running, done, dead, cancelled; not {0:?}")]
    State(String),
    #[error("no dead or cancelled job {0}: only those can be tried again")]
    NotRetryable(String),
    #[error("no job {0} waiting to run: only those can be cancelled (a running one finishes its attempt)")]
    NotCancellable(String),
    #[error("no recurring kind {0:?}; there are: {1}")]
    UnknownKind(String, String),
    #[error("{0}")]
    App(#[from] sohoa_app::Error),
    #[error("the run of {0} failed: {1}")]
    Failed(String, String),
}

const HOUR: Duration = Duration::from_secs(3600);

/// The kind that renews the keys whose certificates end within [`RENEW_MARGIN`].
pub const RENEW: &str = "pki.renew";

/// How long before its end a certificate is replaced: a month, so that a relying party's
/// cached chain never sees it lapse.
pub const RENEW_MARGIN: time::Duration = time::Duration::days(30);

/// The recurring kinds every server runs its share of, each with its schedule (one run per
/// period across the servers): forgetting jobs that ended a month ago, publishing the public
/// evaluation, and renewing certificates before they end (new ones name `crl_url`).
pub fn recurring(db: &Db, crl_url: Option<String>) -> Vec<(Kind, Schedule)> {
    use sohoa_app::evaluation::{publish, PUBLISH};
    let publisher = db.clone();
    let publish_kind = Kind::new(PUBLISH, move |_, _| {
        let db = publisher.clone();
        async move {
            let n = publish(&db)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            tracing::info!(figures = n, "public evaluation published");
            Ok(())
        }
    })
    .max_running(1)
    .max_attempts(3);
    let every_hour = |kind| Schedule {
        kind,
        every: HOUR,
        max_attempts: 3,
    };
    let renewer = db.clone();
    let renew_kind = Kind::new(RENEW, move |_, _| {
        let db = renewer.clone();
        let url = crl_url.clone();
        async move {
            let renewed = sohoa_storage::pki::renew_expiring(&db, RENEW_MARGIN, url.as_deref())
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            if !renewed.is_empty() {
                tracing::info!(?renewed, "certificates renewed before they end");
            }
            Ok(())
        }
    })
    .max_running(1)
    .max_attempts(3);
    vec![
        (purge_kind(db.clone(), crate::JOBS_KEPT), every_hour(PURGE)),
        (publish_kind, every_hour(PUBLISH)),
        (renew_kind, every_hour(RENEW)),
    ]
}

/// Runs a recurring kind now, here, beside its schedule: one job, enqueued and run like the
/// scheduled ones (so two runs never overlap), for an operator who will not wait the hour.
/// New certificates name the revocation list under SOHOA_PUBLIC_URL, as the server's do.
pub async fn run(db: &Db, kind: &str) -> Result<String, JobsError> {
    let url = crate::pki::crl_url(std::env::var("SOHOA_PUBLIC_URL").ok().as_deref());
    let Some((k, s)) = recurring(db, url).into_iter().find(|(k, _)| k.name == kind) else {
        let names: Vec<&str> = recurring(db, None).iter().map(|(k, _)| k.name).collect();
        return Err(JobsError::UnknownKind(kind.to_owned(), names.join(", ")));
    };
    let mut tx = db.begin().await?;
    let id = sohoa_app::jobs::enqueue(
        &mut tx,
        k.name,
        &serde_json::json!({}),
        None,
        s.max_attempts,
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    let worker = Worker::new(db.clone(), vec![k])?;
    loop {
        let ran = worker.run_due().await?;
        let job = store::get(db, &id).await?;
        match job {
            Some(j) if j.state == JobState::Done => return Ok(format!("{id}: done\n")),
            Some(j) if j.state == JobState::Dead => {
                return Err(JobsError::Failed(id, j.last_error.unwrap_or_default()))
            }
            // Failed and waiting for its next attempt, or run elsewhere: wait for it.
            Some(_) if ran == 0 => tokio::time::sleep(Duration::from_millis(500)).await,
            Some(_) => {}
            None => return Ok(format!("{id}: done and forgotten\n")),
        }
    }
}

/// The counts per kind and state, then up to `limit` jobs, newest first.
pub async fn list(
    db: &Db,
    state: Option<&str>,
    kind: Option<&str>,
    limit: i64,
) -> Result<String, JobsError> {
    let state = state
        .map(|s| JobState::parse(s).ok_or_else(|| JobsError::State(s.to_owned())))
        .transpose()?;
    let mut out = String::new();
    let counts = store::counts(db).await?;
    let _ = writeln!(out, "{:<32} {:<10} {:>10}", "kind", "state", "jobs");
    for (k, s, n) in &counts {
        let _ = writeln!(out, "{k:<32} {:<10} {n:>10}", s.as_str());
    }
    let jobs = store::list(db, state, kind, None, limit.clamp(1, 10_000)).await?;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<45} {:<24} {:<10} {:>8}  {:<27} last error",
        "id", "kind", "state", "attempts", "run at"
    );
    for j in jobs {
        let _ = writeln!(
            out,
            "{:<45} {:<24} {:<10} {:>4}/{:<3}  {:<27} {}",
            j.id,
            j.kind,
            j.state.as_str(),
            j.attempts,
            j.max_attempts,
            j.run_at.to_string(),
            j.last_error.unwrap_or_default().replace('\n', " ")
        );
    }
    Ok(out)
}

/// Tries a dead or cancelled job again, audited as the operator's (`system`).
pub async fn retry(db: &Db, id: &str) -> Result<(), JobsError> {
    if change(db, id, store::Operation::Retry).await? {
        Ok(())
    } else {
        Err(JobsError::NotRetryable(id.to_owned()))
    }
}

/// Cancels a job that waits to run, audited as the operator's (`system`).
pub async fn cancel(db: &Db, id: &str) -> Result<(), JobsError> {
    if change(db, id, store::Operation::Cancel).await? {
        Ok(())
    } else {
        Err(JobsError::NotCancellable(id.to_owned()))
    }
}

async fn change(db: &Db, id: &str, op: store::Operation) -> Result<bool, StorageError> {
    let record = AuditRecord::new("system", op.action(), "job", id).fields(["state"]);
    store::operate(db, id, op, &record).await
}

/// Forgets the jobs that ended more than `days` days ago (dead ones stay); how many.
pub async fn purge(db: &Db, days: u32) -> Result<u64, JobsError> {
    let keep = time::Duration::days(i64::from(days));
    let before =
        sohoa_domain::Timestamp::from_datetime(sohoa_domain::Timestamp::now().datetime() - keep);
    let mut total = 0;
    loop {
        let n = store::purge(db, before, 10_000).await?;
        total += n;
        if n < 10_000 {
            return Ok(total);
        }
    }
}
