//! Read replicas: a PostgreSQL primary and a real streaming standby of it (`pg_basebackup`
//! and `primary_conninfo`), started by the test in a temporary directory. Reads that may
//! be stale go to the standby; a client that wrote reads its write; a standby that stops
//! is read from no more.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{
    backend_name, bind_local, spawn_on, with_database, Options, TestDb, ADMIN_TOKEN,
};

/// A command run as the postgres user when the tests run as root (PostgreSQL refuses root).
fn as_postgres(program: &Path) -> Command {
    let root = std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout == b"0\n")
            .unwrap_or(false);
    if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "env",
            "HOME=/tmp",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    bind_local().local_addr().unwrap().port()
}

/// A primary and its streaming standby, each on a port of its own, stopped on drop.
struct Pair {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    primary: (PathBuf, u16),
    standby: (PathBuf, u16),
}

impl Pair {
    fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries under /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("initdb");
        let dir = tempfile::tempdir().unwrap();
        run(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:"]).arg(dir.path());
                c
            },
            "chown",
        );
        let (p_dir, s_dir) = (dir.path().join("primary"), dir.path().join("standby"));
        let (p_port, s_port) = (free_port(), free_port());
        let mut init = as_postgres(&bin.join("initdb"));
        init.args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&p_dir);
        run(init, "initdb");
        let sockets = dir.path().to_owned();
        let conf = move |data: &Path, port: u16| {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))
                .unwrap();
            use std::io::Write;
            writeln!(
                f,
                "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
                 wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\nfsync = off",
                sockets.display()
            )
            .unwrap();
        };
        conf(&p_dir, p_port);
        std::fs::write(
            p_dir.join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let pair = Self {
            bin,
            primary: (p_dir, p_port),
            standby: (s_dir, s_port),
            _dir: dir,
        };
        pair.pg_ctl(&pair.primary.0, "start");
        let mut copy = as_postgres(&pair.bin.join("pg_basebackup"));
        copy.args([
            "-h",
            "127.0.0.1",
            "-p",
            &p_port.to_string(),
            "-U",
            "postgres",
            "-R",
            "-X",
            "stream",
            "-D",
        ])
        .arg(&pair.standby.0);
        run(copy, "pg_basebackup");
        conf(&pair.standby.0, s_port);
        pair.pg_ctl(&pair.standby.0, "start");
        pair
    }

    fn pg_ctl(&self, data: &Path, action: &str) {
        let mut c = as_postgres(&self.bin.join("pg_ctl"));
        c.args(["-D"])
            .arg(data)
            .args(["-l"])
            .arg(data.with_extension("log"));
        c.args(["-w", "-m", "immediate", action]);
        run(c, &format!("pg_ctl {action}"));
    }

    fn url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for data in [&self.standby.0, &self.primary.0] {
            let mut c = as_postgres(&self.bin.join("pg_ctl"));
            c.args(["-D"]).arg(data).args(["-m", "immediate", "stop"]);
            let _ = c.output();
        }
    }
}

async fn sql(url: &str, q: &str) {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(q).execute(&mut c).await.unwrap();
    let _ = c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_reads_go_to_a_streaming_replica_and_a_writer_reads_its_own_write() {
    if backend_name() != "postgres" {
        eprintln!("read replicas are PostgreSQL's; skipped on SQLite");
        return;
    }
    let pair = tokio::task::spawn_blocking(Pair::start).await.unwrap();
    let db = TestDb::on_server(&Pair::url(pair.primary.1)).await;
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let replica = with_database(&Pair::url(pair.standby.1), &name);
    // The standby has the new database once it replayed its creation.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sqlx::PgPool::connect(&replica).await.is_err() {
        assert!(Instant::now() < deadline, "the standby never had {name}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let app = spawn_on(
        db,
        Options {
            admin: true,
            one_server: true,
            no_jobs: true,
            replicas: vec![replica.clone()],
            ..Options::default()
        },
    )
    .await;
    // Reads to the standby are seen by what it has not replayed yet: replay paused.
    sql(&replica, "SELECT pg_wal_replay_pause()").await;
    let procedure = json!({
        "code": "T-BANSAO", "name_vi": "Cấp bản sao trích lục", "name_en": "Certified copy",
        "level": "commune", "agency_code": null, "deadline_days": 1, "fee": null, "waivers": [],
        "documents": [], "form": []
    });
    let res = app
        .client
        .put(app.url("/api/v1/procedures/T-BANSAO"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&procedure)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let after = res.headers()["sohoa-read-after"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sohoa_read_after="))
        .expect("the position as a cookie too")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let read = |header: Option<(&'static str, String)>| {
        let mut req = app.client.get(app.url("/api/v1/procedures?per_page=100"));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let listed = |header: Option<(&'static str, String)>| async move {
        let (s, body) = read(header).await;
        assert_eq!(s, 200, "{body}");
        body.contains("T-BANSAO")
    };
    assert!(
        !listed(None).await,
        "another client reads the standby, which is behind"
    );
    assert!(
        listed(Some(("sohoa-read-after", after.clone()))).await,
        "the writer reads its write"
    );
    assert!(
        listed(Some(("cookie", cookie))).await,
        "so does its browser"
    );
    sql(&replica, "SELECT pg_wal_replay_resume()").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !listed(None).await {
        assert!(Instant::now() < deadline, "the standby never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A standby that stops costs its readers a moment, never an error: a read it fails is
    // read again from the primary, and the next poll (within a second) skips it.
    let standby = pair.standby.0.clone();
    let p = &pair;
    tokio::task::block_in_place(|| p.pg_ctl(&standby, "stop"));
    for _ in 0..10 {
        assert!(listed(None).await);
        tokio::time::sleep(sohoa_storage::replicas::POLL).await;
    }
    app.stop().await;
}
