//! Socio-economic indicators (chỉ tiêu kinh tế - xã hội): their catalog, periods, derived
//! formulas, and the rules an entered value must meet.
//!
//! A value is entered for an indicator × period × administrative unit, checked against the
//! indicator's range (outside it: refused) and against the previous period (a change
//! beyond the threshold: accepted but flagged for the reviewer), then approved or
//! rejected by a leader; every entry is a revision kept with who and when.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::agency::AgencyCode;

/// An indicator's code: upper-case letters, digits, `_`, 2 to 32 characters, starting
/// with a letter (an SDMX code id, and safe in a URL path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct IndicatorCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an indicator code has 2-32 upper-case letters, digits or _, starting with a letter")]
pub struct CodeError;

impl IndicatorCode {
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let s = s.trim();
        let ok = (2..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(CodeError)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for IndicatorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IndicatorCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for IndicatorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Periodicity {
    Month,
    Quarter,
    Year,
}

impl Periodicity {
    /// Periods in a year: the season length of the series.
    pub fn per_year(self) -> u32 {
        match self {
            Periodicity::Month => 12,
            Periodicity::Quarter => 4,
            Periodicity::Year => 1,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Periodicity::Month => "month",
            Periodicity::Quarter => "quarter",
            Periodicity::Year => "year",
        }
    }
    /// SDMX's code for the frequency.
    pub fn sdmx(self) -> &'static str {
        match self {
            Periodicity::Month => "M",
            Periodicity::Quarter => "Q",
            Periodicity::Year => "A",
        }
    }
}

/// A reporting period, written as SDMX and ISO 8601 write them: `2025-03`, `2025-Q1`,
/// `2025`. Ordered in time within one periodicity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    /// Month 1-12, quarter 1-4, or 1 for a year.
    index: u8,
    periodicity: Periodicity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a period is written 2025-03 (month), 2025-Q1 (quarter) or 2025 (year)")]
pub struct PeriodError;

impl Period {
    pub fn parse(s: &str) -> Result<Self, PeriodError> {
        let s = s.trim();
        let year = |y: &str| -> Result<i32, PeriodError> {
            let n: i32 = (y.len() == 4)
                .then(|| y.parse().ok())
                .flatten()
                .ok_or(PeriodError)?;
            if (1900..=2999).contains(&n) {
                Ok(n)
            } else {
                Err(PeriodError)
            }
        };
        let small = |d: &str, max: u8| -> Result<u8, PeriodError> {
            let n: u8 = d
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| d.parse().ok())
                .flatten()
                .ok_or(PeriodError)?;
            if (1..=max).contains(&n) {
                Ok(n)
            } else {
                Err(PeriodError)
            }
        };
        match s.split_once('-') {
            None => Ok(Self {
                year: year(s)?,
                index: 1,
                periodicity: Periodicity::Year,
            }),
            Some((y, q)) if q.starts_with('Q') && q.len() == 2 => Ok(Self {
                year: year(y)?,
                index: small(&q[1..], 4)?,
                periodicity: Periodicity::Quarter,
            }),
            Some((y, m)) if m.len() == 2 => Ok(Self {
                year: year(y)?,
                index: small(m, 12)?,
                periodicity: Periodicity::Month,
            }),
            Some(_) => Err(PeriodError),
        }
    }

