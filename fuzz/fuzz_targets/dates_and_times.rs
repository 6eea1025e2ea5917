//! Dates and instants: `registry::parse_date` (YYYY-MM-DD or DD/MM/YYYY in every registry
//! row) with `date_text`, and `Timestamp::parse` (RFC 3339, e.g. a consent's `valid_until`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_domain::registry::{date_text, parse_date};
use sohoa_domain::Timestamp;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    match parse_date("d", s) {
        Ok(d) => {
            // The text a date is stored and exported as parses back to the same date.
            let text = date_text(d);
            assert_eq!(parse_date("d", &text).ok(), Some(d), "{s:?} -> {text:?}");
        }
        Err(e) => assert_eq!((e.field, e.code), ("d", "invalid_date")),
    }

    if let Ok(t) = Timestamp::parse(s) {
        // Fixed width, UTC, and parses back to the same instant.
        let text = t.to_string();
        assert_eq!(text.len(), 27, "{text}");
        assert!(text.ends_with('Z'));
        assert!(t.datetime().offset().is_utc());
        assert_eq!(Timestamp::parse(&text).ok(), Some(t), "{s:?} -> {text:?}");
        assert_eq!(t.datetime().nanosecond() % 1_000, 0);
    }
});
