//! Working days: deadlines of administrative procedures are counted in them, skipping
//! weekends and public holidays (some of which follow the lunar calendar), and counting
//! the Saturdays worked in exchange for a day off. The calendar is data (`data/holidays.csv`,
//! one row per day), so a new year's notice is a new file, not a new release of the rules.

use std::collections::BTreeMap;

use time::{Date, Duration, Weekday};

const HOLIDAYS: &str = include_str!("../../data/holidays.csv");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// Closed although a weekday.
    Holiday,
    /// Open although a Saturday or Sunday.
    WorkingDay,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialDay {
    pub date: Date,
    pub kind: DayKind,
    pub name_vi: String,
    pub name_en: String,
    /// `official`, or `provisional` (the Labour Code's rule where the year's notice was
    /// not at hand).
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("holiday calendar, line {line}: {what}")]
pub struct CalendarError {
    pub line: usize,
    pub what: String,
}

/// The days that differ from the plain rule "Monday to Friday".
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    days: BTreeMap<Date, SpecialDay>,
    first_year: i32,
    last_year: i32,
}

impl Calendar {
    /// The calendar shipped with the binary (2025–2027).
    pub fn shipped() -> Result<Self, CalendarError> {
        Self::parse(HOLIDAYS)
    }

    /// Parses `date,kind,name_vi,name_en,status` rows (with a header).
    pub fn parse(csv_text: &str) -> Result<Self, CalendarError> {
        let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
        let mut days = BTreeMap::new();
        for (i, row) in rdr.records().enumerate() {
            let line = i + 2;
            let err = |what: &str| CalendarError {
                line,
                what: what.to_owned(),
            };
            let row = row.map_err(|e| err(&e.to_string()))?;
            let field = |n: usize| row.get(n).map(str::trim).unwrap_or_default();
            let date = crate::registry::parse_date("date", field(0))
                .map_err(|_| err("the date is not YYYY-MM-DD"))?;
            let weekend = matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
            let kind =
                match field(1) {
                    "holiday" if !weekend => DayKind::Holiday,
                    "holiday" => return Err(err(
                        "a holiday on a weekend closes nothing: name the day it is taken instead",
                    )),
                    "working_day" if weekend => DayKind::WorkingDay,
                    "working_day" => {
                        return Err(err("a working day exchanged must be a Saturday or Sunday"))
                    }
                    _ => return Err(err("kind is holiday or working_day")),
                };
            if field(2).is_empty() || field(3).is_empty() {
                return Err(err("the day needs a name in Vietnamese and English"));
            }
            let status = match field(4) {
                s @ ("official" | "provisional") => s.to_owned(),
                _ => return Err(err("status is official or provisional")),
            };
            let day = SpecialDay {
                date,
                kind,
                name_vi: field(2).to_owned(),
                name_en: field(3).to_owned(),
                status,
            };
            if days.insert(date, day).is_some() {
                return Err(err("the date appears twice"));
            }
        }
        let first_year = days.keys().next().map_or(0, |d| d.year());
        let last_year = days.keys().next_back().map_or(0, |d| d.year());
        Ok(Self {
            days,
            first_year,
            last_year,
        })
    }

