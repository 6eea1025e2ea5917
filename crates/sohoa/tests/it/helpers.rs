//! `spawn_app()`: a fresh database (a temporary SQLite file, or a uniquely named PostgreSQL
//! database that is dropped afterwards), the real server on port 0, and an HTTP client.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sohoa::config::{Secret, ServeConfig, StoreConfig};
use sqlx::Connection;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The PostgreSQL server to test against, if any.
fn postgres_base() -> Option<String> {
    std::env::var("SOHOA_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    match url.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{name}", &url[..i]),
        _ => format!("{url}/{name}"),
    }
}

pub fn backend_name() -> &'static str {
    if postgres_base().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// A database of its own for one test.
pub struct TestDb {
    pub url: String,
    /// Keeps the SQLite directory alive; PostgreSQL databases are dropped in `Drop`.
    _dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    pg: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub async fn new() -> Self {
        match postgres_base() {
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let data_dir = dir.path().join("data");
                TestDb {
                    url: sohoa_storage::sqlite_url(&data_dir.join("sohoa.db")),
                    _dir: dir,
                    data_dir,
                    pg: None,
                }
            }
            Some(base) => Self::on_server(&base).await,
        }
    }

    /// A database of its own on the PostgreSQL server `base` (any database's URL on it).
    pub async fn on_server(base: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let name = format!(
            "sohoa_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let mut conn = sqlx::PgConnection::connect(base)
            .await
            .expect("connect to the test PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let _ = conn.close().await;
        TestDb {
            url: with_database(base, &name),
            _dir: dir,
            data_dir,
            pg: Some((base.to_owned(), name)),
        }
    }

    pub fn store(&self) -> StoreConfig {
        StoreConfig {
            database_url: self.url.clone(),
            data_dir: self.data_dir.clone(),
            db_max_connections: 4,
            db_wait: std::time::Duration::from_secs(10),
            data_key_file: None,
        }
    }

    /// A raw connection pool, for what a test must do behind the application's back.
    pub async fn raw(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&self.url)
            .await
            .expect("raw connection")
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = self.pg.take() {
            // Drop runs inside the test's runtime, which cannot be blocked on: use a thread
            // with a runtime of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&base).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub db: TestDb,
    /// The (first) running server's own database handle (clones share its pools).
    server_db: sohoa_storage::Db,
    servers: Vec<Server>,
    /// With several servers, the proxy in front of them.
    proxy: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Default)]
pub struct Options {
    pub admin: bool,
    pub demo: bool,
    /// Requests per second per client address; `None` for the server's default.
    pub rate_limit: Option<u32>,
    /// Sign-in attempts per minute per client address; `None` for the server's default.
    pub login_rate_limit: Option<u32>,
    /// PEM certificate and key: serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// An OpenID Connect provider for citizens' sign-in.
    pub oidc: Option<sohoa_web::oidc::OidcConfig>,
    /// A listener bound already (see [`bind_local`]) [default: a new one on 127.0.0.1:0].
    pub listener: Option<std::net::TcpListener>,
    /// A payment gateway: its base URL and webhook secret.
    pub payments: Option<(String, String)>,
    /// Where the server's sending jobs write citizens' messages.
    pub notify_dir: Option<PathBuf>,
    /// Certificate authorities trusted for people's signatures (a directory of PEM files).
    pub trusted_cas: Option<PathBuf>,
    /// A remote signing provider (CSC API v2 base URL).
    pub csc_url: Option<String>,
    /// VNPay, VietQR and the public address.
    pub rails: sohoa::config::Rails,
    /// A server that runs no background jobs (a test that runs them itself, at its steps).
    pub no_jobs: bool,
    /// Read replicas' URLs.
    pub replicas: Vec<String>,
    /// How long a request waits for a database connection [default: the test store's].
    pub db_wait: Option<Duration>,
    /// One server even when the suite runs with several (`SOHOA_TEST_SERVERS`): for a test
    /// of what each server keeps to itself by design (its rate limits, its metrics).
    pub one_server: bool,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options {
        admin: true,
        demo: false,
        ..Options::default()
    })
    .await
}

pub async fn spawn_app_with(opts: Options) -> TestApp {
    let db = TestDb::new().await;
    spawn_on(db, opts).await
}

