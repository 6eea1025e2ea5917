//! Reports (phản ánh, kiến nghị): what a resident tells the city, and the rules of its
//! handling, from filing to the resident's rating.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::registry::clean_text;

/// Where a report stands. Open311 knows only `open` and `closed`; see [`Self::open311`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Open,
    Acknowledged,
    InProgress,
    Resolved,
    Closed,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 5] = [
        ReportStatus::Open,
        ReportStatus::Acknowledged,
        ReportStatus::InProgress,
        ReportStatus::Resolved,
        ReportStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "open",
            ReportStatus::Acknowledged => "acknowledged",
            ReportStatus::InProgress => "in_progress",
            ReportStatus::Resolved => "resolved",
            ReportStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Open311's status: a resolved report is closed as far as the city's answer goes.
    pub fn open311(self) -> &'static str {
        if self.is_settled() {
            "closed"
        } else {
            "open"
        }
    }

    /// Resolved or closed: the agency has answered, the deadline no longer runs.
    pub fn is_settled(self) -> bool {
        matches!(self, ReportStatus::Resolved | ReportStatus::Closed)
    }

    /// The statuses Open311's `open` or `closed` stands for.
    pub fn from_open311(s: &str) -> Option<&'static [ReportStatus]> {
        match s {
            "open" => Some(&[
                ReportStatus::Open,
                ReportStatus::Acknowledged,
                ReportStatus::InProgress,
            ]),
            "closed" => Some(&[ReportStatus::Resolved, ReportStatus::Closed]),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    #[error("a report cannot go from {from:?} to {to:?}")]
    Illegal {
        from: ReportStatus,
        to: ReportStatus,
    },
    #[error("a report is resolved only with a resolution note")]
    NoteRequired,
}

/// Whether an officer may move a report from `from` to `to`. Resolving needs a note that
/// says what was done, so a report can only be closed (which only follows resolving) with one.
pub fn check_move(
    from: ReportStatus,
    to: ReportStatus,
    note: Option<&str>,
) -> Result<(), MoveError> {
    use ReportStatus::*;
    let legal = matches!(
        (from, to),
        (Open, Acknowledged | InProgress | Resolved)
            | (Acknowledged, InProgress | Resolved)
            | (InProgress, Resolved)
            | (Resolved, Closed)
    );
    if !legal {
        return Err(MoveError::Illegal { from, to });
    }
    if to == Resolved && note.is_none() {
        return Err(MoveError::NoteRequired);
    }
    Ok(())
}

/// Whether a report can be handed to another agency: not once it is answered.
pub fn can_forward(from: ReportStatus) -> bool {
    !from.is_settled()
}

/// How long after its resolution the reporter may reopen a report, in days.
pub const REOPEN_WINDOW_DAYS: i64 = 7;
/// A new report this close to an open one of the same category is offered to join it.
pub const DUPLICATE_RADIUS_M: f64 = 150.0;
/// ... if that one was filed within this many days.
pub const DUPLICATE_WINDOW_DAYS: i64 = 30;

/// A rating from 1 (very dissatisfied) to 5 (very satisfied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Score(u8);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a rating is a whole number from 1 to 5")]
pub struct ScoreError;

impl Score {
    pub fn new(n: i64) -> Result<Self, ScoreError> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=5).contains(n))
            .map(Score)
            .ok_or(ScoreError)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// How to reach an anonymous reporter: an e-mail address or a Vietnamese phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Email(String),
    Phone(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("not an e-mail address")]
    Email,
    #[error("not a phone number: 10 digits starting with 0, or +84 and 9 digits")]
    Phone,
}

impl Contact {
    pub fn email(s: &str) -> Result<Self, ContactError> {
        let s = s.trim();
        let (local, domain) = s.split_once('@').ok_or(ContactError::Email)?;
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.contains('@');
        if ok {
            Ok(Contact::Email(s.to_lowercase()))
        } else {
            Err(ContactError::Email)
        }
    }

