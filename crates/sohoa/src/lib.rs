//! The `sohoa` binary's library half: configuration, start-up and the commands, so the
//! integration tests can start the very same server in-process.

pub mod backup;
pub mod bench;
pub mod boundaries;
pub mod config;
pub mod demo;
pub mod generate;
pub mod import;
pub mod jobs;
pub mod monitoring;
pub mod notify;
pub mod payments;
pub mod paysim;
pub mod pki;
pub mod staff;

use std::future::Future;
use std::net::SocketAddr;

use sohoa_storage::sealed::Keyring;
use sohoa_storage::{Db, DbOptions, StorageError};
use sohoa_web::{AppState, WebConfig};

use crate::config::{ServeConfig, StoreConfig};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("reference data: {0}")]
    Reference(#[from] sohoa_domain::units::ReferenceDataError),
    #[error(transparent)]
    Demo(#[from] demo::DemoError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("TLS: {0}")]
    Tls(#[from] sohoa_web::tls::TlsError),
    #[error("data keys in {0}: {1}")]
    Keys(String, String),
    #[error("OpenID Connect: {0}")]
    Oidc(String),
    #[error("background jobs: {0}")]
    Jobs(String),
    #[error("trusted certificate authorities: {0}")]
    Trusted(String),
}

/// Opens the database, applies migrations and loads the reference units: what every
/// command that writes needs first.
pub async fn open_and_migrate(store: &StoreConfig) -> Result<Db, StartError> {
    let mut db = open(store).await?;
    if db.keyring().is_err() {
        if let Some(k) = load_keyring(store, true)? {
            db = db.with_keyring(k);
        }
    }
    db.migrate().await?;
    db.check_keyring().await?;
    let units = sohoa_domain::units::reference_units()?;
    let loaded = sohoa_storage::units::load_reference(&db, &units).await?;
    if loaded > 0 {
        tracing::info!(units = loaded, "reference administrative units loaded");
    }
    let registered = sohoa_storage::pki::register_existing(&db).await?;
    if registered > 0 {
        tracing::info!(
            registered,
            "certificates made before the register joined it"
        );
    }
    if sohoa_storage::monitoring::ensure_built(&db).await? {
        tracing::info!("procedure monitoring counters built from the stored applications");
    }
    let defaults = sohoa_domain::feedback::catalog::default_categories();
    sohoa_storage::feedback::ensure_categories(&db, &defaults).await?;
    let approximate = sohoa_domain::feedback::geo::schematic_boundaries();
    if sohoa_storage::feedback::ensure_boundaries(&db, &approximate).await? {
        tracing::info!(
            units = approximate.len(),
            "approximate commune boundaries stored (load official ones with `sohoa boundaries FILE`)"
        );
    }
    Ok(db)
}

/// Opens the database without changing it, with the data keys if there are any (commands
/// that touch no personal data, like `audit verify`, work without them).
pub async fn open(store: &StoreConfig) -> Result<Db, StartError> {
    let opts = DbOptions {
        max_connections: store.db_max_connections,
        acquire_timeout: store.db_wait,
    };
    let db = Db::connect(&store.database_url, &opts).await?;
    Ok(match load_keyring(store, false)? {
        Some(k) => db.with_keyring(k),
        None => db,
    })
}

/// The data keys: from `SOHOA_DATA_KEYS`, the configured file, or `data.key` in the data
/// directory, which `create` makes (one fresh key, readable by its owner only) when absent.
pub fn load_keyring(
    store: &StoreConfig,
    create: bool,
) -> Result<Option<std::sync::Arc<Keyring>>, StartError> {
    if let Ok(text) = std::env::var("SOHOA_DATA_KEYS") {
        if !text.trim().is_empty() {
            let k = Keyring::parse(&text)
                .map_err(|e| StartError::Keys("SOHOA_DATA_KEYS".into(), e.to_string()))?;
            return Ok(Some(std::sync::Arc::new(k)));
        }
    }
    let (path, default) = match &store.data_key_file {
        Some(p) => (p.clone(), false),
        None => (store.data_dir.join("data.key"), true),
    };
    let name = path.display().to_string();
    if !path.exists() {
        if !(default && create) {
            return if default {
                Ok(None)
            } else {
                Err(StartError::Keys(name, "no such file".into()))
            };
        }
        let line = Keyring::generate_line(1)?;
        write_private(&path, &format!(
            "# Keys that seal personal data at rest (sohoa). The first key seals; keep a copy\n\
             # apart from the database and its backups: without it the data cannot be read.\n{line}\n"
        ))
        .map_err(|e| StartError::Keys(name.clone(), e.to_string()))?;
        tracing::warn!(path = %name, "generated a new data key; keep a copy apart from backups");
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| StartError::Keys(name.clone(), e.to_string()))?;
    let k = Keyring::parse(&text).map_err(|e| StartError::Keys(name, e.to_string()))?;
    Ok(Some(std::sync::Arc::new(k)))
}

/// How often a running server looks at its key file.
pub const KEY_FILE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Takes up a changed key file without a restart, so that a key rotation needs no downtime:
/// put the new key first in the file, wait for every server to log that it reloaded, run
/// `sohoa keys rotate`, then remove the old key. A file that does not parse, or holds a
/// wrong key, is refused (logged) and the keys in force stay.
fn watch_keys(store: &StoreConfig, db: &Db) {
    if std::env::var("SOHOA_DATA_KEYS").is_ok_and(|v| !v.trim().is_empty()) {
        return;
    }
    let path = store
        .data_key_file
        .clone()
        .unwrap_or_else(|| store.data_dir.join("data.key"));
    let stamp = |p: &std::path::Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    let db = db.clone();
    tokio::spawn(async move {
        let mut seen = stamp(&path);
        loop {
            tokio::time::sleep(KEY_FILE_POLL).await;
            let now = stamp(&path);
            if now == seen {
                continue;
            }
            seen = now;
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| Keyring::parse(&t).map_err(|e| e.to_string()));
            match parsed {
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "key file changed but cannot be used; keeping the keys in force")
                }
                Ok(k) => match db.check_keyring_of(&k).await {
                    Ok(()) => {
                        tracing::info!(ids = ?k.ids(), sealing = k.active_id(), "data keys reloaded");
                        db.replace_keyring(std::sync::Arc::new(k));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "key file changed but is refused; keeping the keys in force")
                    }
                },
            }
        }
    });
}

