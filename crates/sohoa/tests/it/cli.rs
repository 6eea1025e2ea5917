//! The binary itself: migrate, configuration, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

#[tokio::test]
async fn migrate_applies_once_and_is_idempotent() {
    let db = TestDb::new().await;
    let (code, out, err) = run_cli(&db, &["migrate"]).await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
    assert!(
        out.contains("foundation") && out.contains("up to date"),
        "{out}"
    );
    let (code, cli_out, cli_err) = run_cli(&db, &["migrate"]).await;
    assert_eq!(
        code, 0,
        "exit {code}\n--- stdout\n{cli_out}\n--- stderr\n{cli_err}"
    );
    // The reference data was loaded once: one audit entry, not two.
    let (code, out, cli_err) = run_cli(&db, &["audit", "verify"]).await;
    assert_eq!(
        code, 0,
        "exit {code}\n--- stdout\n{out}\n--- stderr\n{cli_err}"
    );
    assert!(out.contains("intact: 1 entries"), "{out}");
}

/// The command line writes into a database the server is writing too (an import beside a
/// running server, as the suite's personas do). On SQLite a deferred transaction that read
/// before its first write failed at once with SQLITE_BUSY whenever the server committed in
/// between (its audit index works in the background after each audited change), so an
/// import exited 1 now and then under load. Keeps the server writing the whole time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_writes_beside_a_busy_server() {
    let app = spawn_app().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (client, url, stop) = (
            app.client.clone(),
            app.url("/api/v1/agencies"),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 5_000 {
                let body = agency(&format!("BUSY-{n}"), "city", "79");
                let res = client
                    .post(&url)
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&body)
                    .send()
                    .await;
                assert_eq!(res.map(|r| r.status().as_u16()).ok(), Some(201));
                n += 1;
            }
            n
        })
    };
    let dir = tempfile::tempdir().unwrap();
    for (round, given) in ["An", "Bình", "Chi", "Dũng", "Giang", "Hà"]
        .iter()
        .enumerate()
    {
        // Each round changes every record: the first loads an empty table (the bulk path),
        // the others upsert (reads of the stored versions, then writes).
        let path = dir.path().join(format!("c{round}.csv"));
        let mut csv =
            "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit\n".to_owned();
        for i in 0..50 {
            csv.push_str(&format!(
                "0790850{i:05},Nguyễn Văn {given},1985-03-14,male,{i} Lê Lợi,26743\n"
            ));
        }
        std::fs::write(&path, csv).unwrap();
        let args = ["import", "citizens", path.to_str().unwrap()];
        let out = run_cli_ok(&app.db, &args).await;
        assert!(out.contains("50"), "{out}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0);
}

#[test]
fn serve_help_documents_every_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--listen",
        "--demo",
        "--admin-token",
        "--request-timeout",
        "--database-url",
        "--data-dir",
        "--config",
        "--log-format",
        "--log",
        "--db-max-connections",
        "--db-wait",
        "--notify-dir",
        "SOHOA_DATABASE_URL",
        "SOHOA_LISTEN",
        "127.0.0.1:8080",
    ] {
        assert!(help.contains(opt), "serve --help lacks {opt}:\n{help}");
    }
}

#[test]
fn a_config_file_with_a_typo_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sohoa.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:0\"\ndatabse_url = \"sqlite://x\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .args(["serve", "--config", file.to_str().unwrap()])
        .env_remove("SOHOA_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("databse_url"), "{err}");
}

/// Starts `sohoa serve` as a process, configured by file and environment, and stops it
/// with SIGTERM: it must finish cleanly.
#[tokio::test]
async fn the_binary_serves_and_stops_cleanly_on_sigterm() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sohoa.toml");
    // The file says one port; the environment wins over it.
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1\"\ndemo = true\nlog_format = \"json\"\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .args(["serve", "--config", file.to_str().unwrap()])
        .env("SOHOA_LISTEN", "127.0.0.1:0")
        .env("SOHOA_DATABASE_URL", &db.url)
        .env("SOHOA_DATA_DIR", &db.data_dir)
        .env("SOHOA_ADMIN_TOKEN", ADMIN_TOKEN)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("server logs its address");
        log.push(line.clone());
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        if let Some(addr) = v["addr"].as_str() {
            break addr.to_owned();
        }
    };
    let client = reqwest::Client::new();
    let res = client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let agencies: serde_json::Value = client
        .get(format!("http://{addr}/api/v1/agencies"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        agencies["total"].as_i64().unwrap() > 0,
        "demo = true in the file was ignored"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    // The reader thread ends at EOF, after the child's last line: take everything.
    log.extend(rx.iter());
    let all = log.join("\n");
    assert!(all.contains("stopped cleanly"), "{all}");
    assert!(
        !all.contains(ADMIN_TOKEN),
        "the admin token leaked into the logs"
    );
}
