//! Signatures anyone can check, without I/O: DER, reading X.509 certificates, CMS signatures
//! as PAdES and CAdES want them, RFC 3161 time-stamps, and checking a signature's path to the
//! anchors a city trusts. Keys stay with their holder: signing takes a function that signs.

pub mod cms;
pub mod der;
pub mod issue;
pub mod keywrap;
pub mod oid;
pub mod pades;
pub mod tsp;
pub mod verify;
pub mod x509;

pub use verify::{check, CertStatus, Check, Integrity, Stamp, Trust};

/// `N` random bytes from the system.
pub fn random<const N: usize>() -> Result<[u8; N], ring::error::Unspecified> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; N];
    ring::rand::SystemRandom::new().fill(&mut b)?;
    Ok(b)
}
