//! Personal data at rest: citizens' phone, email and addresses are sealed with AES-256-GCM
//! before they reach the database, under keys the database never sees.
//!
//! A sealed value is text: `v1.<key id>.<base64 of nonce ‖ ciphertext ‖ tag>`. The record's
//! identity and the column are the additional data, so a sealed value moved to another row
//! or column fails to open. A [`Keyring`] holds the key that seals (the first) and older keys
//! that still open; `sohoa keys rotate` re-seals everything under the first key, while the
//! server runs, after which older keys can be dropped.

use std::cell::RefCell;

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::{Result, StorageError};

const PREFIX: &str = "v1.";

pub struct Keyring {
    /// (id, key); the first seals.
    keys: Vec<(u32, LessSafeKey)>,
    /// Each key's check value, to recognise a wrong key before it garbles anything.
    checks: Vec<(u32, String)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u32> = self.keys.iter().map(|k| k.0).collect();
        write!(f, "Keyring {{ ids: {ids:?} }}")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyringError {
    #[error("line {0}: a key is written ID:HEX, with a positive ID and 64 hex digits")]
    Line(usize),
    #[error("key id {0} appears twice")]
    Duplicate(u32),
    #[error("no key")]
    Empty,
}

impl Keyring {
    /// Parses keys, one per line or separated by commas: `ID:HEX` (32 bytes as 64 hex
    /// digits). The first key seals; `#` starts a comment.
    pub fn parse(text: &str) -> std::result::Result<Self, KeyringError> {
        let mut keys = Vec::new();
        let mut checks = Vec::new();
        let entries = text
            .lines()
            .flat_map(|l| l.split('#').next().unwrap_or_default().split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty());
        for (i, entry) in entries.enumerate() {
            let bad = || KeyringError::Line(i + 1);
            let (id, hex_key) = entry.split_once(':').ok_or_else(bad)?;
            let id: u32 = id.trim().parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
            let bytes = hex::decode(hex_key.trim())
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(bad)?;
            if keys.iter().any(|(k, _)| *k == id) {
                return Err(KeyringError::Duplicate(id));
            }
            let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| bad())?;
            checks.push((id, check_value(&bytes)));
            keys.push((id, LessSafeKey::new(key)));
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys, checks })
    }

    /// A new random key line `ID:HEX`.
    pub fn generate_line(id: u32) -> Result<String> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| StorageError::Corrupt("no randomness for a new key".into()))?;
        Ok(format!("{id}:{}", hex::encode(bytes)))
    }

    pub fn active_id(&self) -> u32 {
        self.keys[0].0
    }

    pub fn ids(&self) -> Vec<u32> {
        self.keys.iter().map(|k| k.0).collect()
    }

    /// (id, check value) of every key: what `settings` remembers per database.
    pub fn checks(&self) -> &[(u32, String)] {
        &self.checks
    }

    /// Seals `plain` for `(context)`: the table, column and record it belongs to.
    pub fn seal(&self, context: &str, plain: &str) -> Result<String> {
        let (id, key) = &self.keys[0];
        let nonce = next_nonce()?;
        let mut buf = plain.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut buf,
        )
        .map_err(|_| StorageError::Corrupt("sealing failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}{id}.{}", B64.encode(out)))
    }

    /// Opens a sealed value; a value that is not sealed (written before encryption was on)
    /// is returned as it is.
    pub fn open(&self, context: &str, stored: &str) -> Result<String> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let corrupt = |why: &str| StorageError::Corrupt(format!("sealed {context}: {why}"));
        let (id, body) = rest.split_once('.').ok_or_else(|| corrupt("malformed"))?;
        let id: u32 = id.parse().map_err(|_| corrupt("malformed key id"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.0 == id)
            .map(|k| &k.1)
            .ok_or_else(|| StorageError::MissingKey(id))?;
        let bytes = B64.decode(body).map_err(|_| corrupt("not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(corrupt("too short"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt("bad nonce"))?;
        let mut buf = sealed.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| corrupt("does not open (wrong key, or altered)"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| corrupt("not UTF-8"))
    }

    /// Whether a stored value is sealed under the sealing key already.
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|r| r.split_once('.'))
            .is_some_and(|(id, _)| id.parse::<u32>().ok() == Some(self.active_id()))
    }
}

