//! The durable job mechanism on the real database of the suite's backend: workers as a
//! server runs them (each with its own pool and lease owner), handlers that succeed, fail,
//! panic or never finish.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use sohoa_app::jobs::{self, JobError, Kind, Schedule, Worker};
use sohoa_storage::jobs::{self as store, JobState};
use sohoa_storage::{Db, DbOptions};

use crate::helpers::TestDb;

async fn open(db: &TestDb) -> Db {
    let d = Db::connect(&db.url, &DbOptions::default())
        .await
        .expect("connect");
    d.migrate().await.expect("migrate");
    d
}

/// Runs of each job id, as handlers record them.
type Runs = Arc<Mutex<HashMap<String, u32>>>;

fn counting(name: &'static str, runs: &Runs) -> Kind {
    let runs = runs.clone();
    Kind::new(name, move |job, _lease| {
        let runs = runs.clone();
        async move {
            *runs.lock().unwrap().entry(job.id).or_default() += 1;
            Ok(())
        }
    })
}

async fn enqueue_n(
    db: &Db,
    kind: &str,
    n: usize,
    key: impl Fn(usize) -> Option<String>,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut tx = db.begin().await.unwrap();
    for i in 0..n {
        let k = key(i);
        let payload = serde_json::json!({ "i": i });
        ids.push(
            jobs::enqueue(&mut tx, kind, &payload, k.as_deref(), 3)
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    ids
}

async fn state_of(db: &Db, id: &str) -> store::Job {
    store::get(db, id).await.unwrap().expect("the job exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_run_each_of_many_jobs_exactly_once() {
    let t = TestDb::new().await;
    let db = open(&t).await;
    let runs: Runs = Default::default();
    let ids = enqueue_n(&db, "test.count", 600, |_| None).await;
    // Three workers on pools of their own, as three servers would be.
    let mut workers = Vec::new();
    for _ in 0..3 {
        let own = open(&t).await;
        workers.push(Worker::new(own, vec![counting("test.count", &runs).max_running(8)]).unwrap());
    }
    let mut rounds = tokio::task::JoinSet::new();
    for w in workers {
        rounds.spawn(async move {
            let mut ran = 0;
            loop {
                let n = w.run_due().await.unwrap();
                if n == 0 {
                    return ran;
                }
                ran += n;
            }
        });
    }
    let mut total = 0;
    while let Some(n) = rounds.join_next().await {
        total += n.unwrap();
    }
    let runs = runs.lock().unwrap().clone();
    assert_eq!(total, 600, "every claim ran once");
    assert_eq!(runs.len(), 600);
    assert!(runs.values().all(|&n| n == 1), "a job ran twice");
    for id in ids.iter().take(5) {
        assert_eq!(state_of(&db, id).await.state, JobState::Done);
    }
}

#[tokio::test]
async fn a_job_enqueued_twice_with_one_key_is_one_job() {
    let t = TestDb::new().await;
    let db = open(&t).await;
    let ids = enqueue_n(&db, "test.once", 4, |i| Some(format!("key-{}", i % 2))).await;
    assert_eq!(ids[0], ids[2]);
    assert_eq!(ids[1], ids[3]);
    assert_ne!(ids[0], ids[1]);
    // The same key of another kind is another job.
    let other = enqueue_n(&db, "test.other", 1, |_| Some("key-0".into())).await;
    assert_ne!(other[0], ids[0]);
    let runs: Runs = Default::default();
    let w = Worker::new(db.clone(), vec![counting("test.once", &runs)]).unwrap();
    assert_eq!(w.run_due().await.unwrap(), 2);
    assert_eq!(w.run_due().await.unwrap(), 0);
}

#[tokio::test]
async fn failures_are_retried_later_then_dead_with_the_last_error() {
    let t = TestDb::new().await;
    let db = open(&t).await;
    let ids = enqueue_n(&db, "test.flaky", 1, |_| None).await;
    let failing = Kind::new("test.flaky", |_, _| async {
        Err(JobError::Retry("the peer did not answer".into()))
    });
    let w = Worker::new(db.clone(), vec![failing]).unwrap();
    assert_eq!(w.run_due().await.unwrap(), 1);
    let j = state_of(&db, &ids[0]).await;
    assert_eq!(j.state, JobState::Ready);
    assert_eq!(j.attempts, 1);
    assert_eq!(j.last_error.as_deref(), Some("the peer did not answer"));
    assert!(
        j.run_at > sohoa_domain::Timestamp::now(),
        "tried again later, not at once"
    );
    // Not due yet: nothing runs.
    assert_eq!(w.run_due().await.unwrap(), 0);
    // Its time comes (moved by hand rather than waited for): tried again, until dead.
    for attempt in 2..=3 {
        make_due(&t, &ids[0]).await;
        assert_eq!(w.run_due().await.unwrap(), 1);
        let j = state_of(&db, &ids[0]).await;
        assert_eq!(j.attempts, attempt);
    }
    let j = state_of(&db, &ids[0]).await;
    assert_eq!(j.state, JobState::Dead, "three attempts, then dead");
    assert_eq!(j.last_error.as_deref(), Some("the peer did not answer"));
    // An administrator's retry makes it ready again, with its attempts afresh.
    sohoa::jobs::retry(&db, &ids[0]).await.unwrap();
    let j = state_of(&db, &ids[0]).await;
    assert_eq!((j.state, j.attempts), (JobState::Ready, 0));
    sohoa::jobs::cancel(&db, &ids[0]).await.unwrap();
    assert_eq!(state_of(&db, &ids[0]).await.state, JobState::Cancelled);
    assert!(
        sohoa::jobs::cancel(&db, &ids[0]).await.is_err(),
        "cancelled once"
    );
}

/// Moves a job's next try to now, as waiting out its backoff would.
async fn make_due(t: &TestDb, id: &str) {
    let raw = t.raw().await;
    sqlx::query("UPDATE jobs SET run_at = $1 WHERE id = $2")
        .bind(sohoa_domain::Timestamp::now().to_string())
        .bind(id)
        .execute(&raw)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_panicking_handler_is_a_failure_with_its_message_and_blocks_nothing() {
    let t = TestDb::new().await;
    let db = open(&t).await;
    let ids = enqueue_n(&db, "test.mixed", 3, |_| None).await;
    let poisoned = ids[0].clone();
    let runs: Runs = Default::default();
    let seen = runs.clone();
    let kind = Kind::new("test.mixed", move |job, _| {
        let poisoned = poisoned.clone();
        let seen = seen.clone();
        async move {
            if job.id == poisoned {
                panic!("payload {} broke the handler", job.payload);
            }
            *seen.lock().unwrap().entry(job.id).or_default() += 1;
            Ok(())
        }
    });
    let w = Worker::new(db.clone(), vec![kind]).unwrap();
    assert_eq!(w.run_due().await.unwrap(), 3);
    let j = state_of(&db, &ids[0]).await;
    assert_eq!(j.state, JobState::Ready, "retried later");
    let error = j.last_error.unwrap_or_default();
    assert!(
        error.starts_with("panicked: payload {\"i\":0} broke"),
        "{error}"
    );
    assert_eq!(runs.lock().unwrap().len(), 2, "the others ran");
    assert_eq!(state_of(&db, &ids[1]).await.state, JobState::Done);
}

#[tokio::test]
async fn a_job_that_cannot_succeed_is_dead_at_once_with_the_reason() {
    let t = TestDb::new().await;
    let db = open(&t).await;
    let ids = enqueue_n(&db, "test.parse", 1, |_| None).await;
    let kind = Kind::new("test.parse", |job, _| async move {
        serde_json::from_str::<Vec<u8>>(&job.payload)
            .map(|_| ())
            .map_err(|e| JobError::Permanent(format!("payload: {e}")))
    });
    let w = Worker::new(db.clone(), vec![kind]).unwrap();
    assert_eq!(w.run_due().await.unwrap(), 1);
    let j = state_of(&db, &ids[0]).await;
    assert_eq!((j.state, j.attempts), (JobState::Dead, 1));
    assert!(j
        .last_error
        .unwrap_or_default()
        .starts_with("payload: invalid type"));
}

#[tokio::test]
async fn a_lease_that_runs_out_lets_another_worker_run_the_job_and_fences_the_first() {
    let t = TestDb::new().await;
    let db = open(&t).await;
    let ids = enqueue_n(&db, "test.lease", 1, |_| None).await;
    // A worker claims the job and dies (it is never completed nor renewed).
    let until = sohoa_app::identity::later(Duration::from_millis(300));
    let claimed = store::claim(&db, "test.lease", "dead-worker", until, 1, 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let runs: Runs = Default::default();
    let w = Worker::new(db.clone(), vec![counting("test.lease", &runs)]).unwrap();
    assert_eq!(w.run_due().await.unwrap(), 0, "held by its lease");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        w.run_due().await.unwrap(),
        1,
        "taken over once the lease ran out"
    );
    assert_eq!(runs.lock().unwrap().get(&ids[0]), Some(&1));
    let j = state_of(&db, &ids[0]).await;
    assert_eq!((j.state, j.attempts), (JobState::Done, 2));
    // The first worker coming back cannot record anything over it.
    let mut tx = db.begin().await.unwrap();
    assert!(!store::complete(&mut tx, &ids[0], "dead-worker")
        .await
        .unwrap());
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_runs_at_most_its_limit_at_once_across_workers() {
    let t = TestDb::new().await;
    let db = open(&t).await;
    enqueue_n(&db, "test.slow", 9, |_| None).await;
    let now = Arc::new(Mutex::new((0u32, 0u32))); // running, most seen
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let now = now.clone();
        let kind = Kind::new("test.slow", move |_, _| {
            let now = now.clone();
            async move {
                {
                    let mut n = now.lock().unwrap();
                    n.0 += 1;
                    n.1 = n.1.max(n.0);
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
                now.lock().unwrap().0 -= 1;
                Ok(())
            }
        })
        .max_running(2);
        let w = Worker::new(open(&t).await, vec![kind]).unwrap();
        set.spawn(async move {
            for _ in 0..40 {
                w.run_due().await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    while set.join_next().await.is_some() {}
    let done = store::list(&db, Some(JobState::Done), Some("test.slow"), None, 100)
        .await
        .unwrap();
    assert_eq!(done.len(), 9);
    assert!(now.lock().unwrap().1 <= 2, "more than two ran at once");
}

#[tokio::test]
async fn a_recurring_job_is_one_job_per_period_whoever_asks() {
    let t = TestDb::new().await;
    let db = open(&t).await;
    let s = Schedule {
        kind: "test.hourly",
        every: Duration::from_secs(3600),
        max_attempts: 3,
    };
    // Three servers' schedulers at three moments of one hour (a fixed one: an hour that
    // turned during the test would rightly make two jobs).
    let hour = sohoa_domain::Timestamp::parse("2026-12-07T10:00:00.000000Z").unwrap();
    let mut ids = Vec::new();
    for minutes in [0, 17, 59] {
        let at = sohoa_domain::Timestamp::from_datetime(
            hour.datetime() + time::Duration::minutes(minutes),
        );
        ids.push(s.enqueue_for(&open(&t).await, at).await.unwrap());
    }
    let next = sohoa_domain::Timestamp::from_datetime(hour.datetime() + time::Duration::hours(1));
    let next_id = s.enqueue_for(&db, next).await.unwrap();
    assert_ne!(next_id, ids[0], "the next hour is another run");
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let counts = store::counts(&db).await.unwrap();
    assert_eq!(counts, vec![("test.hourly".to_owned(), JobState::Ready, 2)]);
}

#[tokio::test]
async fn the_command_line_lists_retries_and_cancels_jobs() {
    use crate::helpers::run_cli;
    let t = TestDb::new().await;
    let db = open(&t).await;
    let ids = enqueue_n(&db, "test.cli", 2, |_| None).await;
    let kind = Kind::new("test.cli", |_, _| async {
        Err(JobError::Permanent(
            "the recipient's address is malformed".into(),
        ))
    })
    .max_running(1);
    Worker::new(db.clone(), vec![kind])
        .unwrap()
        .run_due()
        .await
        .unwrap();
    let dead = store::list(&db, Some(JobState::Dead), None, None, 10)
        .await
        .unwrap();
    let ready = store::list(&db, Some(JobState::Ready), None, None, 10)
        .await
        .unwrap();
    assert_eq!((dead.len(), ready.len()), (1, 1));
    let (dead, ready) = (dead[0].id.clone(), ready[0].id.clone());
    assert!(ids.contains(&dead) && ids.contains(&ready));
    db.close().await;

    let (code, out, err) = run_cli(&t, &["jobs", "list", "--state", "dead"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("test.cli") && out.contains(&dead), "{out}");
    assert!(
        out.contains("the recipient's address is malformed"),
        "{out}"
    );
    assert!(!out.contains(&ready), "only dead ones listed: {out}");

    let (code, out, err) = run_cli(&t, &["jobs", "retry", &ready]).await;
    assert_eq!(code, 1, "a waiting job is not retried: {out}");
    assert!(err.contains("only those can be tried again"), "{err}");
    let (code, out, err) = run_cli(&t, &["jobs", "retry", &dead]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, _, err) = run_cli(&t, &["jobs", "cancel", &ready]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_cli(&t, &["jobs", "cancel", &ready]).await;
    assert_eq!(code, 1);
    assert!(err.contains("only those can be cancelled"), "{err}");
    let (code, _, err) = run_cli(&t, &["jobs", "list", "--state", "stuck"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("not \"stuck\""), "{err}");

    let db = open(&t).await;
    assert_eq!(state_of(&db, &dead).await.state, JobState::Ready);
    assert_eq!(state_of(&db, &ready).await.state, JobState::Cancelled);
    db.close().await;
    // Kept a month by default; the cancelled one is forgotten at once when asked.
    let out = crate::helpers::run_cli_ok(&t, &["jobs", "purge"]).await;
    assert!(out.starts_with("0 jobs forgotten"), "{out}");
    let out = crate::helpers::run_cli_ok(&t, &["jobs", "purge", "--older-than-days", "0"]).await;
    assert!(out.starts_with("1 jobs forgotten"), "{out}");
    let db = open(&t).await;
    assert!(store::get(&db, &ready).await.unwrap().is_none());
    assert_eq!(state_of(&db, &dead).await.state, JobState::Ready);
    // A recurring job, now, through the job table like its scheduled runs; a kind that
    // is not recurring is refused with the list of those that are.
    let out = crate::helpers::run_cli_ok(&t, &["jobs", "run", "evaluation.publish"]).await;
    let id = out.split(':').next().unwrap().to_owned();
    assert!(out.ends_with(": done\n"), "{out}");
    let run = state_of(&db, &id).await;
    assert_eq!((run.kind.as_str(), run.attempts), ("evaluation.publish", 1));
    let (code, _, err) = crate::helpers::run_cli(&t, &["jobs", "run", "notification.send"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("jobs.purge, evaluation.publish"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_notify_dir_sends_messages_by_itself_once() {
    use crate::helpers::{run_cli_ok, spawn_app_with, Options};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("messages");
    let app = spawn_app_with(Options {
        admin: true,
        notify_dir: Some(out.clone()),
        ..Options::default()
    })
    .await;
    // The server's first round (this hour's purge) ends before a command runs beside it.
    until_purged(&app).await;
    let csv = dir.path().join("citizens.csv");
    let id = "079185000123";
    std::fs::write(
        &csv,
        format!(
            "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,phone,email\n\
             {id},Trần Thị Hoa,1985-02-02,female,3 Pasteur,26743,0912345670,\n"
        ),
    )
    .unwrap();
    run_cli_ok(&app.db, &["import", "citizens", csv.to_str().unwrap()]).await;
    let db = app.server_db();
    let mut tx = db.begin().await.unwrap();
    let keys = db.keyring().unwrap();
    sohoa_storage::notifications::enqueue(&mut tx, &keys, id, "Chào / Hello", "Mã: 1234\n")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The server's worker polls twice a second: the message arrives without `sohoa notify`.
    let mut files = Vec::new();
    for _ in 0..100 {
        files = std::fs::read_dir(&out)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(files.len(), 1, "{files:?}");
    let sms = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        sms.starts_with("To: 0912345670\n") && sms.contains("Mã: 1234"),
        "{sms}"
    );
    // Done (recorded just after the file is written), so the command line has nothing
    // left to send.
    let mut done = Vec::new();
    for _ in 0..100 {
        done = store::list(
            db,
            Some(JobState::Done),
            Some("notification.send"),
            None,
            10,
        )
        .await
        .unwrap();
        if !done.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done.len(), 1);
    let sent = run_cli_ok(&app.db, &["notify", "--out", out.to_str().unwrap()]).await;
    assert!(sent.starts_with("0 emails, 0 text messages"), "{sent}");
}

#[tokio::test]
async fn ended_jobs_are_forgotten_after_a_while_and_dead_ones_kept() {
    let t = TestDb::new().await;
    let db = open(&t).await;
    let ids = enqueue_n(&db, "test.old", 4, |_| None).await;
    let kind = Kind::new("test.old", |job, _| async move {
        if job.payload.contains("\"i\":0") {
            Err(JobError::Permanent("never".into()))
        } else {
            Ok(())
        }
    })
    .max_running(3);
    Worker::new(db.clone(), vec![kind])
        .unwrap()
        .run_due()
        .await
        .unwrap();
    // ids[0] dead, two done, one still waiting; cancel the waiting one.
    let waiting = store::list(&db, Some(JobState::Ready), None, None, 10)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    sohoa::jobs::cancel(&db, &waiting[0].id).await.unwrap();
    let now = sohoa_domain::Timestamp::now();
    let earlier = sohoa_domain::Timestamp::from_datetime(now.datetime() - time::Duration::hours(1));
    assert_eq!(
        store::purge(&db, earlier, 100).await.unwrap(),
        0,
        "nothing that old"
    );
    let later = sohoa_domain::Timestamp::from_datetime(now.datetime() + time::Duration::seconds(5));
    assert_eq!(
        store::purge(&db, later, 100).await.unwrap(),
        3,
        "two done, one cancelled"
    );
    let left = store::list(&db, None, Some("test.old"), None, 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].id.as_str(), left[0].state),
        (ids[0].as_str(), JobState::Dead)
    );
}

#[tokio::test]
async fn a_server_schedules_the_purge_of_old_jobs_and_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        admin: true,
        notify_dir: Some(dir.path().to_owned()),
        ..Default::default()
    })
    .await;
    let purges = until_purged(&app).await;
    assert_eq!(purges.len(), 1, "this hour's purge ran");
    assert!(purges[0]
        .idempotency_key
        .as_deref()
        .is_some_and(|k| k.starts_with("period:")));
}

/// Waits (up to 10 s) for a server's purge of this hour to be done; the done purges.
async fn until_purged(app: &crate::helpers::TestApp) -> Vec<store::Job> {
    for _ in 0..100 {
        let purges = store::list(
            app.server_db(),
            Some(JobState::Done),
            Some(jobs::PURGE),
            None,
            10,
        )
        .await
        .unwrap();
        if !purges.is_empty() {
            return purges;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

#[tokio::test]
async fn administrators_see_counts_and_retry_or_cancel_jobs_over_http_and_on_their_page() {
    use crate::helpers::{error_code, spawn_app_with, Options, ADMIN_TOKEN};
    let app = spawn_app_with(Options {
        admin: true,
        ..Options::default()
    })
    .await;
    let db = app.server_db().clone();
    // A job whose handler can never succeed (dead at once), and one that waits.
    let ids = enqueue_n(&db, "test.broken", 1, |_| None).await;
    let dead = ids[0].clone();
    let broken = Kind::new("test.broken", |_, _| async {
        Err(JobError::Permanent("the payload names no recipient".into()))
    });
    let w = Worker::new(db.clone(), vec![broken]).unwrap();
    assert_eq!(w.run_due().await.unwrap(), 1);
    let waiting = enqueue_n(&db, "test.later", 1, |_| None).await[0].clone();

    let admin = app.as_(ADMIN_TOKEN);
    let (s, body) = admin.get("/api/v1/jobs/counts").await;
    assert_eq!(s, 200, "{body}");
    let kinds = body["kinds"].as_array().unwrap();
    let of = |k: &str| kinds.iter().find(|c| c["kind"] == k).cloned().unwrap();
    assert_eq!(
        (
            of("test.broken")["dead"].as_i64(),
            of("test.broken")["ready"].as_i64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(of("test.later")["ready"].as_i64(), Some(1));

    let (s, body) = admin.get("/api/v1/jobs?state=dead&kind=test.broken").await;
    assert_eq!(s, 200, "{body}");
    let item = &body["items"][0];
    assert_eq!(item["id"], dead.as_str());
    assert_eq!(item["last_error"], "the payload names no recipient");
    assert!(
        item.get("payload").is_none(),
        "payloads may carry a citizen's message"
    );
    let (s, body) = admin.get("/api/v1/jobs?state=stuck").await;
    assert_eq!((s, error_code(&body)), (400, "invalid_query"));
    let (s, body) = admin.get("/api/v1/jobs?limit=0").await;
    assert_eq!((s, error_code(&body)), (400, "invalid_page"));

    // Nobody else: not signed in, 401.
    let (s, _) = app.anonymous().get("/api/v1/jobs/counts").await;
    assert_eq!(s, 401);
    let (s, _) = app
        .anonymous()
        .post(&format!("/api/v1/jobs/{dead}/retry"), &json!({}))
        .await;
    assert_eq!(s, 401);

    // A dead job cannot be cancelled, a waiting one cannot be retried: 409 with the state.
    let (s, body) = admin
        .post(&format!("/api/v1/jobs/{dead}/cancel"), &json!({}))
        .await;
    assert_eq!(
        (s, error_code(&body)),
        (409, "job_not_cancellable"),
        "{body}"
    );
    let (s, body) = admin
        .post(&format!("/api/v1/jobs/{waiting}/retry"), &json!({}))
        .await;
    assert_eq!((s, error_code(&body)), (409, "job_not_retryable"), "{body}");
    let (s, body) = admin.post("/api/v1/jobs/job-none/retry", &json!({})).await;
    assert_eq!((s, error_code(&body)), (404, "job_not_found"));

    let (s, body) = admin
        .post(&format!("/api/v1/jobs/{dead}/retry"), &json!({}))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        (body["state"].as_str(), body["attempts"].as_i64()),
        (Some("ready"), Some(0))
    );
    let (s, body) = admin
        .post(&format!("/api/v1/jobs/{dead}/retry"), &json!({}))
        .await;
    assert_eq!((s, error_code(&body)), (409, "job_not_retryable"));
    // Each change is in the audit log, by whom and from where.
    let audit = sohoa_storage::audit::entries_for_object(&db, "job", &dead, 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "one change, one entry: {audit:?}");
    assert_eq!(
        (
            audit[0].record.action.as_str(),
            audit[0].record.actor.as_str()
        ),
        ("job.retry", "admin")
    );

    // The page: counts per kind and state, the jobs, and a button that cancels.
    let res = app
        .client
        .get(app.url("/admin/jobs?state=ready"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .filter(|c| c.contains("csrf"))
                .map(str::to_owned)
        })
        .expect("a CSRF cookie");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Công việc nền") && html.contains("id=\"job-counts\""),
        "{html}"
    );
    assert!(html.contains(&format!("data-job=\"{waiting}\"")), "{html}");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let post = |csrf: String, action: &'static str, id: String| {
        app.client
            .post(app.url(&format!("/admin/jobs/{id}")))
            .bearer_auth(ADMIN_TOKEN)
            .header("cookie", cookie.clone())
            .form(&[
                ("csrf", csrf.as_str()),
                ("action", action),
                ("state", "ready"),
                ("kind", ""),
            ])
            .send()
    };
    let res = post("forged".into(), "cancel", waiting.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a form without its token is refused");
    let res = post(csrf.clone(), "cancel", waiting.clone()).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/jobs?state=ready");
    assert_eq!(state_of(&db, &waiting).await.state, JobState::Cancelled);
    // Cancelling it again shows why not, on the page, in the reader's language.
    let res = post(csrf, "cancel", waiting.clone()).await.unwrap();
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Chỉ huỷ được công việc đang chờ chạy"),
        "{html}"
    );
}

#[tokio::test]
async fn a_message_whose_payload_no_longer_parses_is_dead_with_the_reason_and_blocks_none() {
    let t = TestDb::new().await;
    // The data key the command line will open the good message with.
    let db = sohoa::open_and_migrate(&t.store()).await.unwrap();
    // One message written by an older version in a shape this one does not read, one good
    // (to nobody the registry knows: nothing to write, but sent all the same).
    let mut tx = db.begin().await.unwrap();
    let bad = jobs::enqueue(&mut tx, "notification.send", &json!({"to": 1}), None, 12)
        .await
        .unwrap();
    let keys = db.keyring().unwrap();
    sohoa_storage::notifications::enqueue(&mut tx, &keys, "079185000999", "Chào", "Xin chào")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    db.close().await;
    let out = tempfile::tempdir().unwrap();
    let sent =
        crate::helpers::run_cli_ok(&t, &["notify", "--out", out.path().to_str().unwrap()]).await;
    assert!(sent.contains("; 1 recipients without a contact"), "{sent}");
    let db = open(&t).await;
    let j = state_of(&db, &bad).await;
    assert_eq!(
        j.state,
        JobState::Dead,
        "never retried: it can never succeed"
    );
    assert_eq!(j.attempts, 1);
    assert_eq!(
        j.last_error.as_deref(),
        Some("the payload is not a message")
    );
}
