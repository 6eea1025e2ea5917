//! Group commit: requests that each need a durable write hand their job to one writer task,
//! which writes every job waiting in one transaction and answers each caller only after
//! that commit. Under load many jobs share one commit (one fsync on SQLite, one round of WAL
//! flushing on PostgreSQL); when idle a job is written alone, as soon as it arrives.
//!
//! A batch that fails is rolled back whole and its jobs are written again one by one, so a
//! job that cannot be written fails alone and never takes its neighbours with it.

use std::future::Future;
use std::sync::Arc;

use crate::{Db, Result, StorageError, Tx};

/// How one kind of job is written. `write` runs inside the batch's transaction and returns
/// one answer per job, in order; an error rolls the batch back.
pub trait BatchWrite: Send + Sync + 'static {
    type Job: Send + Sync + 'static;
    type Done: Send + 'static;

    fn write<'a>(
        &'a self,
        tx: &'a mut Tx,
        jobs: &'a [Self::Job],
    ) -> impl Future<Output = Result<Vec<Self::Done>>> + Send + 'a;

    /// Writes `jobs` in one transaction and commits it, with one answer per job, in order:
    /// [`commit_in_tx`] unless the writer commits some other way.
    fn commit<'a>(
        &'a self,
        db: &'a Db,
        jobs: &'a [Self::Job],
    ) -> impl Future<Output = Result<Vec<Self::Done>>> + Send + 'a {
        commit_in_tx(self, db, jobs)
    }

    /// Background work done when no job has come for a while ([`IDLE`]); returns whether
    /// more is left, to be done as soon as the queue is empty again. Nothing by default.
    fn idle<'a>(&'a self, db: &'a Db) -> impl Future<Output = Result<bool>> + Send + 'a {
        let _ = db;
        async { Ok(false) }
    }
}

/// Under load (more than one job waiting), how long the writer waits for more before it
/// writes: the callers its last commit answered are about to send their next jobs, and each
/// commit costs the same fsync, WAL frames and wake-ups however many jobs share it. Measured
/// on SQLite at 14M citizens (BENCHMARKS.md): 17,300–18,000 audited look-ups/s without, 20,200
/// with 200 µs, 19,000–19,600 with 300–500 µs. An idle caller, alone in its batch, never waits.
const GATHER: std::time::Duration = std::time::Duration::from_micros(200);

/// How long the queue stays empty before the writer's [`BatchWrite::idle`] work.
pub const IDLE: std::time::Duration = std::time::Duration::from_millis(100);

/// A transaction of sqlx's write pool, [`BatchWrite::write`] in it, and its commit; a
/// writer that answers for more or fewer jobs than it was given is rolled back.
pub async fn commit_in_tx<W: BatchWrite + ?Sized>(
    writer: &W,
    db: &Db,
    jobs: &[W::Job],
) -> Result<Vec<W::Done>> {
    let mut tx = db.begin().await?;
    let done = writer.write(&mut tx, jobs).await?;
    if done.len() != jobs.len() {
        return Err(StorageError::Corrupt(format!(
            "{} answers for {} jobs",
            done.len(),
            jobs.len()
        )));
    }
    tx.commit().await?;
    Ok(done)
}

struct Pending<W: BatchWrite> {
    job: W::Job,
    done: tokio::sync::oneshot::Sender<std::result::Result<W::Done, Failed>>,
}

/// A handle to a writer task; clones share it.
pub struct GroupCommit<W: BatchWrite> {
    queue: tokio::sync::mpsc::Sender<Pending<W>>,
}

impl<W: BatchWrite> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<W: BatchWrite> std::fmt::Debug for GroupCommit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("job", &std::any::type_name::<W::Job>())
            .finish()
    }
}

