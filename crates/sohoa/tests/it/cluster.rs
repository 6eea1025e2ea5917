//! Several `sohoa serve` processes on one PostgreSQL database, as a city runs them: the
//! jobs they share run once, a server killed with `kill -9` has its jobs run again by
//! another, once, and a recurring job runs once per period whoever is up. PostgreSQL only:
//! SQLite is one server's database.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sohoa_storage::jobs::{self as store, Job, JobState};
use sohoa_storage::Db;

use crate::helpers::{run_cli_ok, ServerProcess, TestDb, ADMIN_TOKEN};

/// Citizens with a contact in the registry (two by email, two by text message), so every
/// message becomes a file.
async fn with_contacts(db: &TestDb) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("c.csv");
    let ids: Vec<String> = (0..4).map(|i| format!("07918500010{i}")).collect();
    let mut text =
        "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,phone,email\n"
            .to_owned();
    for (i, id) in ids.iter().enumerate() {
        let (phone, email) = if i % 2 == 0 {
            (String::new(), format!("dan{i}@example.vn"))
        } else {
            (format!("091234567{i}"), String::new())
        };
        text.push_str(&format!(
            "{id},Trần Thị Hoa,1985-02-02,female,{i} Pasteur,26743,{phone},{email}\n"
        ));
    }
    std::fs::write(&csv, text).unwrap();
    run_cli_ok(db, &["import", "citizens", csv.to_str().unwrap()]).await;
    ids
}

/// A PostgreSQL database for several servers, with citizens to write to and a directory
/// for their messages; none on SQLite (one server's database), where the test passes as
/// not applying.
async fn cluster_db() -> Option<(TestDb, Vec<String>, tempfile::TempDir)> {
    let db = TestDb::new().await;
    if !db.is_postgres() {
        eprintln!("several servers share a PostgreSQL database; skipped on SQLite");
        return None;
    }
    let to = with_contacts(&db).await;
    Some((db, to, tempfile::tempdir().unwrap()))
}

