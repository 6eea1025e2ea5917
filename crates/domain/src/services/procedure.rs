//! The procedure catalog (thủ tục hành chính): what a procedure asks, who decides it, in how
//! many working days, for what fee, and the form an applicant fills, field by field, saying
//! which fields the registries already know (pre-filled and locked) and which are typed.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::agency::AgencyCode;
use crate::registry::{clean_text, parse_date, Errors, FieldError};
use crate::sharing::RegistryName;
use crate::text::fold;
use crate::Money;

/// A procedure's code: the national public-service code (e.g. `1.001193`) or a city one;
/// 3–40 upper-case letters, digits, dots and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ProcedureCode(String);

impl ProcedureCode {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let ok = (3..=40).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        ok.then(|| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProcedureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which level of government decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A department of the city (the procedure names it).
    City,
    /// The People's Committee of the applicant's ward or commune.
    Commune,
}

/// What a form field holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FieldKind {
    Text { max_len: u32 },
    Date,
    Integer { min: i64, max: i64 },
    Choice { options: Vec<String> },
    CitizenId,
    UnitCode,
}

/// Where a pre-filled field comes from: a field of the applicant's own registry record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegistrySource {
    pub registry: RegistryName,
    pub field: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormField {
    /// Stable key, lower-case ASCII with underscores.
    pub key: String,
    pub label_vi: String,
    pub label_en: String,
    pub kind: FieldKind,
    pub required: bool,
    /// Set: pre-filled from the registry and locked (the applicant may flag it as wrong);
    /// unset: typed by the applicant.
    pub source: Option<RegistrySource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequiredDocument {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub required: bool,
}

/// A period in which the fee is waived (the city waives fees on over a hundred procedures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Waiver {
    /// First day, inclusive.
    #[schema(value_type = String, format = Date, example = "2025-07-01")]
    #[serde(with = "ymd")]
    pub from: Date,
    /// Last day, inclusive.
    #[schema(value_type = String, format = Date, example = "2026-12-31")]
    #[serde(with = "ymd")]
    pub until: Date,
    /// The decision that waives it.
    pub basis: String,
}

/// A procedure as the catalog holds it (one version of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "code": "1.001193", "name_vi": "Đăng ký khai sinh", "name_en": "Birth registration",
    "level": "commune", "agency_code": null, "deadline_days": 3, "fee": 8000,
    "waivers": [{"from": "2025-01-01", "until": "2027-12-31", "basis": "Nghị quyết miễn lệ phí"}],
    "documents": [{"code": "birth_certificate", "name_vi": "Giấy chứng sinh",
                   "name_en": "Birth certificate", "required": true}],
    "form": [
        {"key": "declarant", "label_vi": "Người đi khai", "label_en": "Declarant",
         "kind": {"type": "text", "max_len": 100}, "required": true,
         "source": {"registry": "citizens", "field": "full_name"}},
        {"key": "child_name", "label_vi": "Họ tên trẻ", "label_en": "Child's name",
         "kind": {"type": "text", "max_len": 100}, "required": true, "source": null}
    ]
}))]
pub struct Procedure {
    #[schema(value_type = ProcedureCode)]
    pub code: ProcedureCode,
    #[schema(max_length = 300)]
    pub name_vi: String,
    #[schema(max_length = 300)]
    pub name_en: String,
    pub level: Level,
    /// The deciding agency for city-level procedures; none for commune-level ones (the
    /// applicant's commune decides).
    #[schema(value_type = Option<AgencyCode>, example = "SO-XAY-DUNG")]
    pub agency_code: Option<AgencyCode>,
    /// Statutory time to decide, in working days from receipt.
    pub deadline_days: u32,
    /// In đồng; none means free.
    #[schema(value_type = Option<i64>)]
    pub fee: Option<Money>,
    pub waivers: Vec<Waiver>,
    pub documents: Vec<RequiredDocument>,
    pub form: Vec<FormField>,
    /// The applicant signs the form (digitally: a PAdES signature on its PDF, made remotely
    /// or in their own tool); the agency takes it in only once it is signed.
    #[serde(default)]
    pub signature_required: bool,
}

