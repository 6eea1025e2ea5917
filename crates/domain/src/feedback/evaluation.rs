//! Service evaluation: figures per commune and agency over a span of months, kept as
//! counters so a leader's map costs what the units shown cost, not what the reports do.
//!
//! Resolution times are counted in buckets of hours; the median is read off the buckets by
//! linear interpolation, so it is exact to within one bucket (a few hours for quick answers,
//! days for slow ones) — what a leader comparing communes needs.

use time::{Date, Month as TMonth};

/// Upper bounds, in hours, of the resolution-time buckets; the last bucket is open.
pub const BUCKET_HOURS: [f64; 16] = [
    1.0, 2.0, 4.0, 8.0, 12.0, 24.0, 48.0, 72.0, 120.0, 168.0, 240.0, 336.0, 480.0, 720.0, 1440.0,
    2880.0,
];

/// The bucket a resolution time falls in (index into [`BUCKET_HOURS`], or its length for
/// longer ones).
pub fn bucket_of(hours: f64) -> usize {
    BUCKET_HOURS
        .iter()
        .position(|&upper| hours <= upper)
        .unwrap_or(BUCKET_HOURS.len())
}

/// The median, in hours, of times counted in buckets (`counts[i]` in bucket `i`, one more
/// bucket than [`BUCKET_HOURS`] for the open one). `None` with no times at all.
pub fn median_hours(counts: &[i64]) -> Option<f64> {
    let total: i64 = counts.iter().sum();
    if total <= 0 {
        return None;
    }
    let half = total as f64 / 2.0;
    let mut below = 0.0;
    for (i, &n) in counts.iter().enumerate() {
        let n = n as f64;
        if n > 0.0 && below + n >= half {
            let lower = if i == 0 { 0.0 } else { BUCKET_HOURS[i - 1] };
            // The open bucket has no upper bound: report its lower one.
            let Some(&upper) = BUCKET_HOURS.get(i) else {
                return Some(lower);
            };
            return Some(lower + (upper - lower) * (half - below) / n);
        }
        below += n;
    }
    None
}

/// The fewest ratings (or applications, or reports) a public figure may be computed from:
/// fewer could point at a person.
pub const MIN_PUBLIC_CELL: i64 = 5;

/// A figure of the public evaluation, published per closed month and commune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PublicFigure {
    Satisfaction,
    OnTime,
    Resolution,
    ResolutionTime,
}

impl PublicFigure {
    pub const ALL: [PublicFigure; 4] = [
        PublicFigure::Satisfaction,
        PublicFigure::OnTime,
        PublicFigure::Resolution,
        PublicFigure::ResolutionTime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PublicFigure::Satisfaction => "satisfaction",
            PublicFigure::OnTime => "on_time",
            PublicFigure::Resolution => "resolution",
            PublicFigure::ResolutionTime => "resolution_time",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// What a figure is computed from, as far as the publication rule cares: how many cases
/// (ratings, decided applications, reports received or resolved) it rests on, and how many
/// events have changed it (monotone: each rating, decision, report and resolution adds one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Basis {
    pub cases: i64,
    pub changes: i64,
}

/// Whether a figure's live value may be published (again), given the basis it was last
/// published from. The threshold applies to what can be derived, not only to what is
/// shown: first from at least [`MIN_PUBLIC_CELL`] cases, and again only once at least as
/// many changes have accrued since, so that no two readings (before and after one rating,
/// or of ranges one month apart, which sum published months) isolate fewer.
pub fn publishable(published: Option<Basis>, live: Basis) -> bool {
    match published {
        None => live.cases >= MIN_PUBLIC_CELL,
        Some(p) => (live.changes - p.changes).abs() >= MIN_PUBLIC_CELL,
    }
}

/// A calendar month, `YYYY-MM`: the grain of the evaluation counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a month is written YYYY-MM, between 2000-01 and 2999-12")]
pub struct MonthError;

impl Month {
    pub fn parse(s: &str) -> Result<Self, MonthError> {
        let (y, m) = s.trim().split_once('-').ok_or(MonthError)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(MonthError);
        }
        let year: i32 = y.parse().map_err(|_| MonthError)?;
        let month: u8 = m.parse().map_err(|_| MonthError)?;
        if !(2000..=2999).contains(&year) || !(1..=12).contains(&month) {
            return Err(MonthError);
        }
        Ok(Self { year, month })
    }

    pub fn of(date: Date) -> Self {
        Self {
            year: date.year(),
            month: u8::from(date.month()),
        }
    }

    /// The month `n` months before this one.
    pub fn minus(self, n: u32) -> Self {
        let idx = self.year * 12 + i32::from(self.month) - 1 - n as i32;
        Self {
            year: idx.div_euclid(12),
            month: (idx.rem_euclid(12) + 1) as u8,
        }
    }

    pub fn first_day(self) -> Date {
        TMonth::try_from(self.month)
            .ok()
            .and_then(|m| Date::from_calendar_date(self.year, m, 1).ok())
            .unwrap_or(Date::MIN)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// `part / whole`, or `None` with nothing to divide by.
pub fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_figure_is_published_from_five_cases_and_again_after_five_changes() {
        let b = |cases, changes| Basis { cases, changes };
        assert!(!publishable(None, b(4, 4)));
        assert!(publishable(None, b(5, 5)));
        // One more rating, or four: the published figure stands.
        assert!(!publishable(Some(b(5, 5)), b(6, 6)));
        assert!(!publishable(Some(b(5, 5)), b(9, 9)));
        assert!(publishable(Some(b(5, 5)), b(10, 10)));
        // Resolutions change a figure without new cases: they count as changes.
        assert!(!publishable(Some(b(7, 9)), b(7, 12)));
        assert!(publishable(Some(b(7, 9)), b(7, 14)));
        for f in PublicFigure::ALL {
            assert_eq!(PublicFigure::parse(f.as_str()), Some(f));
        }
    }

    use super::*;

    #[test]
    fn buckets_and_medians() {
        assert_eq!(bucket_of(0.5), 0);
        assert_eq!(bucket_of(1.0), 0);
        assert_eq!(bucket_of(30.0), 6);
        assert_eq!(bucket_of(10_000.0), BUCKET_HOURS.len());
        let mut counts = vec![0i64; BUCKET_HOURS.len() + 1];
        assert_eq!(median_hours(&counts), None);
        // Three answers within 24-48 hours, one in 1-2: the median is in 24-48.
        counts[bucket_of(30.0)] = 3;
        counts[bucket_of(1.5)] = 1;
        let m = median_hours(&counts).unwrap();
        assert!((24.0..=48.0).contains(&m), "{m}");
        let mut slow = vec![0i64; BUCKET_HOURS.len() + 1];
        slow[BUCKET_HOURS.len()] = 2;
        assert_eq!(median_hours(&slow), Some(2880.0));
    }

    #[test]
    fn months_parse_and_count_back() {
        let m = Month::parse("2026-01").unwrap();
        assert_eq!(m.minus(1).to_string(), "2025-12");
        assert_eq!(m.minus(13).to_string(), "2024-12");
        assert!(Month::parse("2026-13").is_err());
        assert!(Month::parse("26-01").is_err());
        assert!(Month::parse("2026-1").is_err());
        assert_eq!(m.first_day().to_string(), "2026-01-01");
        assert_eq!(ratio(1, 0), None);
    }
}