    pub fn periodicity(self) -> Periodicity {
        self.periodicity
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// Periods since the year 0 of this periodicity: consecutive periods differ by one.
    pub fn ordinal(self) -> i64 {
        i64::from(self.year) * i64::from(self.periodicity.per_year()) + i64::from(self.index) - 1
    }

    /// The period `n` steps after this one (before, for negative `n`).
    pub fn shift(self, n: i64) -> Self {
        let per = i64::from(self.periodicity.per_year());
        let o = self.ordinal() + n;
        Self {
            year: o.div_euclid(per) as i32,
            index: (o.rem_euclid(per) + 1) as u8,
            periodicity: self.periodicity,
        }
    }

    /// The same period a year earlier (growth's denominator).
    pub fn a_year_before(self) -> Self {
        self.shift(-i64::from(self.periodicity.per_year()))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.periodicity {
            Periodicity::Year => write!(f, "{:04}", self.year),
            Periodicity::Quarter => write!(f, "{:04}-Q{}", self.year, self.index),
            Periodicity::Month => write!(f, "{:04}-{:02}", self.year, self.index),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// How a derived indicator is computed from others, written `ratio(A, B)`,
/// `ratio(A, B, 1000)` (A / B × 1000, e.g. per thousand people) or `growth(A)` (A over the
/// same period a year before, minus one).
#[derive(Debug, Clone, PartialEq)]
pub enum Formula {
    Ratio {
        numerator: IndicatorCode,
        denominator: IndicatorCode,
        scale: f64,
    },
    Growth {
        of: IndicatorCode,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a formula is ratio(A, B), ratio(A, B, scale) or growth(A), with indicator codes")]
pub struct FormulaError;

impl Formula {
    pub fn parse(s: &str) -> Result<Self, FormulaError> {
        let s = s.trim();
        let (name, rest) = s.split_once('(').ok_or(FormulaError)?;
        let args: Vec<&str> = rest
            .strip_suffix(')')
            .ok_or(FormulaError)?
            .split(',')
            .map(str::trim)
            .collect();
        let code = |a: &str| IndicatorCode::parse(a).map_err(|_| FormulaError);
        match (name.trim(), args.as_slice()) {
            ("ratio", [a, b]) => Ok(Formula::Ratio {
                numerator: code(a)?,
                denominator: code(b)?,
                scale: 1.0,
            }),
            ("ratio", [a, b, k]) => {
                let scale: f64 = k.parse().map_err(|_| FormulaError)?;
                if !scale.is_finite() || scale <= 0.0 {
                    return Err(FormulaError);
                }
                Ok(Formula::Ratio {
                    numerator: code(a)?,
                    denominator: code(b)?,
                    scale,
                })
            }
            ("growth", [a]) => Ok(Formula::Growth { of: code(a)? }),
            _ => Err(FormulaError),
        }
    }

    /// The indicators it reads.
    pub fn inputs(&self) -> Vec<&IndicatorCode> {
        match self {
            Formula::Ratio {
                numerator,
                denominator,
                ..
            } => vec![numerator, denominator],
            Formula::Growth { of } => vec![of],
        }
    }

    /// The value for a period from the inputs' values there (`at(code, period)`), `None`
    /// when an input is missing or the division is by zero.
    pub fn eval(
        &self,
        period: Period,
        at: impl Fn(&IndicatorCode, Period) -> Option<f64>,
    ) -> Option<f64> {
        let v = match self {
            Formula::Ratio {
                numerator,
                denominator,
                scale,
            } => {
                let d = at(denominator, period)?;
                (d != 0.0).then_some(())?;
                at(numerator, period)? / d * scale
            }
            Formula::Growth { of } => {
                let before = at(of, period.a_year_before())?;
                (before != 0.0).then_some(())?;
                at(of, period)? / before - 1.0
            }
        };
        v.is_finite().then_some(v)
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Formula::Ratio {
                numerator,
                denominator,
                scale,
            } if *scale == 1.0 => write!(f, "ratio({numerator}, {denominator})"),
            Formula::Ratio {
                numerator,
                denominator,
                scale,
            } => write!(f, "ratio({numerator}, {denominator}, {scale})"),
            Formula::Growth { of } => write!(f, "growth({of})"),
        }
    }
}

impl Serialize for Formula {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Formula {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Formula::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where an indicator's values come from: fed by a system (digital) or entered by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    System,
    Manual,
}

/// The city's targets for the share of digital indicators: half by 2025, all by 2030.
pub const DIGITAL_TARGETS: [(i32, f64); 2] = [(2025, 0.5), (2030, 1.0)];

/// What an entered value must meet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Values below are refused.
    pub min: Option<f64>,
    /// Values above are refused.
    pub max: Option<f64>,
    /// A relative change from the previous period beyond this (0.2 = 20%) is flagged for
    /// the reviewer's attention.
    pub max_change: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("not a finite number")]
    NotFinite,
    #[error("below the minimum {0}")]
    BelowMin(f64),
    #[error("above the maximum {0}")]
    AboveMax(f64),
}

impl Rules {
    pub fn is_consistent(&self) -> bool {
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        finite(self.min)
            && finite(self.max)
            && finite(self.max_change)
            && self.max_change.is_none_or(|c| c > 0.0)
            && match (self.min, self.max) {
                (Some(a), Some(b)) => a <= b,
                _ => true,
            }
    }

    /// Refuses a value out of range; otherwise a [`Jump`] when the change from `previous`
    /// exceeds the threshold (a flag for review, not a refusal).
    pub fn check(&self, value: f64, previous: Option<f64>) -> Result<Option<Jump>, ValueError> {
        if !value.is_finite() {
            return Err(ValueError::NotFinite);
        }
        if let Some(min) = self.min.filter(|m| value < *m) {
            return Err(ValueError::BelowMin(min));
        }
        if let Some(max) = self.max.filter(|m| value > *m) {
            return Err(ValueError::AboveMax(max));
        }
        let (Some(limit), Some(prev)) = (self.max_change, previous) else {
            return Ok(None);
        };
        if prev == 0.0 {
            return Ok((value != 0.0).then_some(Jump { change: None }));
        }
        let change = (value - prev) / prev.abs();
        Ok((change.abs() > limit).then_some(Jump {
            change: Some(change),
        }))
    }
}

/// A change from the previous period beyond the indicator's threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jump {
    /// Relative to the previous value; `None` when that was zero.
    pub change: Option<f64>,
}

/// An indicator of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    pub code: IndicatorCode,
    pub name_vi: String,
    pub name_en: String,
    /// The unit of measure: `person`, `VND`, `billion VND`, `%`, `ha`...
    pub unit: String,
    pub periodicity: Periodicity,
    pub owner: AgencyCode,
    pub source: Source,
    /// For derived indicators; their values are computed, never entered.
    pub formula: Option<Formula>,
    #[serde(default)]
    pub rules: Rules,
}

/// A value's place in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    Pending,
    Approved,
    Rejected,
}

impl Review {
    pub fn as_str(self) -> &'static str {
        match self {
            Review::Pending => "pending",
            Review::Approved => "approved",
            Review::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Review::Pending, Review::Approved, Review::Rejected]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_print_and_step() {
        for s in ["2025-03", "2025-Q1", "2025", "2024-12", "2025-Q4"] {
            assert_eq!(Period::parse(s).unwrap().to_string(), s);
        }
        for bad in [
            "2025-13", "2025-Q5", "2025-Q0", "25", "2025-1", "2025-M01", "abcd", "",
        ] {
            assert_eq!(Period::parse(bad), Err(PeriodError), "{bad}");
        }
        let m = Period::parse("2025-01").unwrap();
        assert_eq!(m.shift(-1).to_string(), "2024-12");
        assert_eq!(m.shift(13).to_string(), "2026-02");
        assert_eq!(m.a_year_before().to_string(), "2024-01");
        let q = Period::parse("2025-Q1").unwrap();
        assert_eq!(q.shift(-1).to_string(), "2024-Q4");
        assert_eq!(q.a_year_before().to_string(), "2024-Q1");
        assert_eq!(
            Period::parse("2025").unwrap().a_year_before().to_string(),
            "2024"
        );
        assert_eq!(m.shift(5).ordinal() - m.ordinal(), 5);
    }

