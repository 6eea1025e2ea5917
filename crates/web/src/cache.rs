//! A short-lived cache of agencies' keys and grants: the two look-ups every share request
//! makes before it reads the record itself. Entries live `TTL`; a change made through this
//! server clears the cache at once, a change made through another server of the same
//! deployment is seen within `TTL`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sohoa_domain::sharing::{Purpose, RegistryName};
use sohoa_storage::sharing::{self, StoredKey};
use sohoa_storage::{Db, Result};

pub const TTL: Duration = Duration::from_secs(5);
/// Bound on entries, so that a flood of distinct ids cannot grow memory without limit.
const MAX_ENTRIES: usize = 10_000;

type GrantKey = (String, RegistryName, String);

#[derive(Debug, Default)]
pub struct SharingCache {
    keys: Mutex<HashMap<String, (Instant, StoredKey)>>,
    grants: Mutex<HashMap<GrantKey, (Instant, Vec<String>)>>,
}

impl SharingCache {
    /// A key by its id; only keys that exist are cached.
    pub async fn key(&self, db: &Db, key_id: &str) -> Result<Option<StoredKey>> {
        if let Ok(map) = self.keys.lock() {
            if let Some((at, k)) = map.get(key_id) {
                if at.elapsed() < TTL {
                    return Ok(Some(k.clone()));
                }
            }
        }
        let found = sharing::find_key(db, key_id).await?;
        if let (Some(k), Ok(mut map)) = (&found, self.keys.lock()) {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key_id.to_owned(), (Instant::now(), k.clone()));
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
        let k: GrantKey = (agency.to_owned(), registry, purpose.as_str().to_owned());
        if let Ok(map) = self.grants.lock() {
            if let Some((at, fields)) = map.get(&k) {
                if at.elapsed() < TTL {
                    return Ok(fields.clone());
                }
            }
        }
        let fields = sharing::granted_fields(db, agency, registry, purpose).await?;
        if let Ok(mut map) = self.grants.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(k, (Instant::now(), fields.clone()));
        }
        Ok(fields)
    }

    /// Forgets everything: called after any change to keys or grants.
    pub fn clear(&self) {
        if let Ok(mut m) = self.keys.lock() {
            m.clear();
        }
        if let Ok(mut m) = self.grants.lock() {
            m.clear();
        }
    }
}