/// Starts the server on an existing database (to test restarts).
/// A listener on a port of its own, for a test whose peer must know the server's address
/// before the server starts. Never free a port to bind it again: between the two, another
/// test's server, or any outgoing connection's ephemeral port, may take it.
pub fn bind_local() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port")
}

/// How many servers a test's app is: `SOHOA_TEST_SERVERS` (default 1). With more, on
/// PostgreSQL, each test talks to that many servers (each with its own caches, limits and
/// workers, as separate processes have) through a round-robin proxy, one new connection per
/// request: the suites' journeys must answer as they do with one server.
pub fn test_servers() -> usize {
    std::env::var("SOHOA_TEST_SERVERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

fn serve_config(listen: SocketAddr, opts: &Options) -> ServeConfig {
    ServeConfig {
        listen,
        demo: opts.demo,
        admin_token: opts.admin.then(|| ADMIN_TOKEN.parse::<Secret>().unwrap()),
        request_timeout: Duration::from_secs(30),
        rate_limit: opts.rate_limit.unwrap_or(1000),
        login_rate_limit: opts.login_rate_limit.unwrap_or(30),
        notify_dir: opts.notify_dir.clone(),
        trusted_cas: opts.trusted_cas.clone(),
        csc_url: opts.csc_url.clone(),
        job_lease: std::time::Duration::from_secs(30),
        jobs: !opts.no_jobs,
        replicas: opts
            .replicas
            .iter()
            .map(|r| r.parse::<Secret>().unwrap())
            .collect(),
        tls_cert: opts.tls.as_ref().map(|t| t.0.clone()),
        tls_key: opts.tls.as_ref().map(|t| t.1.clone()),
        oidc: opts.oidc.clone(),
        payments: opts
            .payments
            .as_ref()
            .map(|(url, secret)| (url.clone(), secret.parse::<Secret>().unwrap())),
        rails: opts.rails.clone(),
    }
}

/// One server of the app, running in this process with state of its own.
struct Server {
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start_server(
    db: &TestDb,
    opts: &Options,
    listener: std::net::TcpListener,
) -> (Server, SocketAddr, sohoa_storage::Db) {
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    let serve = serve_config(listener.local_addr().expect("bound address"), opts);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let mut store = db.store();
    if let Some(wait) = opts.db_wait {
        store.db_wait = wait;
    }
    let started = sohoa::start_on(&store, &serve, listener, async {
        let _ = rx.await;
    })
    .await
    .expect("server starts");
    let (addr, server_db, run) = (started.addr, started.db.clone(), started.run);
    let task = tokio::spawn(async move {
        run.await.expect("server runs");
    });
    (Server { shutdown: tx, task }, addr, server_db)
}

/// Hands each connection made to `listener` to the next of `backends` in turn.
fn round_robin(
    listener: std::net::TcpListener,
    backends: Vec<SocketAddr>,
) -> tokio::task::JoinHandle<()> {
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
    tokio::spawn(async move {
        let mut next = 0usize;
        while let Ok((inbound, _)) = listener.accept().await {
            let to = backends[next % backends.len()];
            next += 1;
            tokio::spawn(async move {
                if let Ok(outbound) = tokio::net::TcpStream::connect(to).await {
                    pipe(inbound, outbound).await;
                }
            });
        }
    })
}

/// Relays one connection both ways, as a proxy should: when the server has answered and
/// closed, the client gets every byte of the answer and then an orderly close, and what it
/// still sends (the rest of a body refused early, a 413) is read and dropped rather than
/// answered with a reset that would lose the answer.
async fn pipe(inbound: tokio::net::TcpStream, outbound: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    let (mut ci, mut co) = inbound.into_split();
    let (mut si, mut so) = outbound.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut ci, &mut so).await;
        let _ = so.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut si, &mut co).await;
        let _ = co.shutdown().await;
    };
    tokio::join!(up, down);
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::io::copy(&mut ci, &mut tokio::io::sink()),
    )
    .await;
}