    #[test]
    fn formulas_parse_and_compute() {
        let f = Formula::parse("ratio(GRDP, POP, 1000000)").unwrap();
        assert_eq!(f.to_string(), "ratio(GRDP, POP, 1000000)");
        assert_eq!(
            Formula::parse(" growth( GRDP ) ").unwrap().to_string(),
            "growth(GRDP)"
        );
        for bad in [
            "ratio(GRDP)",
            "sum(A, B)",
            "ratio(a, B)",
            "ratio(A, B, -1)",
            "growth(A",
        ] {
            assert!(Formula::parse(bad).is_err(), "{bad}");
        }
        let p = Period::parse("2025").unwrap();
        let data = |c: &IndicatorCode, q: Period| match (c.as_str(), q.year()) {
            ("GRDP", 2025) => Some(1_650_000.0),
            ("GRDP", 2024) => Some(1_500_000.0),
            ("POP", 2025) => Some(10.0),
            _ => None,
        };
        assert_eq!(f.eval(p, data), Some(165_000.0 * 1_000_000.0));
        let g = Formula::parse("growth(GRDP)").unwrap();
        assert!((g.eval(p, data).unwrap() - 0.1).abs() < 1e-12);
        // A missing input or a zero denominator gives no value, not infinity.
        assert_eq!(g.eval(p.a_year_before(), data), None);
        assert_eq!(
            Formula::parse("ratio(GRDP, NONE)").unwrap().eval(p, data),
            None
        );
    }

    #[test]
    fn rules_refuse_out_of_range_and_flag_jumps() {
        let r = Rules {
            min: Some(0.0),
            max: Some(100.0),
            max_change: Some(0.2),
        };
        assert_eq!(r.check(-1.0, None), Err(ValueError::BelowMin(0.0)));
        assert_eq!(r.check(101.0, None), Err(ValueError::AboveMax(100.0)));
        assert_eq!(r.check(f64::NAN, None), Err(ValueError::NotFinite));
        assert_eq!(r.check(50.0, Some(45.0)), Ok(None));
        assert_eq!(
            r.check(60.0, Some(40.0)),
            Ok(Some(Jump { change: Some(0.5) }))
        );
        assert_eq!(r.check(5.0, Some(0.0)), Ok(Some(Jump { change: None })));
        assert_eq!(r.check(0.0, Some(0.0)), Ok(None));
        assert!(r.is_consistent());
        assert!(!Rules {
            min: Some(2.0),
            max: Some(1.0),
            max_change: None
        }
        .is_consistent());
    }

    #[test]
    fn codes_are_sdmx_ids() {
        assert!(IndicatorCode::parse("POP_TOTAL").is_ok());
        for bad in ["pop", "1POP", "P", "POP-TOTAL", "POP TOTAL"] {
            assert!(IndicatorCode::parse(bad).is_err(), "{bad}");
        }
    }
}
