//! Short-lived caches of what nearly every request of a kind looks up and almost nothing
//! changes: agencies' keys and grants (every share request; on SQLite only, see
//! `caches_access`), the procedure catalog and the deciding agencies (every submission), the
//! map's boundaries and categories. Entries live `TTL`; a change made through this server
//! clears its cache at once, and is announced to the other servers of the deployment, which
//! forget it when they hear it (milliseconds; `TTL` if the announcement is lost).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sohoa_domain::agency::Agency;
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::sharing::{Purpose, RegistryName};
use sohoa_storage::agencies;
use sohoa_storage::procedures::{self, Versioned};
use sohoa_storage::sharing::{self, KeyKind, StoredKey, StoredToken};
use sohoa_storage::{Db, Result};

pub const TTL: Duration = Duration::from_secs(5);
/// Bound on entries, so that a flood of distinct ids cannot grow memory without limit.
const MAX_ENTRIES: usize = 10_000;

type GrantKey = (String, RegistryName, String);

/// Values by key, each kept for `TTL` after it was read from the database.
#[derive(Debug)]
pub struct TtlMap<K, V> {
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K, V> Default for TtlMap<K, V> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> TtlMap<K, V> {
    pub fn get(&self, k: &K) -> Option<V> {
        let map = self.map.lock().ok()?;
        map.get(k)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, k: K, v: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(k, (Instant::now(), v));
        }
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}

/// Keys, tokens and grants decide who reads citizens' data: a revocation must hold on every
/// server from its commit on, not milliseconds later. On PostgreSQL (where several servers
/// may run) they are read afresh on every request; on SQLite (one server, whose own changes
/// clear its cache in the changing request) they are cached.
fn caches_access(db: &Db) -> bool {
    db.backend() == sohoa_storage::Backend::Sqlite
}

#[derive(Debug, Default)]
pub struct SharingCache {
    keys: TtlMap<(KeyKind, String), StoredKey>,
    tokens: TtlMap<String, StoredToken>,
    grants: TtlMap<GrantKey, Vec<String>>,
}

impl SharingCache {
    /// A key by its id; only keys that exist are cached.
    pub async fn key(&self, db: &Db, kind: KeyKind, key_id: &str) -> Result<Option<StoredKey>> {
        if !caches_access(db) {
            return sharing::find_key(db, kind, key_id).await;
        }
        let k = (kind, key_id.to_owned());
        if let Some(found) = self.keys.get(&k) {
            return Ok(Some(found));
        }
        let found = sharing::find_key(db, kind, key_id).await?;
        if let Some(stored) = &found {
            self.keys.put(k, stored.clone());
        }
        Ok(found)
    }

    /// An access token by its digest; only tokens that exist are cached (each is checked
    /// against its key, and the key's revocation, on every use).
    pub async fn token(&self, db: &Db, token_sha256: &str) -> Result<Option<StoredToken>> {
        if !caches_access(db) {
            return sharing::find_token(db, token_sha256).await;
        }
        if let Some(found) = self.tokens.get(&token_sha256.to_owned()) {
            return Ok(Some(found));
        }
        let found = sharing::find_token(db, token_sha256).await?;
        if let Some(t) = &found {
            self.tokens.put(token_sha256.to_owned(), t.clone());
        }
        Ok(found)
    }

    /// The fields an agency may read of a registry for a purpose.
    pub async fn granted(
        &self,
        db: &Db,
        agency: &str,
        registry: RegistryName,
        purpose: &Purpose,
    ) -> Result<Vec<String>> {
        if !caches_access(db) {
            return sharing::granted_fields(db, agency, registry, purpose).await;
        }
        let k: GrantKey = (agency.to_owned(), registry, purpose.as_str().to_owned());
        if let Some(fields) = self.grants.get(&k) {
            return Ok(fields);
        }
        let fields = sharing::granted_fields(db, agency, registry, purpose).await?;
        self.grants.put(k, fields.clone());
        Ok(fields)
    }

    /// Forgets everything: called after any change to keys or grants.
    pub fn clear(&self) {
        self.keys.clear();
        self.tokens.clear();
        self.grants.clear();
    }
}

/// The current version of procedures and the commune agencies that decide applications:
/// read by every submission, changed rarely. An application records the version it was
/// filed under, so a version a few seconds old is still a true record of what applied.
#[derive(Debug, Default)]
pub struct CatalogCache {
    procedures: TtlMap<String, Versioned>,
    commune_agencies: TtlMap<String, Agency>,
}

impl CatalogCache {
    /// The current version of a procedure; only procedures that exist are cached.
    pub async fn procedure(&self, db: &Db, code: &ProcedureCode) -> Result<Option<Versioned>> {
        if let Some(v) = self.procedures.get(&code.to_string()) {
            return Ok(Some(v));
        }
        let found = procedures::get(db, code, None).await?;
        if let Some(v) = &found {
            self.procedures.put(code.to_string(), v.clone());
        }
        Ok(found)
    }

