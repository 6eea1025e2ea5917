//! An application (hồ sơ): its number, the answers to its procedure's form, and the
//! deadline that runs from receipt.
//!
//! The applicant never types what the registries hold: [`fill`] takes the registry's values
//! for every sourced field and refuses a typed value for one (the applicant flags a wrong
//! value instead); typed fields are checked against their kind.

use serde::Serialize;
use serde_json::{Map, Value};
use time::Date;

use super::calendar::Calendar;
use super::procedure::{FieldKind, Procedure};
use super::workflow::Status;
use crate::ids::{CitizenId, UnitCode};
use crate::registry::{clean_text, parse_date};
use crate::sharing::RegistryName;

/// An application's public number: `HS` and 10 characters of Crockford's base 32 (no I, L,
/// O, U), random so that numbers cannot be enumerated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ApplicationNumber(String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Whether an upper-case byte is one of [`CROCKFORD`]'s.
fn crockford_digit(c: u8) -> bool {
    matches!(c, b'0'..=b'9' | b'A'..=b'H' | b'J' | b'K' | b'M' | b'N' | b'P'..=b'T' | b'V'..=b'Z')
}

impl ApplicationNumber {
    /// A number from 50 random bits (10 base-32 characters).
    pub fn from_random(bytes: [u8; 8]) -> Self {
        let mut n = u64::from_le_bytes(bytes);
        let mut s = String::with_capacity(12);
        s.push_str("HS");
        for _ in 0..10 {
            s.push(char::from(CROCKFORD[(n & 31) as usize]));
            n >>= 5;
        }
        Self(s)
    }

    /// Read without regard to case or surrounding spaces. Checked byte by byte without a
    /// copy first: every row of every list of applications holds one.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let b = s.as_bytes();
        let ok = b.len() == 12
            && b[..2].eq_ignore_ascii_case(b"HS")
            && b[2..]
                .iter()
                .all(|&c| crockford_digit(c.to_ascii_uppercase()));
        ok.then(|| Self(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ApplicationNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A short secret shown as `XXXX-XXXX` (Crockford's base 32, 40 bits): the code that
/// shows an application's status, or that a citizen gives a digital team member. Read back
/// without regard to case or dashes; stored only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupCode(String);

impl LookupCode {
    pub fn from_random(bytes: [u8; 8]) -> Self {
        let mut n = u64::from_le_bytes(bytes);
        let mut s = String::with_capacity(8);
        for _ in 0..8 {
            s.push(char::from(CROCKFORD[(n & 31) as usize]));
            n >>= 5;
        }
        Self(s)
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s: String = s
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (s.len() == 8 && s.bytes().all(|b| CROCKFORD.contains(&b))).then_some(Self(s))
    }

    /// What is stored: the SHA-256 of the canonical form, in hex.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Display for LookupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", &self.0[..4], &self.0[4..])
    }
}

/// What is wrong with one answer; `field` is the form field's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerError {
    pub field: String,
    pub code: &'static str,
    pub detail: String,
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.detail, self.code)
    }
}

fn err(field: &str, code: &'static str, detail: impl Into<String>) -> AnswerError {
    AnswerError {
        field: field.to_owned(),
        code,
        detail: detail.into(),
    }
}

/// One answer as the application keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Answer {
    pub key: String,
    pub value: Value,
    /// Taken from the registry (locked), not typed.
    pub prefilled: bool,
}

/// A pre-filled field the applicant says is wrong, with what they say is right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Flag {
    #[schema(max_length = 40)]
    pub field: String,
    #[schema(min_length = 1, max_length = 500)]
    pub note: String,
}

/// What an application keeps sealed: the answers and the flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Content {
    pub answers: Vec<Answer>,
    pub flags: Vec<Flag>,
    /// The code that, with the number, shows the status to anyone the applicant tells.
    #[serde(default)]
    pub lookup_code: String,
}