impl<W: BatchWrite> GroupCommit<W> {
    /// Starts the writer task (inside a Tokio runtime), at most `max_batch` jobs a
    /// transaction. It ends once every handle is dropped and the queue has been written, so
    /// jobs accepted before a shutdown are not lost.
    pub fn spawn(db: Db, writer: W, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let (queue, rx) = tokio::sync::mpsc::channel::<Pending<W>>(max_batch * 4);
        let writer = Arc::new(writer);
        let own_thread = own_runtime(db.backend());
        // Only a thread of its own may sleep: on the server's runtime it would hold a worker.
        let gather = own_thread.is_some().then_some(GATHER);
        let run = write_loop(db, writer, rx, max_batch, gather);
        match own_thread {
            Some(rt) => {
                let name = format!(
                    "commit-{}",
                    std::any::type_name::<W>()
                        .rsplit("::")
                        .next()
                        .unwrap_or("jobs")
                );
                if let Err(e) = std::thread::Builder::new()
                    .name(name)
                    .spawn(move || rt.block_on(run))
                {
                    tracing::error!(error = %e, "cannot start the group-commit thread");
                }
            }
            None => {
                tokio::spawn(run);
            }
        }
        Self { queue }
    }

    /// Queues `jobs` (so they can share a commit) and waits until all are committed.
    pub async fn submit_many(&self, jobs: Vec<W::Job>) -> Result<Vec<W::Done>> {
        let closed = || StorageError::BatchWrite("the writer has stopped".into());
        let mut waits = Vec::with_capacity(jobs.len());
        for job in jobs {
            let (done, wait) = tokio::sync::oneshot::channel();
            self.queue
                .send(Pending { job, done })
                .await
                .map_err(|_| closed())?;
            waits.push(wait);
        }
        let mut answers = Vec::with_capacity(waits.len());
        for wait in waits {
            match wait.await {
                Ok(Ok(done)) => answers.push(done),
                Ok(Err(Failed {
                    message,
                    unavailable,
                })) => {
                    // Said apart, so the web layer answers 503 (try again) and not 500.
                    return Err(if unavailable {
                        StorageError::BatchUnavailable(message)
                    } else {
                        StorageError::BatchWrite(message)
                    });
                }
                Err(_) => return Err(closed()),
            }
        }
        Ok(answers)
    }

    /// Queues `job` and waits until it is committed.
    pub async fn submit(&self, job: W::Job) -> Result<W::Done> {
        self.submit_many(vec![job])
            .await?
            .pop()
            .ok_or_else(|| StorageError::BatchWrite("no answer for a job".into()))
    }
}

/// A runtime for the writer's own thread, on SQLite only.
fn own_runtime(backend: crate::Backend) -> Option<tokio::runtime::Runtime> {
    // On SQLite each statement of a batch is a round trip between this task and the
    // connection's thread. Among the request tasks of a busy runtime the task waits its
    // turn after every trip, and so do the commit rate and every caller's latency; on a
    // thread of its own it goes on as soon as the connection answers. PostgreSQL
    // connections belong to the runtime that opened them, so there it stays.
    (backend == crate::Backend::Sqlite)
        .then(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        })
        .and_then(|rt| {
            rt.map_err(|e| tracing::warn!(error = %e, "no runtime of its own for the group commit"))
                .ok()
        })
}

/// The writer task: takes the waiting jobs (at most `max_batch`, after waiting `gather`
/// for more under load), writes them in one transaction and answers their callers; does
/// the idle work when the queue stays empty. Ends once every sender is dropped and the
/// queue is written.
async fn write_loop<W: BatchWrite>(
    db: Db,
    writer: Arc<W>,
    mut rx: tokio::sync::mpsc::Receiver<Pending<W>>,
    max_batch: usize,
    gather: Option<std::time::Duration>,
) {
    let mut batch: Vec<Pending<W>> = Vec::with_capacity(max_batch);
    let mut more_idle_work = false;
    loop {
        // `recv_many` is polled before the deadline, so with a zero wait jobs that are
        // already queued still come first.
        let wait = if more_idle_work {
            std::time::Duration::ZERO
        } else {
            IDLE
        };
        match tokio::time::timeout(wait, rx.recv_many(&mut batch, max_batch)).await {
            Ok(0) => break,
            Ok(_) => {
                if let Some(gather) = gather.filter(|_| (2..max_batch).contains(&batch.len())) {
                    std::thread::sleep(gather);
                    while batch.len() < max_batch {
                        match rx.try_recv() {
                            Ok(p) => batch.push(p),
                            Err(_) => break,
                        }
                    }
                }
            }
            Err(_) => {
                more_idle_work = idle_work(&db, &*writer).await;
                continue;
            }
        }
        let pending = std::mem::take(&mut batch);
        let (jobs, replies): (Vec<W::Job>, Vec<_>) =
            pending.into_iter().map(|p| (p.job, p.done)).unzip();
        let answers = write_batch(&db, &*writer, &jobs).await;
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The caller may have gone (a dropped connection); the job is written all the
            // same, which is what a retry with its idempotency key finds.
            let _ = reply.send(answer);
        }
    }
}

