//! Once-only data sharing: which agency may read which fields of which registry, for which
//! named legal purpose. Deny unless granted.

use serde::{Deserialize, Serialize};

use crate::registry::{citizen, enterprise, parcel};
use crate::{agency::AgencyCode, TaxCode};

/// Who reads through the share endpoint: an agency, by grants and consents; or an
/// enterprise, by citizens' consents only (the law grants agencies, not companies).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Consumer {
    Agency(AgencyCode),
    Enterprise(TaxCode),
}

impl Consumer {
    pub fn agency(&self) -> Option<&AgencyCode> {
        match self {
            Consumer::Agency(a) => Some(a),
            Consumer::Enterprise(_) => None,
        }
    }

    pub fn enterprise(&self) -> Option<&TaxCode> {
        match self {
            Consumer::Enterprise(t) => Some(t),
            Consumer::Agency(_) => None,
        }
    }

    /// The agency's code or the enterprise's tax code.
    pub fn code(&self) -> &str {
        match self {
            Consumer::Agency(a) => a.as_str(),
            Consumer::Enterprise(t) => t.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistryName {
    Citizens,
    Enterprises,
    Parcels,
}

impl RegistryName {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryName::Citizens => "citizens",
            RegistryName::Enterprises => "enterprises",
            RegistryName::Parcels => "parcels",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            RegistryName::Citizens,
            RegistryName::Enterprises,
            RegistryName::Parcels,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
    /// The fields that can be granted.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            RegistryName::Citizens => citizen::FIELDS,
            RegistryName::Enterprises => enterprise::FIELDS,
            RegistryName::Parcels => parcel::FIELDS,
        }
    }
    /// The audit log's object type for one record.
    pub fn object_type(self) -> &'static str {
        match self {
            RegistryName::Citizens => "citizen",
            RegistryName::Enterprises => "enterprise",
            RegistryName::Parcels => "parcel",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SharingError {
    #[error("a purpose is 3-64 lower-case letters, digits, '-' or '_'")]
    Purpose,
    #[error("field {0:?} is not a field of this registry")]
    UnknownField(usize),
    #[error("at least one field")]
    NoFields,
    #[error("the legal basis must be 1-300 characters")]
    LegalBasis,
}

/// A named legal purpose, e.g. `building-permit`: the same string the agency states on each
/// request and the citizen sees in their access log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Purpose(String);

impl Purpose {
    pub fn parse(s: &str) -> Result<Self, SharingError> {
        let s = s.trim();
        let ok = (3..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(SharingError::Purpose);
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A sorted, duplicate-free set of fields of one registry.
pub fn parse_fields<S: AsRef<str>>(
    registry: RegistryName,
    fields: &[S],
) -> Result<Vec<&'static str>, SharingError> {
    let all = registry.fields();
    let mut out = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let f = f.as_ref().trim();
        let known = all
            .iter()
            .copied()
            .find(|a| *a == f)
            .ok_or(SharingError::UnknownField(i))?;
        if !out.contains(&known) {
            out.push(known);
        }
    }
    if out.is_empty() {
        return Err(SharingError::NoFields);
    }
    // Registry order, so equal sets look equal.
    out.sort_by_key(|f| all.iter().position(|a| a == f));
    Ok(out)
}

/// A grant as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub grant_id: i64,
    pub agency_code: AgencyCode,
    pub registry: RegistryName,
    pub purpose: Purpose,
    pub fields: Vec<String>,
    pub legal_basis: String,
    pub created_at: crate::Timestamp,
    pub revoked_at: Option<crate::Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes() {
        assert!(Purpose::parse("building-permit").is_ok());
        assert!(Purpose::parse("ho_so_2025").is_ok());
        for bad in ["", "ab", "Building permit", "xây-dựng", &"a".repeat(65)] {
            assert_eq!(Purpose::parse(bad), Err(SharingError::Purpose), "{bad:?}");
        }
    }

    #[test]
    fn fields_are_checked_deduplicated_and_ordered() {
        let f = parse_fields(
            RegistryName::Citizens,
            &["permanent_address", "full_name", "full_name"],
        );
        assert_eq!(f, Ok(vec!["full_name", "permanent_address"]));
        assert_eq!(
            parse_fields(RegistryName::Citizens, &["full_name", "salary"]),
            Err(SharingError::UnknownField(1))
        );
        assert_eq!(
            parse_fields::<&str>(RegistryName::Parcels, &[]),
            Err(SharingError::NoFields)
        );
    }
}