/// Whether an answer must be complete: a draft may leave required fields empty, a
/// submission may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    Draft,
    Submission,
}

/// The registry records an application draws on: the applicant's own, and the enterprise's
/// when they apply as its legal representative.
#[derive(Debug, Clone, Default)]
pub struct Records {
    pub citizen: Map<String, Value>,
    pub enterprise: Option<Map<String, Value>>,
    /// The day the records are read for (the filing day): names of communes are those in
    /// force then.
    pub as_of: Option<time::Date>,
}

impl Records {
    /// A record's field as the answer keeps it. An address keeps its commune's code for
    /// machines and, beside it, the commune's name in force on the filing day, which is
    /// what people read (`unit_name`).
    fn field(&self, registry: RegistryName, field: &str) -> Value {
        let record = match registry {
            RegistryName::Citizens => Some(&self.citizen),
            RegistryName::Enterprises => self.enterprise.as_ref(),
            RegistryName::Parcels => None,
        };
        let mut value = record
            .and_then(|r| r.get(field))
            .cloned()
            .unwrap_or(Value::Null);
        if let (Value::Object(o), Some(day)) = (&mut value, self.as_of) {
            let name = o
                .get("unit_code")
                .and_then(Value::as_str)
                .and_then(|c| crate::UnitCode::parse(c).ok())
                .and_then(|c| crate::units::name_on(&c, day));
            if let Some(name) = name {
                o.insert("unit_name".into(), Value::String(name.to_owned()));
            }
        }
        value
    }
}

/// A pre-filled value as a person reads it: text as it is, an address as "street,
/// commune name" (the name kept with the answer, else its code), anything else as JSON.
pub fn readable(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(o) if o.contains_key("street") => {
            let part = |k: &str| o.get(k).and_then(Value::as_str);
            let street = part("street").unwrap_or_default();
            match part("unit_name").or(part("unit_code")) {
                Some(unit) => format!("{street}, {unit}"),
                None => street.to_owned(),
            }
        }
        v => v.to_string(),
    }
}

/// The form's answers: registry values for sourced fields (from the applicant's records as
/// JSON), typed values checked for the rest. Every fault is reported.
pub fn fill(
    procedure: &Procedure,
    records: &Records,
    typed: &Map<String, Value>,
    completeness: Completeness,
) -> Result<Vec<Answer>, Vec<AnswerError>> {
    let mut errors = Vec::new();
    for key in typed.keys() {
        match procedure.form.iter().find(|f| &f.key == key) {
            None => errors.push(err(key, "unknown_field", "the form has no such field")),
            Some(f) if f.source.is_some() => errors.push(err(
                key,
                "locked_field",
                "this field comes from the registry; flag it if it is wrong",
            )),
            Some(_) => {}
        }
    }
    let mut answers = Vec::with_capacity(procedure.form.len());
    for f in &procedure.form {
        if let Some(src) = &f.source {
            let value = records.field(src.registry, &src.field);
            if value.is_null() && f.required && completeness == Completeness::Submission {
                errors.push(err(
                    &f.key,
                    "missing_registry_value",
                    "the registry holds no value for this field; ask the registry office to record it",
                ));
            }
            answers.push(Answer {
                key: f.key.clone(),
                value,
                prefilled: true,
            });
            continue;
        }
        let given = typed
            .get(&f.key)
            .filter(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()));
        let Some(given) = given else {
            if f.required && completeness == Completeness::Submission {
                errors.push(err(&f.key, "required", "this field is required"));
            }
            continue;
        };
        match check_value(&f.kind, given) {
            Ok(value) => answers.push(Answer {
                key: f.key.clone(),
                value,
                prefilled: false,
            }),
            Err((code, detail)) => errors.push(err(&f.key, code, detail)),
        }
    }
    if errors.is_empty() {
        Ok(answers)
    } else {
        Err(errors)
    }
}