/// Enqueues `n` messages to `to` in transactions of 500, as status changes do.
async fn enqueue_messages(db: &Db, to: &[String], n: usize) {
    let keys = db.keyring().unwrap();
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut tx = db.begin().await.unwrap();
        for i in chunk {
            let body = format!("Hồ sơ số {i} đã được tiếp nhận.\n");
            sohoa_storage::notifications::enqueue(
                &mut tx,
                &keys,
                &to[i % to.len()],
                "Sohoa",
                &body,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
}

/// Every sending job, once none is left to run (or the deadline passed).
async fn until_sent(db: &Db, n: usize, servers: &[&ServerProcess]) -> Vec<Job> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let counts = store::counts(db).await.unwrap();
        let of = |s: JobState| -> i64 {
            counts
                .iter()
                .filter(|(k, st, _)| k == "notification.send" && *st == s)
                .map(|(_, _, n)| n)
                .sum()
        };
        if of(JobState::Done) + of(JobState::Dead) == n as i64 {
            break;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = servers
                .iter()
                .map(|s| s.log.lock().unwrap().join("\n"))
                .collect();
            panic!("not sent in time: {counts:?}\n{}", logs.join("\n---\n"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    all_of(db, "notification.send").await
}

async fn all_of(db: &Db, kind: &str) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = store::list(db, None, Some(kind), before.as_deref(), 1000)
            .await
            .unwrap();
        let Some(last) = page.last() else {
            return jobs;
        };
        before = Some(last.id.clone());
        jobs.extend(page);
    }
}

/// The messages a server wrote: file name (its job's id and channel) per file.
fn files_in(dir: &Path) -> HashSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

fn job_of(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(id, _)| id)
}

async fn server(db: &TestDb, dir: &Path, lease_secs: u32) -> ServerProcess {
    ServerProcess::start(
        db,
        &[
            "--notify-dir",
            dir.to_str().unwrap(),
            "--job-lease",
            &lease_secs.to_string(),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_send_ten_thousand_messages_each_exactly_once() {
    let Some((db, to, out)) = cluster_db().await else {
        return;
    };
    let dirs: Vec<PathBuf> = (0..3).map(|i| out.path().join(format!("s{i}"))).collect();
    let mut servers = Vec::new();
    for d in &dirs {
        servers.push(server(&db, d, 30).await);
    }
    let app_db = sohoa::open_and_migrate(&db.store()).await.unwrap();
    const N: usize = 10_000;
    // Enqueued while the servers run, as a city's changes are.
    enqueue_messages(&app_db, &to, N).await;
    let jobs = until_sent(&app_db, N, &servers.iter().collect::<Vec<_>>()).await;

    assert_eq!(jobs.len(), N);
    let not_once: Vec<_> = jobs
        .iter()
        .filter(|j| j.state != JobState::Done || j.attempts != 1)
        .map(|j| (&j.id, j.state, j.attempts, &j.last_error))
        .collect();
    assert!(
        not_once.is_empty(),
        "{:?}",
        &not_once[..not_once.len().min(5)]
    );
    // Each message is one file in one server's directory: none lost, none sent twice.
    let per_server: Vec<HashSet<String>> = dirs.iter().map(|d| files_in(d)).collect();
    let total: usize = per_server.iter().map(HashSet::len).sum();
    let all: HashSet<&str> = per_server.iter().flatten().map(|f| job_of(f)).collect();
    assert_eq!(
        (total, all.len()),
        (N, N),
        "files per server: {:?}",
        sizes(&per_server)
    );
    let ids: HashSet<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(all, ids);
    // The servers shared the work.
    assert!(
        per_server.iter().filter(|s| !s.is_empty()).count() >= 2,
        "files per server: {:?}",
        sizes(&per_server)
    );
    eprintln!("messages sent per server: {:?}", sizes(&per_server));

    // Each server's scheduler asked for this hour's purge; it is one job, run once (two if
    // the test crossed an hour, one per period).
    let purges = all_of(&app_db, sohoa_app::jobs::PURGE).await;
    assert!((1..=2).contains(&purges.len()), "{purges:?}");
    let periods: HashSet<_> = purges.iter().map(|j| &j.idempotency_key).collect();
    assert_eq!(periods.len(), purges.len(), "{purges:?}");
    for p in &purges {
        assert_eq!((p.state, p.attempts), (JobState::Done, 1), "{p:?}");
    }
    // Whichever server an administrator asks, the counts are the cluster's.
    let client = reqwest::Client::new();
    for s in &servers {
        let counts: serde_json::Value = client
            .get(s.url("/api/v1/jobs/counts"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let send = counts["kinds"]
            .as_array()
            .and_then(|k| k.iter().find(|c| c["kind"] == "notification.send"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(send["done"].as_u64(), Some(N as u64), "{counts}");
    }
    for s in servers {
        assert!(s.stop().await.success());
    }
}

fn sizes(per_server: &[HashSet<String>]) -> Vec<usize> {
    per_server.iter().map(HashSet::len).collect()
}

/// The jobs `server` holds a lease on, read while it is frozen (SIGSTOP) so that it can
/// neither finish them nor take more before it is killed.
async fn freeze_holding_jobs(db: &Db, server: &ServerProcess) -> Vec<Job> {
    let marker = format!(":{}:", server.pid());
    let held_by = |jobs: Vec<Job>| -> Vec<Job> {
        jobs.into_iter()
            .filter(|j| {
                j.lease_owner
                    .as_deref()
                    .is_some_and(|o| o.contains(&marker))
            })
            .collect()
    };
    for _ in 0..400 {
        server.signal("-STOP");
        let running = || store::list(db, Some(JobState::Running), None, None, 100);
        if !held_by(running().await.unwrap()).is_empty() {
            // A statement the server sent just before it stopped (a job's completion) still
            // commits in the database: read again once such stragglers have landed, so that
            // "held" means held when the server is killed.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let held = held_by(running().await.unwrap());
            if !held.is_empty() {
                return held;
            }
        }
        server.signal("-CONT");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server never held a job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_job_has_its_jobs_run_again_once_by_another() {
    let Some((db, to, out)) = cluster_db().await else {
        return;
    };
    let (dir_a, dir_b) = (out.path().join("a"), out.path().join("b"));
    // Short leases: a dead server's jobs are taken over after two seconds.
    let a = server(&db, &dir_a, 2).await;
    let app_db = sohoa::open_and_migrate(&db.store()).await.unwrap();
    const N: usize = 400;
    enqueue_messages(&app_db, &to, N).await;
    let held = freeze_holding_jobs(&app_db, &a).await;
    a.kill().await;
    eprintln!("killed holding {} jobs", held.len());
    let b = server(&db, &dir_b, 2).await;
    let jobs = until_sent(&app_db, N, &[&b]).await;

    let held_ids: HashSet<&str> = held.iter().map(|j| j.id.as_str()).collect();
    let attempts: HashMap<&str, i64> = jobs.iter().map(|j| (j.id.as_str(), j.attempts)).collect();
    for j in &jobs {
        assert_eq!(j.state, JobState::Done, "{j:?}");
        // A job the killed server held ran once more, elsewhere; every other job ran once.
        let expected = if held_ids.contains(j.id.as_str()) {
            2
        } else {
            1
        };
        assert_eq!(j.attempts, expected, "{j:?} (held: {held_ids:?})");
    }
    assert!(held_ids.iter().all(|id| attempts.get(id) == Some(&2)));
    // Every message is a file; one in both directories is one the killed server wrote but
    // died before recording (the same file again, named by its job, not a second message).
    let (fa, fb) = (files_in(&dir_a), files_in(&dir_b));
    let sent: HashSet<&str> = fa.iter().chain(&fb).map(|f| job_of(f)).collect();
    assert_eq!(sent.len(), N);
    for twice in fa.intersection(&fb) {
        assert!(
            held_ids.contains(job_of(twice)),
            "{twice} sent by both servers"
        );
    }
    assert!(b.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_away_requests_get_503_with_retry_after_then_it_reconnects() {
    use crate::helpers::{error_code, spawn_on, Options, Relay};
    let mut db = TestDb::new().await;
    if !db.is_postgres() {
        eprintln!("the database going away is a PostgreSQL server's; skipped on SQLite");
        return;
    }
    // The server reaches PostgreSQL through a relay the test cuts, as a failover does.
    let pg: std::net::SocketAddr = "127.0.0.1:5432".parse().unwrap();
    let relay = Relay::start(pg).await;
    db.url = db.url.replace("127.0.0.1:5432", &relay.addr.to_string());
    assert!(db.url.contains(&relay.addr.to_string()), "{}", db.url);
    let app = spawn_on(
        db,
        Options {
            admin: true,
            one_server: true,
            no_jobs: true,
            db_wait: Some(Duration::from_secs(2)),
            ..Options::default()
        },
    )
    .await;
    let admin = app.as_(ADMIN_TOKEN);
    let agency = crate::helpers::agency("SO-Y-TE", "city", "79");
    let (s, body) = admin.post("/api/v1/agencies", &agency).await;
    assert_eq!(s, 201, "{body}");

    relay.cut();
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/agencies"),
        (reqwest::Method::POST, "/api/v1/agencies"),
        (reqwest::Method::GET, "/readyz"),
    ] {
        let body = crate::helpers::agency("SO-GD", "city", "79");
        let (s, body, headers) = admin
            .send(
                method.clone(),
                path,
                (method == reqwest::Method::POST).then_some(&body),
            )
            .await;
        assert_eq!(s, 503, "{method} {path}: {body}");
        if path != "/readyz" {
            assert_eq!(error_code(&body), "database_unavailable", "{body}");
            assert!(
                headers.contains_key("retry-after"),
                "{method} {path}: {headers:?}"
            );
        }
    }
    // A page says so too, in the reader's language, never a 500.
    let res = app.get("/agencies").await;
    assert_eq!(res.status(), 503);

    relay.restore();
    // Back: the pool's broken connections are replaced by themselves; no restart.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, _) = admin.get("/api/v1/agencies").await;
        if s == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {s} after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, body) = admin
        .post(
            "/api/v1/agencies",
            &crate::helpers::agency("SO-GD", "city", "79"),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (s, list) = admin.get("/api/v1/agencies?q=SO-").await;
    assert_eq!(s, 200);
    assert!(
        list.to_string().contains("SO-Y-TE") && list.to_string().contains("SO-GD"),
        "{list}"
    );
    app.stop().await;
}
