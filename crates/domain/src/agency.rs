//! Agencies: departments of the city and People's Committees of communes. They process
//! applications, consume registry data and answer feedback; everything else hangs off them.

use serde::{Deserialize, Serialize};

use crate::ids::UnitCode;
use crate::text::fold;

/// Short stable code of an agency, e.g. `SO-TU-PHAP` or `UBND-26734`: upper-case ASCII
/// letters, digits and hyphens, 2 to 40 characters, not starting or ending with a hyphen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AgencyCode(String);

impl AgencyCode {
    pub fn parse(s: &str) -> Result<Self, AgencyError> {
        let s = s.trim();
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=40).contains(&s.len()) || !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err(AgencyError::Code);
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AgencyCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AgencyCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgencyLevel {
    /// A department or office of the city (Sở, Ban).
    City,
    /// The People's Committee of a ward, commune or special zone.
    Commune,
}

impl AgencyLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AgencyLevel::City => "city",
            AgencyLevel::Commune => "commune",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "city" => Some(AgencyLevel::City),
            "commune" => Some(AgencyLevel::Commune),
            _ => None,
        }
    }
}

/// Which rule a proposed agency breaks; each maps to an error code the client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AgencyError {
    #[error("agency code must be 2-40 upper-case letters, digits or hyphens")]
    Code,
    #[error("name must be 1-200 characters")]
    Name,
    #[error("unit code is not valid")]
    UnitCode,
}

/// An agency as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agency {
    pub code: AgencyCode,
    pub name_vi: String,
    pub name_en: String,
    pub level: AgencyLevel,
    /// The unit the agency serves: the city's code for a department, a commune's for a
    /// commune's People's Committee.
    pub unit_code: UnitCode,
}

impl Agency {
    pub fn new(
        code: &str,
        name_vi: &str,
        name_en: &str,
        level: AgencyLevel,
        unit_code: &str,
    ) -> Result<Self, AgencyError> {
        let name = |s: &str| {
            let s = s.trim();
            if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
                Err(AgencyError::Name)
            } else {
                Ok(s.to_owned())
            }
        };
        Ok(Self {
            code: AgencyCode::parse(code)?,
            name_vi: name(name_vi)?,
            name_en: name(name_en)?,
            level,
            unit_code: UnitCode::parse(unit_code).map_err(|_| AgencyError::UnitCode)?,
        })
    }

    pub fn search_text(&self) -> String {
        fold(&format!("{} {} {}", self.code, self.name_vi, self.name_en))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_codes() {
        assert!(AgencyCode::parse("SO-TU-PHAP").is_ok());
        assert!(AgencyCode::parse("UBND-26734").is_ok());
        for bad in ["", "S", "so-tu-phap", "-SO", "SO-", "SỞ", "SO TU"] {
            assert_eq!(AgencyCode::parse(bad), Err(AgencyError::Code), "{bad:?}");
        }
    }

    #[test]
    fn agency_names_are_trimmed_and_bounded() {
        let a = Agency::new(
            "SO-XAY-DUNG",
            "  Sở Xây dựng ",
            "Department of Construction",
            AgencyLevel::City,
            "79",
        );
        assert_eq!(a.map(|a| a.name_vi), Ok("Sở Xây dựng".to_owned()));
        let long = "x".repeat(201);
        assert_eq!(
            Agency::new("AB", &long, "x", AgencyLevel::City, "79"),
            Err(AgencyError::Name)
        );
        assert_eq!(
            Agency::new("AB", " ", "x", AgencyLevel::City, "79"),
            Err(AgencyError::Name)
        );
        assert_eq!(
            Agency::new("AB", "a\u{0}b", "x", AgencyLevel::City, "79"),
            Err(AgencyError::Name)
        );
        assert_eq!(
            Agency::new("AB", "x", "x", AgencyLevel::City, "7"),
            Err(AgencyError::UnitCode)
        );
    }
}
