//! What every handler is given: the use cases' [`App`] and what only HTTP needs beside it
//! (metrics, rate limits, the server's configuration).

use std::sync::Arc;

use sohoa_app::App;
use sohoa_storage::Db;

use crate::limit;
use crate::metrics::Metrics;
use crate::WebConfig;

/// Axum clones the state for each request (and each layer), so it is one pointer to the
/// shared parts rather than a dozen reference counts to bump and drop per request.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`]. The use cases' parts (`db`, `audit`, the caches) are the
/// [`App`]'s, reached through it.
#[derive(Debug)]
pub struct Shared {
    pub app: App,
    pub metrics: Arc<Metrics>,
    pub config: Arc<WebConfig>,
    pub limiter: Arc<limit::Limiter<std::net::IpAddr>>,
    pub login_limiter: Arc<limit::Limiter<std::net::IpAddr>>,
}

impl std::ops::Deref for Shared {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
    /// The state of a running server; starts the audit writer, so call it inside the runtime.
    pub fn new(db: Db, config: WebConfig) -> Self {
        let files = Arc::new(sohoa_storage::files::FsBlobStore::new(
            config.files_dir.clone(),
        ));
        Self(Arc::new(Shared {
            app: App::new(db, files).with_signing(sohoa_app::signatures::SigningConfig {
                public_url: config.public_url.clone(),
                trusted: config.trusted.clone(),
            }),
            metrics: Arc::new(Metrics::default()),
            limiter: Arc::new(limit::Limiter::new(config.rate_limit)),
            login_limiter: Arc::new(limit::Limiter::new(config.login_rate)),
            config: Arc::new(config),
        }))
    }
}