impl<'de> Deserialize<'de> for ProcedureCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ProcedureCode::parse(&s).ok_or_else(|| serde::de::Error::custom("not a procedure code"))
    }
}

/// The fee due on `day`, and the waiver that cancels it, if one is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeDue<'a> {
    pub fee: Money,
    pub waived_by: Option<&'a Waiver>,
}

impl FeeDue<'_> {
    /// What the applicant pays.
    pub fn payable(&self) -> Money {
        if self.waived_by.is_some() {
            Money::ZERO
        } else {
            self.fee
        }
    }
}

fn is_key(k: &str) -> bool {
    (1..=40).contains(&k.len())
        && k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Procedure {
    /// Checks every rule of a catalog entry, reporting all that fail.
    pub fn check(self) -> Result<Self, Vec<FieldError>> {
        let mut errs = Errors::default();
        let name = |field: &'static str, s: &str| match clean_text(s) {
            Some(t) if t.chars().count() <= 300 => Ok(t),
            _ => Err(FieldError::new(field, "invalid", "1 to 300 characters")),
        };
        let name_vi = errs.take(name("name_vi", &self.name_vi));
        let name_en = errs.take(name("name_en", &self.name_en));
        self.check_agency(&mut errs);
        if !(1..=365).contains(&self.deadline_days) {
            errs.take::<()>(Err(FieldError::new(
                "deadline_days",
                "invalid",
                "1 to 365 working days",
            )));
        }
        self.check_waivers(&mut errs);
        self.check_documents(&mut errs);
        self.check_form(&mut errs);
        if !errs.is_empty() {
            return Err(errs.into_vec());
        }
        Ok(Self {
            name_vi: name_vi.unwrap_or_default(),
            name_en: name_en.unwrap_or_default(),
            ..self
        })
    }

    /// A city-level procedure names its deciding agency; a commune-level one does not.
    fn check_agency(&self, errs: &mut Errors) {
        match (self.level, &self.agency_code) {
            (Level::City, None) => errs.take::<()>(Err(FieldError::new(
                "agency_code",
                "required",
                "a city-level procedure names its agency",
            ))),
            (Level::Commune, Some(_)) => errs.take::<()>(Err(FieldError::new(
                "agency_code",
                "invalid",
                "a commune-level procedure is decided by the applicant's commune",
            ))),
            _ => Some(()),
        };
    }

    /// Each waiver ends after it starts and names its basis, and only a fee is waived.
    fn check_waivers(&self, errs: &mut Errors) {
        for w in &self.waivers {
            if w.until < w.from || clean_text(&w.basis).is_none() {
                errs.take::<()>(Err(FieldError::new(
                    "waivers",
                    "invalid",
                    format!(
                        "a waiver ends after it starts and names its basis ({})",
                        w.from
                    ),
                )));
            }
        }
        if self.fee.is_none() && !self.waivers.is_empty() {
            errs.take::<()>(Err(FieldError::new(
                "waivers",
                "invalid",
                "a free procedure has nothing to waive",
            )));
        }
    }

    /// Each required document has a key-like code and names in both languages.
    fn check_documents(&self, errs: &mut Errors) {
        for d in &self.documents {
            if !is_key(&d.code)
                || clean_text(&d.name_vi).is_none()
                || clean_text(&d.name_en).is_none()
            {
                errs.take::<()>(Err(FieldError::new(
                    "documents",
                    "invalid",
                    format!(
                        "document {:?}: a lower-case code and names in both languages",
                        d.code
                    ),
                )));
            }
        }
    }

    /// Each form field: a unique key, labels in both languages, a sensible kind, and a
    /// prefill source the registry has.
    fn check_form(&self, errs: &mut Errors) {
        let mut keys = std::collections::HashSet::new();
        for f in &self.form {
            let bad =
                |why: &str| FieldError::new("form", "invalid", format!("field {:?}: {why}", f.key));
            if !is_key(&f.key) {
                errs.take::<()>(Err(bad("the key is lower-case letters, digits and _")));
            }
            if !keys.insert(f.key.clone()) {
                errs.take::<()>(Err(bad("the key appears twice")));
            }
            if clean_text(&f.label_vi).is_none() || clean_text(&f.label_en).is_none() {
                errs.take::<()>(Err(bad("a label in both languages")));
            }
            match &f.kind {
                FieldKind::Text { max_len } if !(1..=4000).contains(max_len) => {
                    errs.take::<()>(Err(bad("text fields hold 1 to 4000 characters")));
                }
                FieldKind::Integer { min, max } if min > max => {
                    errs.take::<()>(Err(bad("min is above max")));
                }
                FieldKind::Choice { options } if options.is_empty() => {
                    errs.take::<()>(Err(bad("a choice needs options")));
                }
                _ => {}
            }
            if let Some(src) = &f.source {
                if !src.registry.fields().contains(&src.field.as_str()) {
                    errs.take::<()>(Err(bad("the registry has no such field")));
                }
            }
        }
    }

    /// The fee due on `day`.
    pub fn fee_on(&self, day: Date) -> Option<FeeDue<'_>> {
        self.fee.map(|fee| FeeDue {
            fee,
            waived_by: self
                .waivers
                .iter()
                .find(|w| w.from <= day && day <= w.until),
        })
    }

    /// What the catalog search matches: code and both names, folded.
    pub fn search_text(&self) -> String {
        fold(&format!("{} {} {}", self.code, self.name_vi, self.name_en))
    }
}

