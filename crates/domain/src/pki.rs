//! The city's certificates as people name them: by serial number, revoked for a reason.

use serde::{Deserialize, Serialize};

/// A certificate's serial number: hex, upper case, without a leading zero byte; at most 20
/// bytes (RFC 5280 4.1.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CertificateSerial(String);

impl CertificateSerial {
    /// From hex (either case, `:` separators allowed as openssl prints them).
    pub fn parse(s: &str) -> Option<Self> {
        let hex: String = s
            .trim()
            .chars()
            .filter(|c| *c != ':')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let hex = hex.trim_start_matches("00");
        let ok = !hex.is_empty()
            && hex.len() <= 40
            && hex.len().is_multiple_of(2)
            && hex.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Self(hex.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CertificateSerial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CertificateSerial {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("not a certificate serial: {s:?}"))
    }
}

impl From<CertificateSerial> for String {
    fn from(s: CertificateSerial) -> Self {
        s.0
    }
}

/// Why a certificate was revoked (the reasons of RFC 5280 5.3.1 a city uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// The key may be in someone else's hands: signatures by it are no longer trusted.
    KeyCompromise,
    /// Replaced by a new certificate.
    Superseded,
    /// The holder no longer exists (an agency merged away).
    CessationOfOperation,
    /// The holder's details in it changed.
    AffiliationChanged,
}

impl RevocationReason {
    pub const ALL: [Self; 4] = [
        Self::KeyCompromise,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::AffiliationChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyCompromise => "key_compromise",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessation_of_operation",
            Self::AffiliationChanged => "affiliation_changed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().replace('-', "_");
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        assert_eq!(
            CertificateSerial::parse("00:1a:2B").map(|s| s.to_string()),
            Some("1A2B".into())
        );
        assert!(CertificateSerial::parse("").is_none());
        assert!(CertificateSerial::parse("ABC").is_none());
        assert!(CertificateSerial::parse("XY").is_none());
        assert!(CertificateSerial::parse(&"AB".repeat(21)).is_none());
    }

    #[test]
    fn reasons() {
        assert_eq!(
            RevocationReason::parse("key-compromise"),
            Some(RevocationReason::KeyCompromise)
        );
        assert_eq!(RevocationReason::parse("lost"), None);
    }
}
