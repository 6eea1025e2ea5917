//! The audit chain: every read of personal data and every change leaves an entry, and each
//! entry carries the SHA-256 of its predecessor and of its own content, so altering,
//! removing or reordering any entry breaks every hash after it.
//!
//! This module holds the pure rules (what an entry contains, how it is hashed, how a chain
//! is checked); storage appends entries in the transaction of the change they record.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::timestamp::Timestamp;

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Denied,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Outcome::Success, Outcome::Denied, Outcome::Failure]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// What happened, as recorded. Field order is the canonical order for hashing: never
/// reorder fields, only append new ones (and then only with a new hash version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub at: String,
    /// Who acted: `system`, `admin`, later `officer:<id>`, `agency:<code>`, `citizen:<id>`.
    pub actor: String,
    /// The administrative unit or agency the actor acted for, if any.
    pub actor_unit: Option<String>,
    /// Dotted verb, e.g. `agency.create`, `units.load`, `citizen.read`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// Names of the fields read or written.
    pub fields: Vec<String>,
    /// The legal purpose stated for a read of personal data.
    pub purpose: Option<String>,
    pub outcome: Outcome,
    pub client_addr: Option<String>,
}

impl AuditRecord {
    /// A record stamped now; the builder-style setters below fill in the optional parts.
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        object_type: impl Into<String>,
        object_id: impl AsRef<str>,
    ) -> Self {
        Self {
            at: Timestamp::now().to_string(),
            actor: actor.into(),
            actor_unit: None,
            action: action.into(),
            object_type: object_type.into(),
            object_id: object_id.as_ref().to_owned(),
            fields: Vec::new(),
            purpose: None,
            outcome: Outcome::Success,
            client_addr: None,
        }
    }
    pub fn fields<I: IntoIterator<Item = S>, S: Into<String>>(mut self, fields: I) -> Self {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }
    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }
    pub fn client_addr(mut self, addr: Option<String>) -> Self {
        self.client_addr = addr;
        self
    }
    pub fn actor_unit(mut self, unit: Option<String>) -> Self {
        self.actor_unit = unit;
        self
    }
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
}

/// An entry as stored: the record, its place in the chain and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 over the sequence number, the previous entry's hash and the canonical JSON of
/// the record, hex-encoded.
pub fn entry_hash(seq: i64, prev_hash: &str, record: &AuditRecord) -> String {
    let mut h = Sha256::new();
    h.update(b"sohoa-audit-v1\n");
    h.update(seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    // Serializing a struct of strings, options and vectors cannot fail.
    h.update(serde_json::to_vec(record).unwrap_or_default());
    hex::encode(h.finalize())
}

/// Why a chain is not intact, naming the first entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq}: content does not match its hash (altered)")]
    Altered { seq: i64 },
    #[error("entry {seq}: does not point at entry {prev}'s hash (chain broken or reordered)")]
    Unlinked { seq: i64, prev: i64 },
    #[error("entry {expected} is missing (next entry found is {found})")]
    Missing { expected: i64, found: i64 },
    #[error("the chain head says {head_seq} entries but the log ends at entry {last_seq} (entries removed from the end)")]
    Truncated { head_seq: i64, last_seq: i64 },
}

impl ChainBreak {
    /// The sequence number of the first entry that is wrong.
    pub fn seq(&self) -> i64 {
        match *self {
            ChainBreak::Altered { seq } | ChainBreak::Unlinked { seq, .. } => seq,
            ChainBreak::Missing { expected, .. } => expected,
            ChainBreak::Truncated { last_seq, .. } => last_seq + 1,
        }
    }
}

/// Checks a chain entry by entry, in order, holding only the previous hash: memory stays flat
/// however long the log is.
#[derive(Debug)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        if entry.seq != self.next_seq {
            return Err(ChainBreak::Missing {
                expected: self.next_seq,
                found: entry.seq,
            });
        }
        if entry_hash(entry.seq, &entry.prev_hash, &entry.record) != entry.hash {
            return Err(ChainBreak::Altered { seq: entry.seq });
        }
        if entry.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked {
                seq: entry.seq,
                prev: entry.seq - 1,
            });
        }
        self.next_seq += 1;
        self.prev_hash.clone_from(&entry.hash);
        Ok(())
    }

    /// Number of entries checked so far.
    pub fn checked(&self) -> i64 {
        self.next_seq - 1
    }

    /// Compares the end of the log with the recorded head, which catches entries cut off the
    /// end (the one change a hash chain alone cannot see).
    pub fn finish(&self, head_seq: i64) -> Result<i64, ChainBreak> {
        if head_seq != self.checked() {
            return Err(ChainBreak::Truncated {
                head_seq,
                last_seq: self.checked(),
            });
        }
        Ok(self.checked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let record = AuditRecord::new("system", "test.do", "thing", seq.to_string())
                    .fields(["a", "b"]);
                let hash = entry_hash(seq, &prev, &record);
                let e = AuditEntry {
                    seq,
                    record,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head: i64) -> Result<i64, ChainBreak> {
        let mut v = ChainVerifier::default();
        for e in entries {
            v.check(e)?;
        }
        v.finish(head)
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5), 5), Ok(5));
        assert_eq!(verify(&[], 0), Ok(0));
    }

    #[test]
    fn an_altered_field_is_caught_at_its_entry() {
        let mut c = chain(5);
        c[2].record.actor = "mallory".into();
        assert_eq!(verify(&c, 5), Err(ChainBreak::Altered { seq: 3 }));
    }

    #[test]
    fn a_rehashed_entry_breaks_the_next_link() {
        let mut c = chain(5);
        c[2].record.purpose = Some("none of your business".into());
        c[2].hash = entry_hash(3, &c[2].prev_hash, &c[2].record);
        assert_eq!(verify(&c, 5), Err(ChainBreak::Unlinked { seq: 4, prev: 3 }));
    }

    #[test]
    fn a_removed_entry_and_a_cut_tail_are_caught() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(
            verify(&c, 5),
            Err(ChainBreak::Missing {
                expected: 2,
                found: 3
            })
        );
        let c = chain(5);
        assert_eq!(verify(&c[..4], 5).map_err(|e| e.seq()), Err(5));
    }
}
