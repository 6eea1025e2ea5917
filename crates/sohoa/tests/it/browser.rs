//! The web journeys in a real browser (`tests/browser/journeys.mjs`: Debian's Chromium,
//! headless, driven by playwright-core, axe-core on every page, desktop and phone sizes),
//! against the real `sohoa` binary serving the demo data on a fresh database, with a busy
//! commune's history written beside it so the queue and the dashboard have overdue work.
//!
//! Chromium is a system package: where it is missing the test says so and passes, unless
//! `SOHOA_BROWSER_TESTS=required` (as `.ci/run` sets after installing it), where it fails.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const DEMO_PASSWORD: &str = "sohoa-demo-2025";

fn journeys_dir() -> std::path::PathBuf {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let mut done = INSTALLED.lock().unwrap_or_else(|p| p.into_inner());
    if !*done && !dir.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .status()
            .expect("npm (Node.js) is needed for the browser journeys");
        assert!(status.success(), "npm ci failed");
    }
    *done = true;
    dir
}

/// The server binary, stopped with the test.
struct Server {
    child: Child,
    log: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(db: &TestDb) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--rate-limit",
            "1000",
            "--login-rate-limit",
            "1000",
        ])
        .env("SOHOA_DATABASE_URL", &db.url)
        .env("SOHOA_DATA_DIR", &db.data_dir)
        .env_remove("SOHOA_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sohoa");
    let stderr = child.stderr.take();
    let (tx, rx) = mpsc::channel();
    // Owned from here on: stopped and waited for however the test ends.
    let server = Server { child, log: rx };
    let stderr = stderr.expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while std::time::Instant::now() < deadline {
        match server.log.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                let addr = line
                    .split("\"addr\":\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next().map(str::to_owned));
                seen.push(line);
                if let Some(addr) = addr {
                    return (server, format!("http://{addr}"));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!("the server did not start:\n{}", seen.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_in_a_real_browser() {
    if !std::path::Path::new(CHROMIUM).exists() {
        let required = std::env::var("SOHOA_BROWSER_TESTS").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "{CHROMIUM} is missing (apt-get install chromium)"
        );
        eprintln!("SKIPPED: {CHROMIUM} is missing; the browser journeys did not run");
        return;
    }
    let dir = journeys_dir();
    let db = TestDb::new().await;
    let (server, url) = start_server(&db);

    // A busy commune: history for the officer's queue and the leader's dashboard, some of it
    // overdue, written through the storage path submissions take.
    let (code, out, err) = run_cli(
        &db,
        &[
            "bench",
            "seed-applications",
            "--count",
            "60",
            "--agency",
            "UBND-26743",
            "--procedure",
            "1.001193",
        ],
    )
    .await;
    assert_eq!(code, 0, "exit {code}\n--- stdout\n{out}\n--- stderr\n{err}");
    let citizen = std::fs::read_to_string(db.data_dir.join("demo/citizen-account.txt"))
        .expect("the demo's citizen")
        .trim()
        .to_owned();

    let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/browser-artifacts")
        .join(backend_name());
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).expect("artifacts directory");
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("journeys.mjs"))
            .env("SOHOA_URL", &url)
            .env("SOHOA_CITIZEN", &citizen)
            .env("SOHOA_PASSWORD", DEMO_PASSWORD)
            .env("SOHOA_ARTIFACTS", &artifacts)
            .env("CHROMIUM", CHROMIUM)
            .output()
            .expect("node")
    })
    .await
    .expect("journeys");
    let server_log: Vec<String> = server.log.try_iter().collect();
    drop(server);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    let errors: Vec<&String> = server_log
        .iter()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(
        run.status.success() && errors.is_empty(),
        "the browser journeys failed:\n{stdout}\n{stderr}\nserver errors:\n{errors:#?}"
    );
}