    /// Whether the one-stop counters work on `date`.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.days.get(&date).map(|d| d.kind) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::WorkingDay) => true,
            None => !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday),
        }
    }

    /// Whether the calendar knows the holidays of `year` (deadlines beyond it are counted
    /// over weekends only, and should be shown as provisional).
    pub fn covers(&self, year: i32) -> bool {
        (self.first_year..=self.last_year).contains(&year)
    }

    /// The special days of a year, in date order.
    pub fn year(&self, year: i32) -> impl Iterator<Item = &SpecialDay> {
        self.days.values().filter(move |d| d.date.year() == year)
    }

    /// The day by which `days` working days have passed after `start` (the day of receipt
    /// does not count): the statutory due date. Zero days means the same day.
    pub fn add_working_days(&self, start: Date, days: u32) -> Date {
        let mut d = start;
        let mut left = days;
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days strictly after `from` up to and including `to` (0 when `to <= from`):
    /// how long an application was paused, or how late it is.
    ///
    /// Counted without walking the days: every list of applications asks it for each row.
    /// Weekdays come from whole weeks and the few days left over; then each special day in
    /// the range corrects the count where it differs from the plain rule.
    pub fn working_days_between(&self, from: Date, to: Date) -> u32 {
        if to <= from {
            return 0;
        }
        let span = (to - from).whole_days();
        let leftover = span % 7;
        let weekday = |d: Date| !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday);
        let mut n = span / 7 * 5
            + (1..=leftover)
                .filter(|&i| weekday(from + Duration::days(i)))
                .count() as i64;
        let after_from = from.next_day().unwrap_or(from);
        for day in self.days.range(after_from..=to).map(|(_, d)| d) {
            match (day.kind, weekday(day.date)) {
                (DayKind::Holiday, true) => n -= 1,
                (DayKind::WorkingDay, false) => n += 1,
                _ => {}
            }
        }
        u32::try_from(n).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn cal() -> Calendar {
        Calendar::shipped().unwrap()
    }

    /// The count by walking every day, as the calendar's definition reads.
    fn walked(c: &Calendar, from: Date, to: Date) -> u32 {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if c.is_working_day(d) {
                n += 1;
            }
        }
        n
    }

    #[test]
    fn working_days_between_counts_as_walking_the_days_does() {
        let c = cal();
        let start = date!(2024 - 12 - 20);
        // Every start day over three years and more, spans from nothing to over a year,
        // across every holiday and exchanged Saturday of the shipped calendar.
        for offset in 0..1150 {
            let from = start + Duration::days(offset);
            for span in [0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 20, 31, 45, 90, 400] {
                let to = from + Duration::days(span);
                assert_eq!(
                    c.working_days_between(from, to),
                    walked(&c, from, to),
                    "{from} to {to}"
                );
            }
            assert_eq!(c.working_days_between(from, from - Duration::days(3)), 0);
        }
    }

    #[test]
    fn the_shipped_calendar_covers_2025_to_2027() {
        let c = cal();
        assert!(c.covers(2025) && c.covers(2026) && c.covers(2027));
        assert!(!c.covers(2028));
        // Tết Ất Tỵ: Monday 27 to Friday 31 January 2025 closed.
        for d in 27..=31 {
            assert!(
                !c.is_working_day(Date::from_calendar_date(2025, time::Month::January, d).unwrap())
            );
        }
        assert!(c.is_working_day(date!(2025 - 02 - 03)));
        // Hùng Kings' day follows the moon: 7 April 2025, 16 April 2027.
        assert!(!c.is_working_day(date!(2025 - 04 - 07)));
        assert!(!c.is_working_day(date!(2027 - 04 - 16)));
        // A Saturday worked in exchange for 2 May 2025.
        assert!(c.is_working_day(date!(2025 - 04 - 26)));
        assert!(!c.is_working_day(date!(2025 - 05 - 02)));
        assert!(!c.is_working_day(date!(2025 - 04 - 27)));
        assert!(c.year(2026).count() >= 9);
    }

    #[test]
    fn deadlines_skip_weekends_and_holidays() {
        let c = cal();
        // Received Friday 24 January 2025, 3 working days: Tết closes 27–31, so Wednesday 5
        // February.
        assert_eq!(
            c.add_working_days(date!(2025 - 01 - 24), 3),
            date!(2025 - 02 - 05)
        );
        // Received Thursday 24 April 2025, 2 working days: Friday 25, Saturday 26 (worked).
        assert_eq!(
            c.add_working_days(date!(2025 - 04 - 24), 2),
            date!(2025 - 04 - 26)
        );
        // An ordinary week: Monday + 5 = next Monday.
        assert_eq!(
            c.add_working_days(date!(2025 - 06 - 02), 5),
            date!(2025 - 06 - 09)
        );
        assert_eq!(
            c.add_working_days(date!(2025 - 06 - 02), 0),
            date!(2025 - 06 - 02)
        );
        assert_eq!(
            c.working_days_between(date!(2025 - 06 - 02), date!(2025 - 06 - 09)),
            5
        );
        assert_eq!(
            c.working_days_between(date!(2025 - 01 - 24), date!(2025 - 02 - 05)),
            3
        );
        assert_eq!(
            c.working_days_between(date!(2025 - 06 - 09), date!(2025 - 06 - 02)),
            0
        );
    }

    #[test]
    fn bad_calendars_are_refused_with_their_line() {
        let header = "date,kind,name_vi,name_en,status\n";
        for (row, what) in [
            ("2025-13-01,holiday,a,b,official", "YYYY-MM-DD"),
            ("2025-01-04,holiday,a,b,official", "weekend"),
            ("2025-01-06,working_day,a,b,official", "Saturday or Sunday"),
            ("2025-01-06,party,a,b,official", "kind"),
            ("2025-01-06,holiday,,b,official", "name"),
            ("2025-01-06,holiday,a,b,maybe", "status"),
        ] {
            let e = Calendar::parse(&format!("{header}{row}\n")).unwrap_err();
            assert_eq!(e.line, 2);
            assert!(e.what.contains(what), "{row}: {e}");
        }
        let twice =
            format!("{header}2025-01-06,holiday,a,b,official\n2025-01-06,holiday,a,b,official\n");
        assert_eq!(Calendar::parse(&twice).unwrap_err().line, 3);
    }
}