pub async fn spawn_on(db: TestDb, mut opts: Options) -> TestApp {
    let listener = opts.listener.take().unwrap_or_else(bind_local);
    let n = if db.is_postgres() && !opts.one_server {
        test_servers()
    } else {
        1
    };
    let mut client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    let (servers, addr, server_db, proxy) = if n == 1 {
        let (server, addr, server_db) = start_server(&db, &opts, listener).await;
        (vec![server], addr, server_db, None)
    } else {
        let mut servers = Vec::new();
        let mut backends = Vec::new();
        let mut first_db = None;
        for _ in 0..n {
            let (server, addr, server_db) = start_server(&db, &opts, bind_local()).await;
            servers.push(server);
            backends.push(addr);
            first_db.get_or_insert(server_db);
        }
        let addr = listener.local_addr().expect("bound address");
        // A new connection per request, so that requests alternate between the servers.
        client = client.pool_max_idle_per_host(0);
        let proxy = round_robin(listener, backends);
        (servers, addr, first_db.expect("a server"), Some(proxy))
    };
    TestApp {
        addr,
        client: client.build().unwrap(),
        db,
        server_db,
        servers,
        proxy,
    }
}

impl TestApp {
    pub fn server_db(&self) -> &sohoa_storage::Db {
        &self.server_db
    }

    /// Waits until the running server has taken up a changed key file and seals under, and
    /// opens with, exactly `ids` (first the sealing key). The server polls the file every
    /// `KEY_FILE_POLL`: waiting for the change itself instead of a fixed time.
    pub async fn until_keys(&self, ids: &[u32]) {
        let deadline = std::time::Instant::now() + sohoa::KEY_FILE_POLL * 10;
        loop {
            let now = self
                .server_db
                .keyring()
                .map(|k| k.ids())
                .unwrap_or_default();
            if now == ids {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server still holds keys {now:?}, not {ids:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.json().await.expect("JSON body"))
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let res = self
            .client
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.expect("JSON body"))
    }

    /// Requests as the holder of `token` (a session, an API key, an access token).
    pub fn as_<'a>(&'a self, token: &'a str) -> As<'a> {
        self.maybe(Some(token))
    }

    /// Requests with no credential.
    pub fn anonymous(&self) -> As<'_> {
        self.maybe(None)
    }

    /// Requests as the holder of `token`, or with none.
    pub fn maybe<'a>(&'a self, token: Option<&'a str>) -> As<'a> {
        As {
            app: self,
            token,
            headers: Vec::new(),
        }
    }

    /// Stops the server gracefully and waits for it, handing back the database.
    pub async fn stop(mut self) -> TestDb {
        self.shutdown_and_wait().await;
        let TestApp { db, .. } = self;
        db
    }

    async fn shutdown_and_wait(&mut self) {
        if let Some(p) = self.proxy.take() {
            p.abort();
        }
        for s in std::mem::take(&mut self.servers) {
            let _ = s.shutdown.send(());
            s.task.await.expect("server task");
        }
    }
}

/// One caller of the server, the one way tests make requests: `app.as_(token).get(path)`.
/// Answers are the status and the body as JSON (a string when it is not JSON, null when
/// empty).
pub struct As<'a> {
    app: &'a TestApp,
    token: Option<&'a str>,
    headers: Vec<(&'static str, String)>,
}

impl As<'_> {
    /// Adds a header to every request made through this caller.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sends `body` (as JSON, when given) with `method`: status, body and headers.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
        let mut req = self.app.client.request(method, self.app.url(path));
        if let Some(t) = self.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in &self.headers {
            req = req.header(*k, v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        };
        (status, body, headers)
    }

    /// [`As::send`] without the headers.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let (s, b, _) = self.send(method, path, body).await;
        (s, b)
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// The body of a GET that must succeed, as bytes (a PDF).
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let mut req = self.app.client.get(self.app.url(path));
        if let Some(t) = self.token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        assert_eq!(res.status().as_u16(), 200, "GET {path}");
        res.bytes().await.expect("body").to_vec()
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}

/// Where a long journey test is: when it fails, the step it was at is printed beside the
/// assertion, so a failure says which part of the journey broke.
pub struct Step(&'static str);

impl Step {
    pub fn start(name: &'static str) -> Self {
        Self(name)
    }
    /// Moves on to the next step.
    pub fn at(&mut self, name: &'static str) {
        self.0 = name;
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the journey failed at the step: {}", self.0);
        }
    }
}

