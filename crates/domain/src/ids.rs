//! Identifier newtypes whose only constructor is `parse`: once a value exists, it is valid.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid identifier. The variant names the rule that failed, so the
/// web layer can turn it into a machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    #[error("expected {expected} digits")]
    Length { expected: &'static str },
    #[error("only the digits 0-9 are allowed")]
    NotDigits,
    #[error("the check digit does not match")]
    CheckDigit,
    #[error("the province code is not a Vietnamese province")]
    Province,
    #[error("amount must be zero or more")]
    Negative,
}

fn all_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

macro_rules! string_newtype_serde {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $t {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Code of an administrative unit as assigned by the statistics office: 2 digits for a
/// province or centrally-run city, 3 for a district (until 2025-07-01), 5 for a commune-level
/// unit (ward, commune, township, special zone). A code alone does not identify a unit across
/// the 2025 reorganization: pair it with a date.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitCode(String);

impl UnitCode {
    pub fn parse(s: &str) -> Result<Self, ParseIdError> {
        let s = s.trim();
        if !all_ascii_digits(s) {
            return Err(if s.is_empty() || s.chars().count() > 5 {
                ParseIdError::Length {
                    expected: "2, 3 or 5",
                }
            } else {
                ParseIdError::NotDigits
            });
        }
        match s.len() {
            2 | 3 | 5 => Ok(Self(s.to_owned())),
            _ => Err(ParseIdError::Length {
                expected: "2, 3 or 5",
            }),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(UnitCode);

/// Number of a citizen identity card (CCCD), also the personal identification number:
/// 12 digits = 3 for the province of birth registration, 1 for sex and century, 2 for the
/// year of birth, 6 random.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CitizenId(String);

impl CitizenId {
    pub fn parse(s: &str) -> Result<Self, ParseIdError> {
        let s = s.trim();
        if s.len() != 12 && !s.is_empty() && all_ascii_digits(s) {
            return Err(ParseIdError::Length { expected: "12" });
        }
        if !all_ascii_digits(s) {
            return Err(if s.chars().count() == 12 {
                ParseIdError::NotDigits
            } else {
                ParseIdError::Length { expected: "12" }
            });
        }
        let province: u32 = s[0..3].parse().map_err(|_| ParseIdError::NotDigits)?;
        // Province codes run 001..096 (the pre-2025 list; merged provinces kept their codes).
        if !(1..=96).contains(&province) {
            return Err(ParseIdError::Province);
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The sex the number encodes in its fourth digit (even: male, odd: female).
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[3] - b'0').is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The year of birth the number encodes: the fourth digit gives the century (0-1: 1900s,
    /// 2-3: 2000s, 4-5: 2100s, 6-7: 2200s, 8-9: 1800s), the fifth and sixth the year in it.
    pub fn birth_year(&self) -> i32 {
        let b = self.0.as_bytes();
        let century = match (b[3] - b'0') / 2 {
            0 => 1900,
            1 => 2000,
            2 => 2100,
            3 => 2200,
            _ => 1800,
        };
        century + i32::from(b[4] - b'0') * 10 + i32::from(b[5] - b'0')
    }

    /// The number for a person born in `year` with `sex`, registered in `province` (1-96),
    /// with a 6-digit `serial`: what the synthetic data generator issues.
    pub fn compose(province: u16, sex: Sex, year: i32, serial: u32) -> Result<Self, ParseIdError> {
        let century_digit = match year.div_euclid(100) {
            19 => 0,
            20 => 2,
            21 => 4,
            22 => 6,
            18 => 8,
            _ => return Err(ParseIdError::Province),
        } + u8::from(sex == Sex::Female);
        Self::parse(&format!(
            "{province:03}{century_digit}{:02}{:06}",
            year.rem_euclid(100),
            serial % 1_000_000
        ))
    }
}
string_newtype_serde!(CitizenId);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
    /// Accepts `male`/`female`, `m`/`f` and Vietnamese `nam`/`nữ` (with or without diacritics).
    pub fn parse(s: &str) -> Option<Self> {
        match crate::text::fold(s).as_str() {
            "male" | "m" | "nam" => Some(Sex::Male),
            "female" | "f" | "nu" => Some(Sex::Female),
            _ => None,
        }
    }
}

// A citizen id is personal data: never print it whole in logs or debug output.
impl fmt::Debug for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CitizenId({}******{})", &self.0[..3], &self.0[9..])
    }
}

/// Enterprise tax code (mã số thuế): 10 digits whose last is a check digit, optionally
/// followed by `-` and 3 digits for a branch or dependent unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaxCode(String);

impl TaxCode {
    const WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];

    pub fn parse(s: &str) -> Result<Self, ParseIdError> {
        let s = s.trim();
        let (main, branch) = match s.split_once('-') {
            Some((m, b)) => (m, Some(b)),
            None => (s, None),
        };
        if main.len() != 10 || branch.is_some_and(|b| b.len() != 3) {
            return Err(ParseIdError::Length {
                expected: "10 (or 10-3)",
            });
        }
        if !all_ascii_digits(main) || branch.is_some_and(|b| !all_ascii_digits(b)) {
            return Err(ParseIdError::NotDigits);
        }
        let expected = Self::check_digit(main).ok_or(ParseIdError::CheckDigit)?;
        if main.as_bytes()[9] - b'0' != expected {
            return Err(ParseIdError::CheckDigit);
        }
        Ok(Self(s.to_owned()))
    }

    /// The check digit for the first nine digits, or `None` when the weighted sum leaves no
    /// valid digit (such numbers are never issued).
    pub fn check_digit(digits: &str) -> Option<u8> {
        let sum: u32 = digits
            .bytes()
            .take(9)
            .zip(Self::WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        let d = 10 - (sum % 11);
        (d < 10).then_some(d as u8)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(TaxCode);

/// An amount of Vietnamese đồng. The đồng has no minor unit, so an integer is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);
    pub fn from_dong(dong: i64) -> Result<Self, ParseIdError> {
        if dong < 0 {
            return Err(ParseIdError::Negative);
        }
        Ok(Self(dong))
    }
    pub fn dong(self) -> i64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_dong(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Money {
    /// Vietnamese grouping: 1.250.000 ₫
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push('.');
            }
            out.push(c);
        }
        write!(f, "{out} ₫")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_code_accepts_province_district_and_commune_lengths() {
        for ok in ["79", "760", "26734"] {
            assert_eq!(
                UnitCode::parse(ok).map(|c| c.to_string()),
                Ok(ok.to_owned())
            );
        }
    }

    #[test]
    fn unit_code_rejects_other_lengths_and_letters() {
        assert!(matches!(
            UnitCode::parse("7"),
            Err(ParseIdError::Length { .. })
        ));
        assert!(matches!(
            UnitCode::parse("2673"),
            Err(ParseIdError::Length { .. })
        ));
        assert!(matches!(
            UnitCode::parse("267345"),
            Err(ParseIdError::Length { .. })
        ));
        assert_eq!(UnitCode::parse("26a34"), Err(ParseIdError::NotDigits));
        assert!(UnitCode::parse("").is_err());
    }

    #[test]
    fn citizen_id_needs_twelve_digits_and_a_real_province() {
        assert!(CitizenId::parse("079203001234").is_ok());
        assert_eq!(
            CitizenId::parse("07920300123"),
            Err(ParseIdError::Length { expected: "12" })
        );
        assert_eq!(
            CitizenId::parse("07920300123x"),
            Err(ParseIdError::NotDigits)
        );
        assert_eq!(
            CitizenId::parse("000203001234"),
            Err(ParseIdError::Province)
        );
        assert_eq!(
            CitizenId::parse("099203001234"),
            Err(ParseIdError::Province)
        );
    }

    #[test]
    fn citizen_id_encodes_sex_and_birth_year() {
        let id = |s| CitizenId::parse(s).unwrap();
        assert_eq!(
            (id("079085001234").sex(), id("079085001234").birth_year()),
            (Sex::Male, 1985)
        );
        assert_eq!(
            (id("079185001234").sex(), id("079185001234").birth_year()),
            (Sex::Female, 1985)
        );
        assert_eq!(
            (id("001203001234").sex(), id("001203001234").birth_year()),
            (Sex::Male, 2003)
        );
        assert_eq!(
            (id("001303001234").sex(), id("001303001234").birth_year()),
            (Sex::Female, 2003)
        );
        assert_eq!(id("001899001234").birth_year(), 1899);
        let c = CitizenId::compose(79, Sex::Female, 2004, 123).unwrap();
        assert_eq!(c.as_str(), "079304000123");
        assert_eq!((c.sex(), c.birth_year()), (Sex::Female, 2004));
    }

    #[test]
    fn sex_parses_vietnamese_and_english() {
        assert_eq!(Sex::parse("Nữ"), Some(Sex::Female));
        assert_eq!(Sex::parse("nam"), Some(Sex::Male));
        assert_eq!(Sex::parse("F"), Some(Sex::Female));
        assert_eq!(Sex::parse("x"), None);
    }

    #[test]
    fn citizen_id_debug_hides_the_middle() {
        let id = CitizenId::parse("079203001234").ok();
        assert_eq!(format!("{id:?}"), "Some(CitizenId(079******234))");
    }

    #[test]
    fn tax_code_check_digit() {
        // 0100109106 is a well-known published tax code (Viettel).
        assert!(TaxCode::parse("0100109106").is_ok());
        assert!(TaxCode::parse("0100109106-001").is_ok());
        assert_eq!(TaxCode::parse("0100109107"), Err(ParseIdError::CheckDigit));
        assert!(matches!(
            TaxCode::parse("010010910"),
            Err(ParseIdError::Length { .. })
        ));
        assert!(matches!(
            TaxCode::parse("0100109106-01"),
            Err(ParseIdError::Length { .. })
        ));
        assert_eq!(TaxCode::parse("01001091a6"), Err(ParseIdError::NotDigits));
    }

    #[test]
    fn money_is_never_negative_and_prints_vietnamese_style() {
        assert_eq!(Money::from_dong(-1), Err(ParseIdError::Negative));
        let m = Money::from_dong(1_250_000).map(|m| m.to_string());
        assert_eq!(m, Ok("1.250.000 ₫".to_owned()));
        assert_eq!(Money::ZERO.to_string(), "0 ₫");
    }
}

/// Identifiers read as the text they hold wherever text is asked for (a query's binding, a
/// map's key, a message): the value was checked when it was made, and reading cannot
/// change it.
macro_rules! reads_as_str {
    ($($ty:ty),*) => {$(
        impl std::ops::Deref for $ty {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }
        impl std::borrow::Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }
    )*};
}

/// Like [`reads_as_str`], for identifiers with no `AsRef<str>` of their own yet.
macro_rules! as_ref_str {
    ($($ty:ty),*) => {$(
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
    )*};
}

as_ref_str!(
    crate::agency::AgencyCode,
    crate::services::procedure::ProcedureCode,
    crate::services::application::ApplicationNumber
);

reads_as_str!(
    UnitCode,
    CitizenId,
    crate::agency::AgencyCode,
    crate::services::procedure::ProcedureCode,
    crate::services::application::ApplicationNumber
);
