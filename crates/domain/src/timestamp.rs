//! Points in time, stored in UTC with a fixed textual form.

use std::fmt;

use time::{format_description::well_known::Rfc3339, OffsetDateTime, UtcOffset};

/// A UTC instant with microsecond precision. Its text form (`2025-07-01T02:03:04.000005Z`)
/// has a fixed width, so it sorts as text and hashes identically on every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// Ho Chi Minh City's offset: Viet Nam has no daylight saving time.
pub const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// Today's date in Ho Chi Minh City.
pub fn today() -> time::Date {
    OffsetDateTime::now_utc().to_offset(VIETNAM).date()
}

/// Not an RFC 3339 time between the years 1000 and 9998.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 time between the years 1000 and 9998")]
pub struct TimestampError;

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(t: OffsetDateTime) -> Self {
        let t = t.to_offset(UtcOffset::UTC);
        // Truncate to microseconds: what the text form can carry.
        let micros = t.microsecond();
        Self(t.replace_microsecond(micros).unwrap_or(t))
    }

    /// Parses the stored form (or any RFC 3339 time, converted to UTC). Years outside
    /// 1000-9998 are refused: converting their extremes to UTC would leave the calendar
    /// `time` can represent, and the stored text form has four-digit years.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        // The stored form is read for every row of every list: read it directly, and leave
        // any other RFC 3339 text to the general parser.
        if let Some(t) = Self::parse_stored(s) {
            return Ok(t);
        }
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimestampError)?;
        if !(1000..=9998).contains(&t.year()) {
            return Err(TimestampError);
        }
        Ok(Self::from_datetime(t))
    }

    /// The fixed-width stored form, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, or `None` for anything
    /// else (which may still be RFC 3339).
    fn parse_stored(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 27 {
            return None;
        }
        let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if punctuation.iter().any(|&(i, c)| b[i] != c) || b[19] != b'.' || b[26] != b'Z' {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u32> {
            b[from..to].iter().try_fold(0u32, |n, &d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })
        };
        let year = i32::try_from(num(0, 4)?).ok()?;
        if !(1000..=9998).contains(&year) {
            return None;
        }
        let month = time::Month::try_from(u8::try_from(num(5, 7)?).ok()?).ok()?;
        let date =
            time::Date::from_calendar_date(year, month, u8::try_from(num(8, 10)?).ok()?).ok()?;
        let hms = |i: usize| u8::try_from(num(i, i + 2)?).ok();
        let t = time::Time::from_hms_micro(hms(11)?, hms(14)?, hms(17)?, num(20, 26)?).ok()?;
        Some(Self(date.with_time(t).assume_utc()))
    }

    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }

    /// The day the instant falls on in the city.
    pub fn local_date(self) -> time::Date {
        self.0.to_offset(VIETNAM).date()
    }

    /// The instant as shown to people in the city: local time, minute precision.
    pub fn local_display(self) -> String {
        let t = self.0.to_offset(VIETNAM);
        format!(
            "{:02}/{:02}/{} {:02}:{:02}",
            t.day(),
            u8::from(t.month()),
            t.year(),
            t.hour(),
            t.minute()
        )
    }
}

/// As stored and as the API writes it: RFC 3339 in UTC, microseconds.
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.stored_bytes();
        s.serialize_str(std::str::from_utf8(&b).map_err(serde::ser::Error::custom)?)
    }
}

impl Timestamp {
    /// The stored form, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, written digit by digit: every row of
    /// every list writes some, and the formatting machinery costs more than the digits.
    fn stored_bytes(self) -> [u8; 27] {
        let t = self.0;
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut n: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        // Years are 1000-9998 (see `parse`), so four digits always hold them.
        put(0, 4, t.year().unsigned_abs());
        put(5, 2, u32::from(u8::from(t.month())));
        put(8, 2, u32::from(t.day()));
        put(11, 2, u32::from(t.hour()));
        put(14, 2, u32::from(t.minute()));
        put(17, 2, u32::from(t.second()));
        put(20, 6, t.microsecond());
        b
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.stored_bytes();
        f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `dates_and_times` fuzz target: the extremes used to panic.
    #[test]
    fn times_at_the_edges_of_the_calendar_are_refused_not_a_panic() {
        for s in [
            "9999-12-31T23:59:59-01:00",
            "0000-01-01T00:00:00+01:00",
            "0999-01-01T00:00:00Z",
        ] {
            assert_eq!(Timestamp::parse(s), Err(TimestampError), "{s}");
        }
        let t = Timestamp::parse("2025-07-01T07:00:00+07:00").unwrap();
        assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
    }

    #[test]
    fn the_stored_form_reads_as_the_general_parser_reads_it() {
        for s in [
            "2025-07-01T02:03:04.500000Z",
            "1000-01-01T00:00:00.000000Z",
            "9998-12-31T23:59:59.999999Z",
            "2024-02-29T12:00:00.000001Z",
        ] {
            let general = OffsetDateTime::parse(s, &Rfc3339).map(Timestamp::from_datetime);
            assert_eq!(Timestamp::parse_stored(s), general.ok(), "{s}");
            assert_eq!(Timestamp::parse(s).map(|t| t.to_string()).as_deref(), Ok(s));
        }
        // Not the stored form: left to the general parser, which decides.
        for s in [
            "2025-02-30T00:00:00.000000Z",
            "2025-07-01T24:00:00.000000Z",
            "2025-07-01 02:03:04.500000Z",
            "2025-07-01T02:03:04.5000000",
            "0999-12-31T23:59:59.000000Z",
            "2025-07-01T02:03:04.50000aZ",
        ] {
            assert_eq!(Timestamp::parse_stored(s), None, "{s}");
        }
        assert_eq!(
            Timestamp::parse("2025-02-30T00:00:00.000000Z"),
            Err(TimestampError)
        );
    }

    #[test]
    fn text_form_round_trips_and_is_fixed_width() {
        let t = Timestamp::parse("2025-07-01T09:03:04.5+07:00").ok();
        let s = t.map(|t| t.to_string());
        assert_eq!(s.as_deref(), Some("2025-07-01T02:03:04.500000Z"));
        assert_eq!(s.and_then(|s| Timestamp::parse(&s).ok()), t);
        assert_eq!(
            t.map(|t| t.local_display()).as_deref(),
            Some("01/07/2025 09:03")
        );
    }
}
