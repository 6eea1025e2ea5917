//! Per-client rate limiting: a token bucket per key (a client address), in memory.
//!
//! In memory means per server process: behind a load balancer each server limits on its
//! own, which bounds what one client can do to any one server — the point of the limit.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many requests a client may make: `per_second` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    pub fn per_minute(n: u32) -> Self {
        Self {
            per_second: f64::from(n) / 60.0,
            burst: f64::from(n),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets are sharded so that concurrent requests from different clients rarely wait on
/// one lock; each shard forgets full buckets once it grows large.
#[derive(Debug)]
pub struct Limiter<K> {
    rate: Option<Rate>,
    shards: Vec<Mutex<HashMap<K, Bucket>>>,
}

const SHARDS: usize = 16;
const SWEEP_ABOVE: usize = 4096;

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// `None` lets everything through.
    pub fn new(rate: Option<Rate>) -> Self {
        Self {
            rate: rate.filter(|r| r.per_second > 0.0 && r.burst >= 1.0),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    /// Takes one token for `key`; when none is left, how long until one is.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let Some(rate) = self.rate else { return Ok(()) };
        let shard = {
            use std::hash::{BuildHasher, RandomState};
            static STATE: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
            let h = STATE.get_or_init(RandomState::new).hash_one(key);
            &self.shards[(h as usize) % SHARDS]
        };
        // A poisoned lock only means another request panicked mid-update of a counter:
        // the map is still usable.
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_second < rate.burst
            });
        }
        let b = map.entry(key.clone()).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() * rate.per_second;
        b.tokens = (b.tokens + refill).min(rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate.per_second))
        }
    }
}

/// Whole seconds to put in `Retry-After` (never 0: that would invite an immediate retry).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let l = Limiter::new(Some(Rate {
            per_second: 2.0,
            burst: 3.0,
        }));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check_at(&"a", t0), Ok(()));
        }
        let wait = l.check_at(&"a", t0).unwrap_err();
        assert!((0.4..=0.5).contains(&wait.as_secs_f64()), "{wait:?}");
        // Another client is not affected.
        assert_eq!(l.check_at(&"b", t0), Ok(()));
        // Half a second later one more token has come.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.check_at(&"a", t1), Ok(()));
        assert!(l.check_at(&"a", t1).is_err());
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
    }

    #[test]
    fn no_rate_means_no_limit() {
        let l = Limiter::new(None);
        for _ in 0..10_000 {
            assert_eq!(l.check(&1), Ok(()));
        }
    }
}
