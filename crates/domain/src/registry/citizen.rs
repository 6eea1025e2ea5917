//! Citizens: identified by their CCCD, with name, birth, sex, residence and contacts.

use serde::{Deserialize, Serialize};
use time::Date;

use super::{clean_text, parse_date, text_field, Address, Errors, FieldError};
use crate::ids::{CitizenId, Sex};

/// Fields of a citizen record an agency can be granted, in a fixed order.
pub const FIELDS: &[&str] = &[
    "full_name",
    "date_of_birth",
    "sex",
    "permanent_address",
    "temporary_address",
    "household_id",
    "phone",
    "email",
];

/// A citizen's record as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Citizen {
    pub citizen_id: CitizenId,
    pub full_name: String,
    #[serde(serialize_with = "super::ser_date")]
    pub date_of_birth: Date,
    pub sex: Sex,
    pub permanent_address: Address,
    pub temporary_address: Option<Address>,
    pub household_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A citizen as it arrives: every value still text. Column names of the CSV import.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenInput {
    pub citizen_id: String,
    pub full_name: String,
    pub date_of_birth: String,
    pub sex: String,
    pub permanent_street: String,
    pub permanent_unit: String,
    #[serde(default)]
    pub temporary_street: String,
    #[serde(default)]
    pub temporary_unit: String,
    #[serde(default)]
    pub household_id: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

/// The CSV header of a citizens file.
pub const CSV_HEADER: &[&str] = &[
    "citizen_id",
    "full_name",
    "date_of_birth",
    "sex",
    "permanent_street",
    "permanent_unit",
    "temporary_street",
    "temporary_unit",
    "household_id",
    "phone",
    "email",
];

/// A person's full name: letters (with Vietnamese diacritics), spaces, hyphens, apostrophes
/// and dots; 2 to 100 characters.
pub fn parse_name(field: &'static str, s: &str) -> Result<String, FieldError> {
    let name = text_field(field, s, 100)?;
    let ok = name
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'));
    if !ok || name.chars().filter(|c| c.is_alphabetic()).count() < 2 {
        return Err(FieldError::new(
            field,
            "invalid_name",
            "letters, spaces, hyphens and apostrophes only",
        ));
    }
    Ok(name)
}

/// A Vietnamese phone number, stored in its national form `0xxxxxxxxx`; `+84` and spaces,
/// dots and dashes are accepted on input.
pub fn parse_phone(field: &'static str, s: &str) -> Result<String, FieldError> {
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let national = match digits
        .strip_prefix("+84")
        .or_else(|| digits.strip_prefix("84").filter(|r| r.len() == 9))
    {
        Some(rest) => format!("0{rest}"),
        None => digits,
    };
    let valid = national.len() == 10
        && national.starts_with('0')
        && national.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(FieldError::new(
            field,
            "invalid_phone",
            "a Vietnamese number has 10 digits starting with 0 (or +84)",
        ));
    }
    Ok(national)
}

/// An e-mail address: one `@`, a local part, and a domain with a dot; stored in lower case.
pub fn parse_email(field: &'static str, s: &str) -> Result<String, FieldError> {
    let s = s.trim().to_lowercase();
    let valid = match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && s.len() <= 254
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains('@')
        }
        None => false,
    };
    if !valid {
        return Err(FieldError::new(
            field,
            "invalid_email",
            "not an e-mail address",
        ));
    }
    Ok(s)
}

/// A household code: 1 to 20 upper-case letters, digits or hyphens.
pub fn parse_household(field: &'static str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty()
        || s.len() > 20
        || !s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(FieldError::new(
            field,
            "invalid_household",
            "1-20 upper-case letters, digits or hyphens",
        ));
    }
    Ok(s.to_owned())
}

fn optional<T>(
    s: &str,
    f: impl FnOnce(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        f(s).map(Some)
    }
}

/// A date of birth: a date, not in the future, not before 1880.
fn parse_birth_date(s: &str, today: Date) -> Result<Date, FieldError> {
    parse_date("date_of_birth", s).and_then(|d| {
        if d > today {
            Err(FieldError::new(
                "date_of_birth",
                "future_date",
                "the date of birth is in the future",
            ))
        } else if d.year() < 1880 {
            Err(FieldError::new(
                "date_of_birth",
                "invalid_date",
                "the date of birth is before 1880",
            ))
        } else {
            Ok(d)
        }
    })
}

/// The temporary address, checked only when either of its fields is filled.
fn parse_temporary(input: &CitizenInput, errs: &mut Errors) -> Option<Address> {
    match (
        clean_text(&input.temporary_street),
        clean_text(&input.temporary_unit),
    ) {
        (None, None) => None,
        _ => errs.take(Address::parse(
            "temporary_street",
            "temporary_unit",
            &input.temporary_street,
            &input.temporary_unit,
        )),
    }
}

/// Records where the CCCD disagrees with the record's birth year or sex (of those that
/// parsed).
fn check_id_agrees(id: &CitizenId, dob: Option<Date>, sex: Option<Sex>, errs: &mut Errors) {
    if let Some(dob) = dob {
        if id.birth_year() != dob.year() {
            errs.push(FieldError::new(
                "citizen_id",
                "citizen_id_mismatch",
                format!(
                    "the CCCD encodes birth year {}, the record says {}",
                    id.birth_year(),
                    dob.year()
                ),
            ));
        }
    }
    if let Some(sex) = sex {
        if id.sex() != sex {
            errs.push(FieldError::new(
                "citizen_id",
                "citizen_id_mismatch",
                format!(
                    "the CCCD encodes sex {}, the record says {}",
                    id.sex().as_str(),
                    sex.as_str()
                ),
            ));
        }
    }
}