/// Asserts the error shape every client relies on, and returns the code.
pub fn error_code(body: &serde_json::Value) -> &str {
    let err = &body["error"];
    for field in ["message_vi", "message_en"] {
        let msg = err[field].as_str().unwrap_or_default();
        assert!(
            !msg.is_empty() && !msg.starts_with("error-"),
            "{field} missing in {body}"
        );
    }
    assert_ne!(
        err["message_vi"], err["message_en"],
        "messages not translated: {body}"
    );
    err["code"].as_str().expect("error.code")
}

pub fn agency(code: &str, level: &str, unit: &str) -> serde_json::Value {
    serde_json::json!({
        "code": code,
        "name_vi": format!("Cơ quan {code}"),
        "name_en": format!("Agency {code}"),
        "level": level,
        "unit_code": unit,
    })
}

/// Runs the real `sohoa` binary with the test database, returning exit code and output.
/// The wait is off the test's runtime: a server in this process keeps serving (and
/// finishing its transactions) while the command runs beside it, as it would in production.
pub async fn run_cli(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    let (url, data_dir) = (db.url.clone(), db.data_dir.clone());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_cli_at(&url, &data_dir, &args)
    })
    .await
    .expect("the command's thread")
}

/// Runs the binary and insists it succeeds: the assertion shows its exit code, stdout and
/// stderr (a bare "exited 1" once cost a day to trace). Returns stdout.
pub async fn run_cli_ok(db: &TestDb, args: &[&str]) -> String {
    let (code, out, err) = run_cli(db, args).await;
    assert_eq!(
        code,
        0,
        "sohoa {} exited {code}\n--- stdout\n{out}\n--- stderr\n{err}",
        args.join(" ")
    );
    out
}

/// `run_cli` for a database given by URL and data directory (for use off the test's task).
pub fn run_cli_at(url: &str, data_dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sohoa"))
        .args(args)
        .env("SOHOA_DATABASE_URL", url)
        .env("SOHOA_DATA_DIR", data_dir)
        .env_remove("SOHOA_CONFIG")
        .output()
        .expect("run sohoa");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `sohoa serve` process of its own (not in the test's process): what several servers on
/// one database, or a server killed with `kill -9`, are tested with.
pub struct ServerProcess {
    child: std::process::Child,
    addr: SocketAddr,
    /// Every line it logged so far (JSON), for a failing test to show.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `sohoa serve` on `db` with `args` on a port of its own, and waits until it
    /// listens.
    pub async fn start(db: &TestDb, args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sohoa"))
            .arg("serve")
            .args(args)
            .env("SOHOA_LISTEN", "127.0.0.1:0")
            .env("SOHOA_DATABASE_URL", &db.url)
            .env("SOHOA_DATA_DIR", &db.data_dir)
            .env("SOHOA_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("SOHOA_LOG_FORMAT", "json")
            .env_remove("SOHOA_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start sohoa serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let lines = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(addr) = serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| v["addr"].as_str().map(str::to_owned))
                {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(addr)) => addr.parse().expect("an address"),
            _ => panic!(
                "sohoa serve did not start:\n{}",
                log.lock().unwrap().join("\n")
            ),
        };
        Self { child, addr, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends `signal` (`-STOP`, `-CONT`, `-KILL`, `-TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let ok = std::process::Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {signal} {}", self.pid());
    }

    /// `kill -9`: no shutdown, no outcome recorded, leases left to run out.
    pub async fn kill(mut self) {
        self.signal("-KILL");
        self.exited().await;
    }

    /// Stops it as an operator does (SIGTERM) and waits for it to exit; its exit status.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        self.exited().await
    }

    async fn exited(&mut self) -> std::process::ExitStatus {
        for _ in 0..1200 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sohoa serve did not exit within a minute");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // A test that failed half-way leaves no server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay to `to` that a test can cut (every connection dropped, new ones refused
/// as soon as they are made) and restore: a database that goes away and comes back.
pub struct Relay {
    pub addr: SocketAddr,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn start(to: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (o, c) = (open.clone(), conns.clone());
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !o.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: the peer sees its connection closed
                }
                let conn = tokio::spawn(async move {
                    if let Ok(outbound) = tokio::net::TcpStream::connect(to).await {
                        pipe(inbound, outbound).await;
                    }
                });
                c.lock().unwrap().push(conn.abort_handle());
            }
        });
        Self {
            addr,
            open,
            conns,
            task,
        }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}
