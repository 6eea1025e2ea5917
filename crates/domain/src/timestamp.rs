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
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimestampError)?;
        if !(1000..=9998).contains(&t.year()) {
            return Err(TimestampError);
        }
        Ok(Self::from_datetime(t))
    }

    pub fn datetime(self) -> OffsetDateTime {
        self.0
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

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        )
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