    /// Accepts `0912 345 678`, `0912-345-678`, `+84 912 345 678`; keeps `0912345678`.
    pub fn phone(s: &str) -> Result<Self, ContactError> {
        let compact: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let national = if let Some(rest) = compact.strip_prefix("+84") {
            format!("0{rest}")
        } else {
            compact
        };
        if national.len() == 10
            && national.starts_with('0')
            && national.chars().all(|c| c.is_ascii_digit())
        {
            Ok(Contact::Phone(national))
        } else {
            Err(ContactError::Phone)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Contact::Email(s) | Contact::Phone(s) => s,
        }
    }
}

/// A report's description: cleaned text of 1 to 4,000 characters.
pub fn description(s: &str) -> Option<String> {
    clean_text(s).filter(|d| d.chars().count() <= 4000)
}

/// A note from an officer (public answer, resolution) or a reporter (reason to reopen).
pub fn note(s: &str) -> Option<String> {
    clean_text(s).filter(|d| d.chars().count() <= 2000)
}

/// An Open311 attribute's datatype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Number,
    Datetime,
    Text,
    Singlevaluelist,
    Multivaluelist,
}

impl Datatype {
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::String => "string",
            Datatype::Number => "number",
            Datatype::Datetime => "datetime",
            Datatype::Text => "text",
            Datatype::Singlevaluelist => "singlevaluelist",
            Datatype::Multivaluelist => "multivaluelist",
        }
    }
}

/// One choice of a list attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

/// A question a category asks beyond the description (Open311's service attribute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attribute {
    pub code: String,
    /// `false` for a read-only note shown to the reporter.
    pub variable: bool,
    pub datatype: Datatype,
    pub required: bool,
    pub description: String,
    #[serde(default)]
    pub datatype_description: String,
    pub order: u32,
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

/// A kind of report (Open311's service): who handles it by default is in the routing
/// table, how long they have is here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub description: String,
    pub group: String,
    pub keywords: String,
    /// Working days the responsible agency has to resolve a report.
    pub deadline_days: u32,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute {code}: {reason}")]
pub struct AttributeError {
    pub code: String,
    pub reason: &'static str,
}

