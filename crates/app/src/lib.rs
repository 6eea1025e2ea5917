//! The use cases of sohoa: what citizens, officers, leaders, administrators and other
//! systems do, one function each, under every channel. The JSON API, the pages, Open311
//! and the command line parse their input into a typed command, call one use case with
//! the acting principal, and render what it returns; none of them holds a rule.
//!
//! A use case checks the policy with its target, runs the domain's rules, calls storage in
//! one transaction, and returns a typed result or an [`Error`] whose [`Kind`] each channel
//! knows how to show. This crate knows no HTTP: no status codes, no extractors, no axum.

pub mod accounts;
pub mod agencies;
pub mod applications;
pub mod audit;
pub mod cache;
pub mod catalog;
pub mod consents;
pub mod counter;
pub mod csc;
pub mod documents;
pub mod error;
pub mod evaluation;
pub mod feedback;
pub mod forecasts;
pub mod identity;
pub mod indicators;
pub mod jobs;
pub mod monitoring;
pub mod registry;
pub mod sharing;
pub mod signatures;
pub mod staff;
pub mod tasks;
pub mod tickets;
pub mod units;

use std::sync::Arc;

use sohoa_domain::policy::Principal;
use sohoa_domain::services::calendar::Calendar;
use sohoa_storage::Db;

pub use error::{authorize, Error, Kind, Result};

/// Applications filed in one group commit, at most.
pub const SUBMISSION_BATCH: usize = 256;

/// What the use cases work with: the database and the workers and caches in front of it.
/// One per server; cheap to share.
#[derive(Debug)]
pub struct App {
    pub db: Db,
    /// Batched, durable audit writes for reads of personal data.
    pub audit: sohoa_storage::audit::AuditSink,
    /// Group-committed submissions of applications.
    pub submissions: sohoa_storage::batch::GroupCommit<sohoa_storage::applications::Writer>,
    pub sharing: Arc<cache::SharingCache>,
    pub catalog: Arc<cache::CatalogCache>,
    pub feedback: Arc<cache::FeedbackCache>,
    /// Uploaded files by SHA-256.
    pub files: Arc<dyn sohoa_storage::files::BlobStore>,
    /// The public address and the anchors signatures are checked against.
    pub signing: Arc<signatures::SigningConfig>,
}

impl App {
    /// Starts the audit writer and the submissions' group commit: call it inside the
    /// runtime.
    pub fn new(db: Db, files: Arc<dyn sohoa_storage::files::BlobStore>) -> Self {
        Self {
            audit: sohoa_storage::audit::AuditSink::spawn(db.clone()),
            submissions: sohoa_storage::batch::GroupCommit::spawn(
                db.clone(),
                sohoa_storage::applications::Writer,
                SUBMISSION_BATCH,
            ),
            sharing: Arc::new(cache::SharingCache::default()),
            catalog: Arc::new(cache::CatalogCache::default()),
            feedback: Arc::new(cache::FeedbackCache::default()),
            files,
            db,
            signing: Arc::default(),
        }
    }

    /// The same, with the deployment's signing configuration.
    pub fn with_signing(mut self, signing: signatures::SigningConfig) -> Self {
        self.signing = Arc::new(signing);
        self
    }

    pub fn caches(&self) -> cache::Caches {
        cache::Caches {
            sharing: self.sharing.clone(),
            catalog: self.catalog.clone(),
            feedback: self.feedback.clone(),
        }
    }

    /// After a change to `topic` committed: forgotten here, and announced to the others.
    pub(crate) async fn changed(&self, topic: cache::Topic) {
        cache::changed(&self.db, &self.caches(), topic).await;
    }
}

/// Who acts, and from where: what every audit entry records of a request.
#[derive(Debug, Clone, Copy)]
pub struct Acting<'a> {
    pub principal: &'a Principal,
    /// The client's address, when the channel has one.
    pub addr: Option<&'a str>,
}

impl<'a> Acting<'a> {
    pub fn new(principal: &'a Principal, addr: Option<&'a str>) -> Self {
        Self { principal, addr }
    }
    /// The actor as the audit log names it.
    pub fn actor(&self) -> String {
        self.principal.actor()
    }
    pub(crate) fn addr(&self) -> Option<String> {
        self.addr.map(str::to_owned)
    }
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(Error::internal)?;
    Ok(b)
}

/// Runs blocking work (the file store's disk, hashing) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Error::internal)
}

/// Today in Vietnam, the day deadlines and validity are counted in.
pub fn today() -> time::Date {
    sohoa_domain::timestamp::today()
}

/// The shipped working-day calendar, parsed once.
pub fn calendar() -> Result<&'static Calendar> {
    static CAL: std::sync::OnceLock<Option<Calendar>> = std::sync::OnceLock::new();
    CAL.get_or_init(|| Calendar::shipped().ok())
        .as_ref()
        .ok_or_else(|| Error::internal("the shipped holiday calendar does not parse"))
}