/// SHA-256 of a fixed label under the key, in hex: reveals nothing of the key, and tells
/// two keys apart.
fn check_value(key: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    hex::encode(&ring::hmac::sign(&k, b"sohoa data key check").as_ref()[..16])
}

/// Random 96-bit nonces, drawn from the OS in blocks: an import seals millions of values,
/// and one system call per value would cost more than the sealing.
fn next_nonce() -> Result<[u8; NONCE_LEN]> {
    const BLOCK: usize = NONCE_LEN * 256;
    thread_local! {
        static POOL: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
    }
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.1 + NONCE_LEN > p.0.len() {
            p.0.resize(BLOCK, 0);
            SystemRandom::new()
                .fill(&mut p.0)
                .map_err(|_| StorageError::Corrupt("no randomness for a nonce".into()))?;
            p.1 = 0;
        }
        let mut n = [0u8; NONCE_LEN];
        let at = p.1;
        n.copy_from_slice(&p.0[at..at + NONCE_LEN]);
        p.1 += NONCE_LEN;
        Ok(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_of(lines: &str) -> Keyring {
        Keyring::parse(lines).unwrap()
    }

    #[test]
    fn values_open_only_in_their_place_and_under_their_key() {
        let k1 = Keyring::generate_line(1).unwrap();
        let k2 = Keyring::generate_line(2).unwrap();
        let old = ring_of(&k1);
        let sealed = old
            .seal("citizens.phone:079185001234", "0903123456")
            .unwrap();
        assert!(sealed.starts_with("v1.1."));
        assert!(!sealed.contains("0903123456"));
        assert_eq!(
            old.open("citizens.phone:079185001234", &sealed).unwrap(),
            "0903123456"
        );
        // Another row or column: refused.
        assert!(old.open("citizens.phone:079185009999", &sealed).is_err());
        assert!(old.open("citizens.email:079185001234", &sealed).is_err());
        // Same value sealed twice differs (random nonces).
        assert_ne!(
            sealed,
            old.seal("citizens.phone:079185001234", "0903123456")
                .unwrap()
        );
        // A new ring seals under key 2 and still opens key 1's values.
        let new = ring_of(&format!("{k2}\n{k1}"));
        assert_eq!(
            new.open("citizens.phone:079185001234", &sealed).unwrap(),
            "0903123456"
        );
        assert!(!new.is_current(&sealed) && old.is_current(&sealed));
        assert!(new.seal("x", "y").unwrap().starts_with("v1.2."));
        // Without key 1, the value cannot be opened, and says which key is missing.
        let only2 = ring_of(&k2);
        assert!(matches!(
            only2.open("citizens.phone:079185001234", &sealed),
            Err(StorageError::MissingKey(1))
        ));
        // One altered character: refused.
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(old
            .open(
                "citizens.phone:079185001234",
                std::str::from_utf8(&altered).unwrap()
            )
            .is_err());
        // Values written before sealing was on are read as they are.
        assert_eq!(old.open("x", "plain").unwrap(), "plain");
    }

    #[test]
    fn keyrings_are_parsed_strictly() {
        let k = Keyring::generate_line(3).unwrap();
        assert_eq!(
            ring_of(&format!("# the city's data key\n{k}\n")).ids(),
            vec![3]
        );
        assert_eq!(
            ring_of(&format!("{k},{}", Keyring::generate_line(1).unwrap())).ids(),
            vec![3, 1]
        );
        assert_eq!(Keyring::parse("").unwrap_err(), KeyringError::Empty);
        assert_eq!(Keyring::parse("1:abcd").unwrap_err(), KeyringError::Line(1));
        assert_eq!(
            Keyring::parse(&format!("0:{}", &k[2..])).unwrap_err(),
            KeyringError::Line(1)
        );
        assert_eq!(
            Keyring::parse(&format!("{k}\n{k}")).unwrap_err(),
            KeyringError::Duplicate(3)
        );
        // The check value tells keys apart and does not show the key.
        let a = ring_of(&k);
        let b = ring_of(&Keyring::generate_line(3).unwrap());
        assert_ne!(a.checks()[0].1, b.checks()[0].1);
        assert!(!k.contains(&a.checks()[0].1));
        assert!(!format!("{a:?}").contains(&k[2..10]));
    }
}
