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

    /// Parses the stored form (or any RFC 3339 time, converted to UTC).
    pub fn parse(s: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(s, &Rfc3339).map(Self::from_datetime)
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