/// The writer's idle work; returns whether more is left.
async fn idle_work<W: BatchWrite>(db: &Db, writer: &W) -> bool {
    match writer.idle(db).await {
        Ok(more) => more,
        // The write connection stayed busy (start-up work, a bulk load by another
        // process): idle work waits for the next idle spell, and nothing is lost by waiting.
        Err(StorageError::Database(sqlx::Error::PoolTimedOut)) => {
            tracing::info!("group commit: idle work postponed, the writer is busy");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit: idle work failed");
            false
        }
    }
}

/// Why a job was not written, as its caller is told.
#[derive(Debug, Clone)]
struct Failed {
    message: String,
    /// The database could not be reached (or was overloaded), rather than the job wrong.
    unavailable: bool,
}

impl From<&StorageError> for Failed {
    fn from(e: &StorageError) -> Self {
        Self {
            message: e.to_string(),
            unavailable: e.is_unavailable(),
        }
    }
}

/// One answer per job: the batch's, or if the batch failed, each job's own.
async fn write_batch<W: BatchWrite>(
    db: &Db,
    writer: &W,
    jobs: &[W::Job],
) -> Vec<std::result::Result<W::Done, Failed>> {
    match writer.commit(db, jobs).await {
        Ok(done) => done.into_iter().map(Ok).collect(),
        Err(e) if jobs.len() == 1 => {
            tracing::error!(error = %e, job = std::any::type_name::<W::Job>(), "write failed");
            vec![Err(Failed::from(&e))]
        }
        Err(e) => {
            tracing::warn!(error = %e, jobs = jobs.len(), "batch failed; writing its jobs one by one");
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                let answer = match writer.commit(db, std::slice::from_ref(job)).await {
                    Ok(mut done) => done.pop().ok_or_else(|| Failed {
                        message: "no answer for a job".into(),
                        unavailable: false,
                    }),
                    Err(e) => {
                        tracing::error!(error = %e, job = std::any::type_name::<W::Job>(), "write failed");
                        Err(Failed::from(&e))
                    }
                };
                answers.push(answer);
            }
            answers
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes settings `key = key`; a job without a value is refused by the database's own
    /// NOT NULL constraint, not by us.
    struct Settings;

    impl BatchWrite for Settings {
        type Job = (String, Option<String>);
        type Done = String;

        async fn write(&self, tx: &mut Tx, jobs: &[Self::Job]) -> Result<Vec<String>> {
            let mut done = Vec::new();
            for (key, value) in jobs {
                sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
                    .bind(key)
                    .bind(value.as_deref())
                    .execute(&mut **tx)
                    .await?;
                done.push(key.clone());
            }
            Ok(done)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_share_commits_and_a_bad_job_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::sqlite_url(&dir.path().join("t.db"));
        let db = Db::connect(&url, &crate::DbOptions::default())
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let writer = GroupCommit::spawn(db.clone(), Settings, 16);
        let mut tasks = Vec::new();
        for i in 0..100 {
            let w = writer.clone();
            let key = format!("batch-test-{i}");
            let job = (key.clone(), (i != 37).then_some(key));
            tasks.push(tokio::spawn(async move { (i, w.submit(job).await) }));
        }
        for t in tasks {
            let (i, answer) = t.await.unwrap();
            match answer {
                Ok(key) => assert_eq!(key, format!("batch-test-{i}")),
                Err(e) => {
                    assert_eq!(i, 37, "{e}");
                    assert!(matches!(e, StorageError::BatchWrite(_)));
                }
            }
        }
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM settings WHERE key LIKE 'batch-test-%'")
                .fetch_one(db.reader())
                .await
                .unwrap();
        assert_eq!(
            n, 99,
            "every good job is written once, the bad one not at all"
        );
    }
}