fn check_value(kind: &FieldKind, v: &Value) -> Result<Value, (&'static str, String)> {
    let text = || {
        v.as_str()
            .ok_or(("invalid_type", "expected text".to_owned()))
    };
    match kind {
        FieldKind::Text { max_len } => {
            let t = clean_text(text()?).ok_or(("required", "must not be empty".to_owned()))?;
            if t.chars().count() > *max_len as usize {
                return Err(("too_long", format!("at most {max_len} characters")));
            }
            if t.chars().any(char::is_control) {
                return Err(("invalid_text", "control characters are not allowed".into()));
            }
            Ok(Value::String(t))
        }
        FieldKind::Date => {
            let d = parse_date("value", text()?).map_err(|_| {
                (
                    "invalid_date",
                    "a date is YYYY-MM-DD or DD/MM/YYYY".to_owned(),
                )
            })?;
            Ok(Value::String(crate::registry::date_text(d)))
        }
        FieldKind::Integer { min, max } => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or(("invalid_type", "expected a whole number".to_owned()))?;
            if n < *min || n > *max {
                return Err(("out_of_range", format!("from {min} to {max}")));
            }
            Ok(Value::from(n))
        }
        FieldKind::Choice { options } => {
            let t = text()?.trim();
            if options.iter().any(|o| o == t) {
                Ok(Value::String(t.to_owned()))
            } else {
                Err(("invalid_choice", format!("one of: {}", options.join(", "))))
            }
        }
        FieldKind::CitizenId => CitizenId::parse(text()?)
            .map(|c| Value::String(c.to_string()))
            .map_err(|_| ("invalid_citizen_id", "a 12-digit CCCD".to_owned())),
        FieldKind::UnitCode => UnitCode::parse(text()?)
            .map(|u| Value::String(u.to_string()))
            .map_err(|_| {
                (
                    "invalid_unit_code",
                    "an administrative unit code".to_owned(),
                )
            }),
    }
}

/// The deadline of an application while it is processed: when it was received, when it is
/// due, and, while a supplement is awaited, since when the clock has been stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub received_on: Date,
    pub due_on: Date,
    pub paused_on: Option<Date>,
}

impl Deadline {
    /// Received on `day`: due `days` working days later.
    pub fn start(cal: &Calendar, day: Date, days: u32) -> Self {
        Self {
            received_on: day,
            due_on: cal.add_working_days(day, days),
            paused_on: None,
        }
    }

    /// The applicant was asked for a supplement on `day`: the clock stops.
    pub fn pause(self, day: Date) -> Self {
        Self {
            paused_on: Some(self.paused_on.unwrap_or(day)),
            ..self
        }
    }

    /// The supplement came on `day`: the working days waited are added to the deadline.
    pub fn resume(self, cal: &Calendar, day: Date) -> Self {
        match self.paused_on {
            None => self,
            Some(since) => Self {
                due_on: cal.add_working_days(self.due_on, cal.working_days_between(since, day)),
                paused_on: None,
                ..self
            },
        }
    }

    /// Overdue on `day`: the clock runs and the due day has passed.
    pub fn overdue_on(&self, day: Date) -> bool {
        self.paused_on.is_none() && day > self.due_on
    }