/// Creates `path` with `contents`, readable and writable by its owner only.
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

/// This server's worker over the shared job table, and how to stop it.
struct Jobs {
    stop: tokio::sync::watch::Sender<bool>,
    worker: Option<tokio::task::JoinHandle<()>>,
}

impl Jobs {
    /// Stops claiming, and waits for the jobs it runs to end their attempt (so their outcome
    /// is recorded, not left to a lease running out), up to a minute.
    async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(w) = self.worker {
            if tokio::time::timeout(std::time::Duration::from_secs(60), w)
                .await
                .is_err()
            {
                tracing::warn!(
                    "background jobs still running at shutdown: their leases will run out"
                );
            }
        }
    }
}

/// How long jobs that ended are kept, for operators to look back at (also what `sohoa jobs
/// purge` keeps by default).
pub const JOBS_KEPT: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Starts this server's share of the background jobs: the recurring ones (each run once per
/// period across the servers, see [`jobs::recurring`]), and sending citizens' messages when
/// the configuration gives a directory to send them into.
fn start_jobs(db: &Db, serve: &ServeConfig) -> Result<Jobs, StartError> {
    use sohoa_app::jobs::Worker;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if !serve.jobs {
        tracing::info!("no background jobs on this server (--no-jobs)");
        return Ok(Jobs { stop, worker: None });
    }
    let crl_url = pki::crl_url(serve.rails.public_url.as_deref());
    let (mut kinds, schedules): (Vec<_>, Vec<_>) = jobs::recurring(db, crl_url).into_iter().unzip();
    if let Some(dir) = &serve.notify_dir {
        let counters = std::sync::Arc::new(notify::Counters::default());
        kinds.push(notify::kind(db.clone(), dir.clone(), counters));
    }
    let w = Worker::new(db.clone(), kinds)
        .map_err(|e| StartError::Jobs(e.to_string()))?
        .lease(serve.job_lease);
    tracing::info!(owner = w.owner(), "background jobs started");
    Ok(Jobs {
        stop,
        worker: Some(tokio::spawn(w.run(schedules, stopped))),
    })
}

/// The database with the read replicas the configuration names, if any.
async fn with_replicas(db: Db, store: &StoreConfig, serve: &ServeConfig) -> Result<Db, StartError> {
    let replicas: Vec<String> = serve
        .replicas
        .iter()
        .map(|r| r.expose().to_owned())
        .collect();
    let opts = DbOptions {
        max_connections: store.db_max_connections,
        acquire_timeout: store.db_wait,
    };
    let db = db.with_replicas(&replicas, &opts).await?;
    if !replicas.is_empty() {
        tracing::info!(replicas = replicas.len(), "stale reads go to read replicas");
    }
    Ok(db)
}

/// A server that is listening: its address, and the future that runs it.
pub struct Started<F> {
    pub addr: SocketAddr,
    pub db: Db,
    pub run: F,
}

