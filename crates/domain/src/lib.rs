//! Domain types and rules of sohoa.
//!
//! This crate knows no HTTP, no SQL and does no I/O: it holds the values the rest of the
//! platform passes around (parsed once, valid forever after) and the pure rules over them.
//! Reference data that ships with the binary is embedded here at compile time.

pub mod agency;
pub mod audit;
pub mod counter;
pub mod feedback;
pub mod identity;
pub mod ids;
pub mod indicators;
pub mod paging;
pub mod payments;
pub mod pki;
pub mod policy;
pub mod registry;
pub mod schema;
pub mod services;
pub mod sharing;
pub mod tasks;
pub mod text;
pub mod timestamp;
pub mod totp;
pub mod units;
pub mod warnings;

pub use ids::{CitizenId, Money, ParseIdError, Sex, TaxCode, UnitCode};
pub use timestamp::Timestamp;

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Bytes of a hex string, or `None` if it is not hex.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    hex::decode(s).ok()
}
