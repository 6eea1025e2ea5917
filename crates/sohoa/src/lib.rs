//! The `sohoa` binary's library half: configuration, start-up and the commands, so the
//! integration tests can start the very same server in-process.

pub mod backup;
pub mod config;
pub mod demo;
pub mod generate;
pub mod import;
pub mod staff;

use std::future::Future;
use std::net::SocketAddr;

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
}

/// Opens the database, applies migrations and loads the reference units: what every
/// command that writes needs first.
pub async fn open_and_migrate(store: &StoreConfig) -> Result<Db, StartError> {
    let db = open(store).await?;
    db.migrate().await?;
    let units = sohoa_domain::units::reference_units()?;
    let loaded = sohoa_storage::units::load_reference(&db, &units).await?;
    if loaded > 0 {
        tracing::info!(units = loaded, "reference administrative units loaded");
    }
    Ok(db)
}

/// Opens the database without changing it.
pub async fn open(store: &StoreConfig) -> Result<Db, StartError> {
    let opts = DbOptions {
        max_connections: store.db_max_connections,
        ..DbOptions::default()
    };
    Ok(Db::connect(&store.database_url, &opts).await?)
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
    let db = open_and_migrate(store).await?;
    if serve.demo {
        let added = demo::load(&db, &store.data_dir).await?;
        tracing::info!(added, "demo data checked");
    }
    let listener = tokio::net::TcpListener::bind(serve.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: serve.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: serve.listen,
        source,
    })?;
    let tls = match (&serve.tls_cert, &serve.tls_key) {
        (Some(cert), Some(key)) => Some(sohoa_web::tls::load(cert, key)?),
        _ => None,
    };
    let web = WebConfig {
        tls: tls.is_some(),
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
    };
    let state = AppState::new(db.clone(), web);
    let db_for_close = db.clone();
    let run = async move {
        let result = sohoa_web::serve(listener, tls, state, shutdown).await;
        db_for_close.close().await;
        result.map_err(StartError::Serve)
    };
    Ok(Started { addr, db, run })
}