/// Prepares the database and binds the listener; the returned future serves until
/// `shutdown` completes, lets requests in flight finish, then closes the database.
pub async fn start(
    store: &StoreConfig,
    serve: &ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Started<impl Future<Output = Result<(), StartError>>>, StartError> {
    let listener = tokio::net::TcpListener::bind(serve.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: serve.listen,
            source,
        })?;
    start_on(store, serve, listener, shutdown).await
}

/// What the web layer is told of the configuration.
fn web_config(
    store: &StoreConfig,
    serve: &ServeConfig,
    oidc: Option<std::sync::Arc<sohoa_web::oidc::Oidc>>,
    tls: bool,
) -> Result<WebConfig, StartError> {
    let trusted = match &serve.trusted_cas {
        Some(dir) => sohoa_app::signatures::load_trusted(dir).map_err(StartError::Trusted)?,
        None => sohoa_sign::Trust::new(),
    };
    Ok(WebConfig {
        oidc,
        tls,
        admin_token_sha256: serve
            .admin_token
            .as_ref()
            .map(|t| sohoa_web::token_digest(t.expose().trim())),
        request_timeout: serve.request_timeout,
        rate_limit: (serve.rate_limit > 0).then(|| sohoa_web::limit::Rate {
            per_second: f64::from(serve.rate_limit),
            burst: 2.0 * f64::from(serve.rate_limit),
        }),
        login_rate: (serve.login_rate_limit > 0)
            .then(|| sohoa_web::limit::Rate::per_minute(serve.login_rate_limit)),
        files_dir: store.data_dir.join("files"),
        payments: serve.payments.as_ref().map(|(url, secret)| {
            std::sync::Arc::new(sohoa_web::api::payments::HmacGateway {
                name: "gateway".into(),
                base_url: url.clone(),
                secret: secret.expose().as_bytes().to_vec(),
            }) as std::sync::Arc<dyn sohoa_web::api::payments::PaymentGateway>
        }),
        vnpay: serve
            .rails
            .vnpay
            .as_ref()
            .map(|v| sohoa_web::api::rails::Vnpay {
                merchant: sohoa_domain::payments::vnpay::Merchant {
                    tmn_code: v.tmn_code.clone(),
                    secret: v.secret.expose().as_bytes().to_vec(),
                },
                pay_url: v.url.clone(),
                return_url: format!(
                    "{}/payments/vnpay/return",
                    serve.rails.public_url.as_deref().unwrap_or("")
                ),
            }),
        vietqr: serve
            .rails
            .vietqr
            .as_ref()
            .map(|q| sohoa_web::api::rails::VietQrAccount {
                bin: q.bin.clone(),
                account: q.account.clone(),
                name: q.name.clone(),
            }),
        public_url: serve.rails.public_url.clone(),
        trusted: std::sync::Arc::new(trusted),
        csc_url: serve.csc_url.clone(),
    })
}

/// [`start`] on a listener bound already (`serve.listen` is not used): for a caller that
/// must know the address before the server starts, as a peer that calls back does, without
/// freeing a port and hoping to bind it again.
pub async fn start_on(
    store: &StoreConfig,
    serve: &ServeConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Started<impl Future<Output = Result<(), StartError>>>, StartError> {
    let db = with_replicas(open_and_migrate(store).await?, store, serve).await?;
    watch_keys(store, &db);
    if serve.demo {
        let added = demo::load(&db, &store.data_dir).await?;
        tracing::info!(added, "demo data checked");
    }
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: serve.listen,
        source,
    })?;
    let tls = match (&serve.tls_cert, &serve.tls_key) {
        (Some(cert), Some(key)) => Some(sohoa_web::tls::load(cert, key)?),
        _ => None,
    };
    let oidc = match &serve.oidc {
        Some(c) => Some(std::sync::Arc::new(
            sohoa_web::oidc::Oidc::new(c.clone()).map_err(|e| StartError::Oidc(e.to_string()))?,
        )),
        None => None,
    };
    let web = web_config(store, serve, oidc, tls.is_some())?;
    let state = AppState::new(db.clone(), web);
    // Forgets what other servers change, at once rather than when entries expire.
    let watching = sohoa_app::cache::watch(&store.database_url, state.caches()).await;
    let jobs = start_jobs(&db, serve)?;
    let db_for_close = db.clone();
    let run = async move {
        let result = sohoa_web::serve(listener, tls, state, shutdown).await;
        if let Some(w) = watching {
            w.abort();
        }
        jobs.stop().await;
        db_for_close.close().await;
        result.map_err(StartError::Serve)
    };
    Ok(Started { addr, db, run })
}
