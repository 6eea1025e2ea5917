//! The base registries: citizens, enterprises, land parcels. Each record is parsed from raw
//! text (a CSV row, an NDJSON line, a JSON body) into a value that can only hold valid data;
//! parsing reports every field at fault, not just the first, so an import can say exactly
//! what to fix.

pub mod citizen;
pub mod enterprise;
pub mod parcel;

use serde::{Deserialize, Serialize};
use time::{macros::format_description, Date};
use unicode_normalization::UnicodeNormalization;

use crate::ids::UnitCode;

/// SHA-256 of a record's canonical JSON: equal records, equal hashes. Lets a re-import tell
/// an unchanged record from a changed one without reading it back.
pub fn content_hash<T: Serialize>(record: &T) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        serde_json::to_vec(record).unwrap_or_default(),
    ))
}

/// One rule one field broke. `code` is stable and machine-readable; `detail` says more in
/// English for logs and import reports (the web layer translates `code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub detail: String,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            field,
            code,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.detail, self.code)
    }
}

/// Collects field errors while parsing a record.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// Keeps the value, or records the error and yields `None`.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

/// Trimmed, NFC-normalized text with runs of whitespace folded to one space, or `None` when
/// blank. Vietnamese text arrives both precomposed and decomposed; storing one form makes
/// equal names equal.
pub fn clean_text(s: &str) -> Option<String> {
    // Most input is already NFC (or plain ASCII): check cheaply before rebuilding the string.
    let nfc: std::borrow::Cow<'_, str> = if s.is_ascii()
        || unicode_normalization::is_nfc_quick(s.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.nfc().collect())
    };
    let trimmed = nfc.trim();
    if trimmed.is_empty() {
        return None;
    }
    // Fast path: no runs of whitespace to fold.
    let mut prev_space = false;
    let clean = trimmed.chars().all(|c| {
        let ok = c == ' ' && !prev_space || !c.is_whitespace();
        prev_space = c == ' ';
        ok
    });
    if clean {
        return Some(trimmed.to_owned());
    }
    Some(trimmed.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Free text of 1..=max characters without control characters.
pub fn text_field(field: &'static str, s: &str, max: usize) -> Result<String, FieldError> {
    let t = clean_text(s).ok_or_else(|| FieldError::new(field, "required", "must not be empty"))?;
    if t.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid_text",
            "control characters are not allowed",
        ));
    }
    Ok(t)
}

/// A date as `YYYY-MM-DD` or as Vietnamese write it, `DD/MM/YYYY`.
pub fn parse_date(field: &'static str, s: &str) -> Result<Date, FieldError> {
    let s = s.trim();
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .or_else(|_| Date::parse(s, format_description!("[day]/[month]/[year]")))
        .ok()
        // Four-digit years only: what the stored form writes back (found by fuzzing).
        .filter(|d| (1000..=9999).contains(&d.year()))
        .ok_or(())
        .map_err(|_| {
            FieldError::new(
                field,
                "invalid_date",
                format!("{s:?} is not a date (YYYY-MM-DD)"),
            )
        })
}

/// `YYYY-MM-DD`. Written digit by digit for the years people live in: every row of every
/// list of applications writes a few.
pub fn date_text(d: Date) -> String {
    let Ok(year) = u16::try_from(d.year()) else {
        return format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    };
    if year > 9999 {
        return format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    }
    let digit = |n: u16| char::from(b'0' + (n % 10) as u8);
    let (month, day) = (u16::from(u8::from(d.month())), u16::from(d.day()));
    let mut s = String::with_capacity(10);
    for c in [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        '-',
        digit(month / 10),
        digit(month),
        '-',
        digit(day / 10),
        digit(day),
    ] {
        s.push(c);
    }
    s
}

/// Serializes a date as `YYYY-MM-DD` (records' JSON, and so their content hashes).
pub fn ser_date<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&date_text(*d))
}

pub fn unit_code(field: &'static str, s: &str) -> Result<UnitCode, FieldError> {
    let code = UnitCode::parse(s)
        .map_err(|e| FieldError::new(field, "invalid_unit_code", e.to_string()))?;
    if code.as_str().len() != 5 {
        return Err(FieldError::new(
            field,
            "invalid_unit_code",
            "a commune-level unit code has 5 digits",
        ));
    }
    Ok(code)
}

/// An address: the street part as written, and the commune-level unit it lies in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Address {
    /// House number, street, quarter: everything below the unit.
    #[schema(example = "12 Lê Lợi")]
    pub street: String,
    #[schema(value_type = String, example = "26743")]
    pub unit_code: UnitCode,
}

// No `Display`: a person reads the commune's name, which depends on the day (see
// `read_on`); a code printed where a name belongs is the mistake this prevents.

impl Address {
    /// As a person reads it on `day`: "12 Lê Lợi, Phường Bến Thành" (the commune's name in
    /// force that day; its code, should no unit bear it then).
    pub fn read_on(&self, day: time::Date) -> String {
        let unit = crate::units::name_on(&self.unit_code, day)
            .map_or_else(|| self.unit_code.to_string(), str::to_owned);
        format!("{}, {unit}", self.street)
    }

    pub fn parse(
        field: &'static str,
        unit_field: &'static str,
        street: &str,
        unit: &str,
    ) -> Result<Self, FieldError> {
        Ok(Self {
            street: text_field(field, street, 200)?,
            unit_code: unit_code(unit_field, unit)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn date_text_writes_what_format_writes() {
        for (y, m, d) in [
            (1, 1, 1),
            (999, 12, 31),
            (2026, 2, 9),
            (2026, 12, 7),
            (9999, 12, 31),
            (-5, 3, 4),
        ] {
            let date = Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
            assert_eq!(date_text(date), format!("{:04}-{:02}-{:02}", y, m, d));
        }
    }

    use super::*;

    #[test]
    fn text_is_normalized_and_bounded() {
        // "ễ" decomposed (e + circumflex + tilde) becomes the precomposed character.
        assert_eq!(
            clean_text("  Nguye\u{0302}\u{0303}n   Văn  "),
            Some("Nguyễn Văn".to_owned())
        );
        assert_eq!(clean_text(" \t "), None);
        assert_eq!(
            text_field("f", &"a".repeat(11), 10).map_err(|e| e.code),
            Err("too_long")
        );
        assert_eq!(
            text_field("f", "a\u{7}b", 10).map_err(|e| e.code),
            Err("invalid_text")
        );
    }

    #[test]
    fn dates_in_both_usual_forms() {
        let d = parse_date("d", "2025-07-01");
        assert_eq!(d, parse_date("d", "01/07/2025"));
        assert!(d.is_ok());
        assert_eq!(
            parse_date("d", "31/02/2025").map_err(|e| e.code),
            Err("invalid_date")
        );
    }
}