/// Days as `YYYY-MM-DD` both ways.
mod ymd {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        crate::registry::ser_date(d, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_date("date", &s).map_err(|_| serde::de::Error::custom("a date is YYYY-MM-DD"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn sample() -> Procedure {
        serde_json::from_value(serde_json::json!({
            "code": "1.001193",
            "name_vi": "Đăng ký khai sinh",
            "name_en": "Birth registration",
            "level": "commune",
            "agency_code": null,
            "deadline_days": 1,
            "fee": 8000,
            "waivers": [{"from": "2025-07-01", "until": "2026-12-31", "basis": "Nghị quyết HĐND TP"}],
            "documents": [{"code": "birth_certificate", "name_vi": "Giấy chứng sinh", "name_en": "Birth certificate", "required": true}],
            "form": [
                {"key": "parent_name", "label_vi": "Họ tên người đi khai", "label_en": "Declarant's name",
                 "kind": {"type": "text", "max_len": 100}, "required": true,
                 "source": {"registry": "citizens", "field": "full_name"}},
                {"key": "child_name", "label_vi": "Họ tên trẻ", "label_en": "Child's name",
                 "kind": {"type": "text", "max_len": 100}, "required": true, "source": null}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_good_entry_passes_and_its_fee_is_waived_in_the_waiver_period() {
        let p = sample().check().unwrap();
        let due = p.fee_on(date!(2025 - 08 - 01)).unwrap();
        assert_eq!((due.fee.dong(), due.payable().dong()), (8000, 0));
        assert!(due.waived_by.is_some());
        let due = p.fee_on(date!(2027 - 01 - 01)).unwrap();
        assert_eq!(due.payable().dong(), 8000);
        assert!(p.search_text().contains("dang ky khai sinh"));
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let mut p = sample();
        p.level = Level::City;
        p.deadline_days = 0;
        p.waivers[0].until = date!(2025 - 01 - 01);
        p.form[1].key = "Child Name".into();
        p.form[0].source = Some(RegistrySource {
            registry: RegistryName::Citizens,
            field: "salary".into(),
        });
        let errs = p.check().unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec!["agency_code", "deadline_days", "waivers", "form", "form"],
            "{errs:?}"
        );
        assert!(ProcedureCode::parse("1.001193").is_some());
        assert!(ProcedureCode::parse("HT-01").is_some());
        for bad in ["", "ab", "1 001", ".123", "ĐK-01"] {
            assert!(ProcedureCode::parse(bad).is_none(), "{bad}");
        }
    }
}