    /// The deadline after a move to `to` on `day`: started on receipt (`days` working days),
    /// stopped while a supplement is awaited, resumed when it comes; otherwise as it was.
    pub fn after_move(
        current: Option<Self>,
        to: Status,
        cal: &Calendar,
        day: Date,
        days: u32,
    ) -> Option<Self> {
        match (to, current) {
            (Status::Received, _) => Some(Self::start(cal, day, days)),
            (Status::SupplementRequested, Some(d)) => Some(d.pause(day)),
            (Status::Resubmitted, Some(d)) => Some(d.resume(cal, day)),
            (_, d) => d,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    fn procedure() -> Procedure {
        serde_json::from_value(json!({
            "code": "1.001193", "name_vi": "Đăng ký khai sinh", "name_en": "Birth registration",
            "level": "commune", "agency_code": null, "deadline_days": 3, "fee": null,
            "waivers": [], "documents": [],
            "form": [
                {"key": "declarant", "label_vi": "Người khai", "label_en": "Declarant",
                 "kind": {"type": "text", "max_len": 100}, "required": true,
                 "source": {"registry": "citizens", "field": "full_name"}},
                {"key": "child_name", "label_vi": "Họ tên trẻ", "label_en": "Child's name",
                 "kind": {"type": "text", "max_len": 20}, "required": true, "source": null},
                {"key": "born_on", "label_vi": "Ngày sinh", "label_en": "Born on",
                 "kind": {"type": "date"}, "required": true, "source": null},
                {"key": "order", "label_vi": "Con thứ", "label_en": "Birth order",
                 "kind": {"type": "integer", "min": 1, "max": 20}, "required": false, "source": null},
                {"key": "sex", "label_vi": "Giới tính", "label_en": "Sex",
                 "kind": {"type": "choice", "options": ["male", "female"]}, "required": true, "source": null}
            ]
        }))
        .unwrap()
    }

    fn record() -> Records {
        Records {
            citizen: json!({"full_name": "Nguyễn Thị Mai", "phone": null})
                .as_object()
                .cloned()
                .unwrap(),
            enterprise: None,
            as_of: None,
        }
    }

    #[test]
    fn an_address_is_kept_with_its_communes_name_of_the_filing_day() {
        let records = |day| Records {
            citizen: json!({"permanent_address": {"street": "12 Lê Lợi", "unit_code": "26743"}})
                .as_object()
                .cloned()
                .unwrap(),
            enterprise: None,
            as_of: Some(day),
        };
        let now = records(time::macros::date!(2026 - 01 - 05))
            .field(RegistryName::Citizens, "permanent_address");
        assert_eq!(now["unit_code"], "26743", "the code stays, for machines");
        assert_eq!(now["unit_name"], "Phường Bến Thành");
        assert_eq!(readable(&now), "12 Lê Lợi, Phường Bến Thành");
        // Before the reform the same code named another unit, or none.
        // One code, two units: 25747 was Phú Cường before the 2025 reform.
        let moved = |day| Records {
            citizen: json!({"permanent_address": {"street": "3 Yersin", "unit_code": "25747"}})
                .as_object()
                .cloned()
                .unwrap(),
            enterprise: None,
            as_of: Some(day),
        };
        let name = |day| {
            moved(day).field(RegistryName::Citizens, "permanent_address")["unit_name"].clone()
        };
        assert_eq!(
            name(time::macros::date!(2024 - 01 - 05)),
            "Phường Phú Cường"
        );
        assert_eq!(
            name(time::macros::date!(2026 - 01 - 05)),
            "Phường Thủ Dầu Một"
        );
        assert_eq!(
            readable(&json!({"street": "5 Pasteur", "unit_code": "26740"})),
            "5 Pasteur, 26740"
        );
        assert_eq!(readable(&json!("Nguyễn Thị Mai")), "Nguyễn Thị Mai");
    }

    #[test]
    fn registry_values_fill_the_form_and_typed_values_are_cleaned() {
        let typed = json!({"child_name": "  Trần  Minh An ", "born_on": "01/11/2026", "order": "2", "sex": "male"});
        let a = fill(
            &procedure(),
            &record(),
            typed.as_object().unwrap(),
            Completeness::Submission,
        )
        .unwrap();
        let get = |k: &str| a.iter().find(|x| x.key == k).unwrap();
        assert_eq!(get("declarant").value, json!("Nguyễn Thị Mai"));
        assert!(get("declarant").prefilled);
        assert_eq!(get("child_name").value, json!("Trần Minh An"));
        assert_eq!(get("born_on").value, json!("2026-11-01"));
        assert_eq!(get("order").value, json!(2));
        assert!(!get("sex").prefilled);
    }

    #[test]
    fn every_faulty_answer_is_reported() {
        let typed = json!({"declarant": "Someone Else", "nickname": "x",
            "child_name": "a name far too long for twenty", "born_on": "2026-02-30", "order": 0, "sex": "other"});
        let errs = fill(
            &procedure(),
            &record(),
            typed.as_object().unwrap(),
            Completeness::Submission,
        )
        .unwrap_err();
        let got: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            vec![
                ("declarant", "locked_field"),
                ("nickname", "unknown_field"),
                ("child_name", "too_long"),
                ("born_on", "invalid_date"),
                ("order", "out_of_range"),
                ("sex", "invalid_choice"),
            ]
        );
        // A draft may leave required fields empty; a submission may not.
        let empty = Map::new();
        assert!(fill(&procedure(), &record(), &empty, Completeness::Draft).is_ok());
        let errs = fill(&procedure(), &record(), &empty, Completeness::Submission).unwrap_err();
        assert_eq!(errs.len(), 3);
        assert!(errs.iter().all(|e| e.code == "required"));
    }

    #[test]
    fn numbers_are_random_looking_and_parse_back() {
        let n = ApplicationNumber::from_random([7, 1, 2, 3, 4, 5, 6, 0xff]);
        assert_eq!(n.as_str().len(), 12);
        assert_eq!(
            ApplicationNumber::parse(&n.as_str().to_lowercase()),
            Some(n)
        );
        for bad in [
            "",
            "HS",
            "HS0000000000X",
            "XX0000000000",
            "HS00000000I0",
            "HS00000000L0",
            "HS00000000O0",
            "HS00000000U0",
            "HS0000000é0",
            "HS00000-0000",
        ] {
            assert!(ApplicationNumber::parse(bad).is_none(), "{bad}");
        }
        // Every digit of the alphabet, in either case, with spaces around.
        for chunk in CROCKFORD.chunks(10) {
            let digits = std::str::from_utf8(chunk).unwrap();
            let text = format!(" hs{:0<10} ", digits.to_lowercase());
            let n = ApplicationNumber::parse(&text).unwrap();
            assert_eq!(n.as_str(), text.trim().to_uppercase());
        }
    }

    #[test]
    fn the_deadline_stops_while_a_supplement_is_awaited() {
        let cal = Calendar::shipped().unwrap();
        // Received Monday 2 June 2025, 5 working days: due Monday 9 June.
        let d = Deadline::start(&cal, date!(2025 - 06 - 02), 5);
        assert_eq!(d.due_on, date!(2025 - 06 - 09));
        assert!(d.overdue_on(date!(2025 - 06 - 10)) && !d.overdue_on(date!(2025 - 06 - 09)));
        // Asked for a supplement on Wednesday 4 June, it came on Wednesday 11 June: five
        // working days waited, so due Monday 16 June; never overdue while paused.
        let paused = d.pause(date!(2025 - 06 - 04));
        assert!(!paused.overdue_on(date!(2025 - 06 - 20)));
        let resumed = paused.resume(&cal, date!(2025 - 06 - 11));
        assert_eq!(resumed.due_on, date!(2025 - 06 - 16));
        assert_eq!(resumed.paused_on, None);
        // The same, move by move.
        let after = |d, to, day| Deadline::after_move(d, to, &cal, day, 5);
        let received = after(None, Status::Received, date!(2025 - 06 - 02));
        assert_eq!(received, Some(d));
        assert_eq!(
            after(received, Status::InReview, date!(2025 - 06 - 03)),
            received
        );
        let asked = after(received, Status::SupplementRequested, date!(2025 - 06 - 04));
        assert_eq!(asked, Some(paused));
        let back = after(asked, Status::Resubmitted, date!(2025 - 06 - 11));
        assert_eq!(back, Some(resumed));
        assert_eq!(after(None, Status::Submitted, date!(2025 - 06 - 02)), None);
    }
}