impl Citizen {
    /// Parses a citizen, checking every field and that the CCCD agrees with the recorded
    /// birth year and sex. `today` bounds the birth date.
    pub fn parse(input: &CitizenInput, today: Date) -> Result<Self, Vec<FieldError>> {
        let mut errs = Errors::default();
        let id = errs.take(
            CitizenId::parse(&input.citizen_id)
                .map_err(|e| FieldError::new("citizen_id", "invalid_citizen_id", e.to_string())),
        );
        let full_name = errs.take(parse_name("full_name", &input.full_name));
        let dob = errs.take(parse_birth_date(&input.date_of_birth, today));
        let sex = errs
            .take(Sex::parse(&input.sex).ok_or_else(|| {
                FieldError::new("sex", "invalid_sex", "male or female (nam or nữ)")
            }));
        let permanent = errs.take(Address::parse(
            "permanent_street",
            "permanent_unit",
            &input.permanent_street,
            &input.permanent_unit,
        ));
        let temporary = parse_temporary(input, &mut errs);
        let household_id = errs
            .take(optional(&input.household_id, |s| {
                parse_household("household_id", s)
            }))
            .flatten();
        let phone = errs
            .take(optional(&input.phone, |s| parse_phone("phone", s)))
            .flatten();
        let email = errs
            .take(optional(&input.email, |s| parse_email("email", s)))
            .flatten();
        if let Some(id) = &id {
            check_id_agrees(id, dob, sex, &mut errs);
        }
        match (id, full_name, dob, sex, permanent) {
            (
                Some(citizen_id),
                Some(full_name),
                Some(date_of_birth),
                Some(sex),
                Some(permanent_address),
            ) if errs.is_empty() => Ok(Citizen {
                citizen_id,
                full_name,
                date_of_birth,
                sex,
                permanent_address,
                temporary_address: temporary,
                household_id,
                phone,
                email,
            }),
            _ => Err(errs.into_vec()),
        }
    }

    /// Units the record refers to, which must exist when it is stored.
    pub fn unit_codes(&self) -> impl Iterator<Item = (&'static str, &crate::UnitCode)> {
        std::iter::once(("permanent_unit", &self.permanent_address.unit_code)).chain(
            self.temporary_address
                .as_ref()
                .map(|a| ("temporary_unit", &a.unit_code)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 23);

    fn input() -> CitizenInput {
        CitizenInput {
            citizen_id: "079185001234".into(),
            full_name: "Nguyễn Thị Mai".into(),
            date_of_birth: "1985-03-14".into(),
            sex: "nữ".into(),
            permanent_street: "12 Lê Lợi".into(),
            permanent_unit: "26743".into(),
            phone: "+84 912 345 678".into(),
            email: "Mai.Nguyen@Example.VN".into(),
            ..Default::default()
        }
    }

    fn codes(i: &CitizenInput) -> Vec<(&'static str, &'static str)> {
        Citizen::parse(i, TODAY)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn a_valid_citizen_parses_and_normalizes() {
        let c = Citizen::parse(&input(), TODAY).unwrap();
        assert_eq!(c.phone.as_deref(), Some("0912345678"));
        assert_eq!(c.email.as_deref(), Some("mai.nguyen@example.vn"));
        assert_eq!(c.sex, Sex::Female);
        assert_eq!(c.temporary_address, None);
    }

    #[test]
    fn the_cccd_must_agree_with_birth_year_and_sex() {
        let mut i = input();
        i.date_of_birth = "1986-03-14".into();
        assert_eq!(codes(&i), vec![("citizen_id", "citizen_id_mismatch")]);
        let mut i = input();
        i.sex = "nam".into();
        assert_eq!(codes(&i), vec![("citizen_id", "citizen_id_mismatch")]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let i = CitizenInput {
            citizen_id: "07918500123".into(),
            full_name: "X1".into(),
            date_of_birth: "2030-01-01".into(),
            sex: "?".into(),
            permanent_street: "".into(),
            permanent_unit: "267".into(),
            temporary_street: "1 Nguyễn Huệ".into(),
            temporary_unit: "".into(),
            household_id: "hh 1".into(),
            phone: "12345".into(),
            email: "nobody".into(),
        };
        assert_eq!(
            codes(&i),
            vec![
                ("citizen_id", "invalid_citizen_id"),
                ("full_name", "invalid_name"),
                ("date_of_birth", "future_date"),
                ("sex", "invalid_sex"),
                ("permanent_street", "required"),
                ("temporary_unit", "invalid_unit_code"),
                ("household_id", "invalid_household"),
                ("phone", "invalid_phone"),
                ("email", "invalid_email"),
            ]
        );
    }

    #[test]
    fn phones() {
        assert_eq!(parse_phone("p", "0912.345.678"), Ok("0912345678".into()));
        assert_eq!(parse_phone("p", "84912345678"), Ok("0912345678".into()));
        assert!(parse_phone("p", "091234567").is_err());
        assert!(parse_phone("p", "+1 212 555 0100").is_err());
    }
}