    /// The commune agency serving `unit`; only one that exists is cached.
    pub async fn commune_agency(&self, db: &Db, unit: &str) -> Result<Option<Agency>> {
        if let Some(a) = self.commune_agencies.get(&unit.to_owned()) {
            return Ok(Some(a));
        }
        let found = agencies::commune_agency(db, unit).await?;
        if let Some(a) = &found {
            self.commune_agencies.put(unit.to_owned(), a.clone());
        }
        Ok(found)
    }

    /// Forgets everything: called after any change to procedures or agencies.
    pub fn clear(&self) {
        self.procedures.clear();
        self.commune_agencies.clear();
    }
}

/// The communes' boundaries and the report categories: read by every report filed and every
/// map drawn, changed by an import or an administrator now and then.
#[derive(Debug, Default)]
pub struct FeedbackCache {
    boundaries: TtlMap<(), std::sync::Arc<Geography>>,
    categories: TtlMap<(), std::sync::Arc<Vec<sohoa_domain::feedback::report::Category>>>,
}

/// The boundaries, and whether each is the shipped approximation or imported.
#[derive(Debug, Default)]
pub struct Geography {
    pub boundaries: sohoa_domain::feedback::geo::Boundaries,
    /// True when any boundary is the shipped approximation.
    pub approximate: bool,
}

impl FeedbackCache {
    pub async fn geography(&self, db: &Db) -> Result<std::sync::Arc<Geography>> {
        if let Some(g) = self.boundaries.get(&()) {
            return Ok(g);
        }
        let mut rows = sohoa_storage::feedback::boundaries(db).await?;
        let approximate = rows.iter().any(|(_, source)| source == "approximate");
        // Where an official boundary and an approximate one overlap, the official one wins:
        // `locate` answers the first area that holds the point.
        rows.sort_by_key(|(_, source)| source == "approximate");
        let g = std::sync::Arc::new(Geography {
            boundaries: sohoa_domain::feedback::geo::Boundaries::new(
                rows.into_iter().map(|(a, _)| a).collect(),
            ),
            approximate,
        });
        self.boundaries.put((), g.clone());
        Ok(g)
    }

    pub async fn categories(
        &self,
        db: &Db,
    ) -> Result<std::sync::Arc<Vec<sohoa_domain::feedback::report::Category>>> {
        if let Some(c) = self.categories.get(&()) {
            return Ok(c);
        }
        let c = std::sync::Arc::new(sohoa_storage::feedback::categories(db).await?);
        self.categories.put((), c.clone());
        Ok(c)
    }

    pub fn clear(&self) {
        self.boundaries.clear();
        self.categories.clear();
    }
}

/// A cache that a change makes every server forget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Agencies' and enterprises' keys, tokens and grants.
    Sharing,
    /// The procedure catalog and the deciding agencies.
    Catalog,
    /// The communes' boundaries and the report categories.
    Feedback,
}

impl Topic {
    pub const ALL: [Topic; 3] = [Topic::Sharing, Topic::Catalog, Topic::Feedback];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Sharing => "sharing",
            Topic::Catalog => "catalog",
            Topic::Feedback => "feedback",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A server's caches, shared with the task that forgets what other servers changed.
#[derive(Debug, Clone)]
pub struct Caches {
    pub sharing: std::sync::Arc<SharingCache>,
    pub catalog: std::sync::Arc<CatalogCache>,
    pub feedback: std::sync::Arc<FeedbackCache>,
}

impl Caches {
    pub fn forget(&self, topic: Topic) {
        match topic {
            Topic::Sharing => self.sharing.clear(),
            Topic::Catalog => self.catalog.clear(),
            Topic::Feedback => self.feedback.clear(),
        }
    }

    pub fn forget_all(&self) {
        for t in Topic::ALL {
            self.forget(t);
        }
    }
}

/// After a change to `topic` committed: this server forgets it now, and the others when
/// they hear of it (within milliseconds; within [`TTL`] if they cannot hear).
pub async fn changed(db: &Db, caches: &Caches, topic: Topic) {
    caches.forget(topic);
    // Access decisions are cached only on SQLite's single server: nobody else to tell.
    if topic == Topic::Sharing {
        return;
    }
    if let Err(e) = sohoa_storage::changes::announce(db, topic.as_str()).await {
        // The change stands; the others see it once their entries expire.
        tracing::warn!(topic = topic.as_str(), error = %e, "a change could not be announced to the other servers");
    }
}

/// Forgets what other servers change, for as long as the returned task runs (abort it when
/// the server stops). On SQLite there are no other servers: no task.
pub async fn watch(url: &str, caches: Caches) -> Option<tokio::task::JoinHandle<()>> {
    use sohoa_storage::changes::{Heard, Listener};
    let mut ear = match Listener::connect(url).await {
        Ok(Some(l)) => l,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "not listening for other servers' changes: caches expire after their TTL");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        loop {
            match ear.next().await {
                Ok(Heard::Changed(t)) => match Topic::parse(&t) {
                    Some(topic) => caches.forget(topic),
                    None => caches.forget_all(),
                },
                Ok(Heard::Missed) => caches.forget_all(),
                Err(e) => {
                    tracing::warn!(error = %e, "listening for other servers' changes failed; retrying");
                    caches.forget_all();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }))
}