impl Category {
    /// Checks the answers given to the category's attributes (`attribute[code]=value`,
    /// repeated for a multi-value list) and keeps them in the category's order.
    pub fn answers(
        &self,
        given: &BTreeMap<String, Vec<String>>,
    ) -> Result<BTreeMap<String, serde_json::Value>, AttributeError> {
        let err = |code: &str, reason| AttributeError {
            code: code.to_owned(),
            reason,
        };
        if let Some(unknown) = given
            .keys()
            .find(|k| !self.attributes.iter().any(|a| a.variable && &a.code == *k))
        {
            return Err(err(unknown, "not an attribute of this service"));
        }
        let mut out = BTreeMap::new();
        for a in self.attributes.iter().filter(|a| a.variable) {
            let values: Vec<&str> = given
                .get(&a.code)
                .map(|v| {
                    v.iter()
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if values.is_empty() {
                if a.required {
                    return Err(err(&a.code, "is required"));
                }
                continue;
            }
            let one = || -> Result<&str, AttributeError> {
                match values[..] {
                    [v] => Ok(v),
                    _ => Err(err(&a.code, "takes one value")),
                }
            };
            let known = |v: &str| a.values.iter().any(|x| x.key == v);
            let value = match a.datatype {
                Datatype::String | Datatype::Text => {
                    let v = clean_text(one()?).ok_or_else(|| err(&a.code, "is empty"))?;
                    if v.chars().count() > 1000 {
                        return Err(err(&a.code, "is longer than 1,000 characters"));
                    }
                    serde_json::Value::String(v)
                }
                Datatype::Number => {
                    let n: f64 = one()?
                        .parse()
                        .ok()
                        .filter(|n: &f64| n.is_finite())
                        .ok_or_else(|| err(&a.code, "is not a number"))?;
                    serde_json::json!(n)
                }
                Datatype::Datetime => {
                    let v = one()?;
                    crate::Timestamp::parse(v)
                        .map_err(|_| err(&a.code, "is not an ISO 8601 time with an offset"))?;
                    serde_json::Value::String(v.to_owned())
                }
                Datatype::Singlevaluelist => {
                    let v = one()?;
                    if !known(v) {
                        return Err(err(&a.code, "is not one of the listed values"));
                    }
                    serde_json::Value::String(v.to_owned())
                }
                Datatype::Multivaluelist => {
                    if !values.iter().all(|v| known(v)) {
                        return Err(err(&a.code, "is not one of the listed values"));
                    }
                    serde_json::json!(values)
                }
            };
            out.insert(a.code.clone(), value);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReportStatus::*;

    #[test]
    fn officers_move_reports_forward_and_resolve_with_a_note() {
        assert_eq!(check_move(Open, Acknowledged, None), Ok(()));
        assert_eq!(check_move(Acknowledged, InProgress, None), Ok(()));
        assert_eq!(
            check_move(InProgress, Resolved, None),
            Err(MoveError::NoteRequired)
        );
        assert_eq!(check_move(InProgress, Resolved, Some("đã vá")), Ok(()));
        assert_eq!(check_move(Resolved, Closed, None), Ok(()));
        assert!(
            check_move(Open, Closed, Some("x")).is_err(),
            "closing skips resolving"
        );
        assert!(check_move(Closed, Open, None).is_err());
        assert!(check_move(InProgress, Acknowledged, None).is_err());
        assert!(can_forward(InProgress) && !can_forward(Resolved));
        assert_eq!(Resolved.open311(), "closed");
        assert_eq!(Acknowledged.open311(), "open");
    }

    #[test]
    fn contacts_and_scores_are_parsed() {
        assert_eq!(
            Contact::phone("+84 912 345 678"),
            Ok(Contact::Phone("0912345678".into()))
        );
        assert!(Contact::phone("12345").is_err());
        assert_eq!(
            Contact::email(" Mai@Example.vn "),
            Ok(Contact::Email("mai@example.vn".into()))
        );
        assert!(Contact::email("mai@").is_err());
        assert!(Contact::email("a b@c.vn").is_err());
        assert!(Score::new(0).is_err() && Score::new(6).is_err());
        assert_eq!(Score::new(5).map(Score::get), Ok(5));
    }

    fn category() -> Category {
        Category {
            code: "flooding".into(),
            name_vi: "Ngập nước".into(),
            name_en: "Flooding".into(),
            description: String::new(),
            group: "infrastructure".into(),
            keywords: String::new(),
            deadline_days: 2,
            attributes: vec![
                Attribute {
                    code: "depth".into(),
                    variable: true,
                    datatype: Datatype::Singlevaluelist,
                    required: true,
                    description: "Độ sâu".into(),
                    datatype_description: String::new(),
                    order: 1,
                    values: vec![
                        AttributeValue {
                            key: "ankle".into(),
                            name: "Mắt cá".into(),
                        },
                        AttributeValue {
                            key: "knee".into(),
                            name: "Đầu gối".into(),
                        },
                    ],
                },
                Attribute {
                    code: "cars".into(),
                    variable: true,
                    datatype: Datatype::Number,
                    required: false,
                    description: "Xe kẹt".into(),
                    datatype_description: String::new(),
                    order: 2,
                    values: vec![],
                },
            ],
        }
    }

    #[test]
    fn attributes_are_checked_against_the_category() {
        let c = category();
        let given = |pairs: &[(&str, &str)]| {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, v) in pairs {
                m.entry((*k).into()).or_default().push((*v).into());
            }
            m
        };
        let ok = c
            .answers(&given(&[("depth", "knee"), ("cars", "3")]))
            .unwrap();
        assert_eq!(ok["depth"], "knee");
        assert_eq!(c.answers(&given(&[])).unwrap_err().reason, "is required");
        assert!(c.answers(&given(&[("depth", "waist")])).is_err());
        assert!(c
            .answers(&given(&[("depth", "knee"), ("cars", "many")]))
            .is_err());
        assert!(c
            .answers(&given(&[("depth", "knee"), ("colour", "x")]))
            .is_err());
    }
}
