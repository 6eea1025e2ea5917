//! Sign-in input: `identity::Username::parse` (staff log-in names) and
//! `identity::check_password` (the length rule applied before any hashing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_domain::identity::{check_password, PasswordError, Username};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let t = s.trim();
    let user = Username::parse(s);
    let want = (3..=32).contains(&t.len())
        && t.as_bytes()[0].is_ascii_lowercase()
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    assert_eq!(user.is_some(), want, "{s:?}");
    if let Some(u) = user {
        assert_eq!(u.as_str(), t);
        assert_eq!(u.to_string(), t);
        assert_eq!(Username::parse(u.as_str()).as_ref(), Some(&u));
        // Never mistaken for a CCCD.
        assert!(!sohoa_fuzz::is_valid_citizen_id(u.as_str()));
    }
    // The password rule counts characters, not bytes, and does not trim.
    let n = s.chars().count();
    match check_password(s) {
        Ok(()) => assert!((10..=128).contains(&n)),
        Err(e) => assert!(e == PasswordError::Length && !(10..=128).contains(&n)),
    }
});
