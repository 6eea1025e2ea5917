//! Residents' reports of problems in the city (Open311's service requests): filed by the
//! API, the report page and Open311 alike, routed to the agency that answers them.

mod file;
pub mod photos;
pub mod public;
pub mod reports;
pub mod routing;

pub use file::{file, nearby, Filed, Filing};

/// The SHA-256 (hex) of a secret kept only as its digest (a reporter's code, a supporter's
/// contact).
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}
