//! `UnitCode::parse`, `registry::unit_code` (commune-level), `AgencyCode::parse`,
//! `AgencyLevel::parse` and `Agency::new` (lines of the input: code, name_vi, name_en, unit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_domain::agency::{Agency, AgencyCode, AgencyError, AgencyLevel};
use sohoa_domain::ids::{ParseIdError, UnitCode};
use sohoa_domain::text::fold;

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let t = s.trim();

    // Unit codes: 2, 3 or 5 digits.
    let unit = UnitCode::parse(s);
    assert_eq!(unit.is_ok(), digits(t) && matches!(t.len(), 2 | 3 | 5), "{s:?}");
    match &unit {
        Ok(u) => {
            assert_eq!(u.as_str(), t);
            assert_eq!(UnitCode::parse(&u.to_string()).as_ref(), Ok(u));
            let json = serde_json::to_string(u).unwrap();
            assert_eq!(serde_json::from_str::<UnitCode>(&json).ok().as_ref(), Some(u));
        }
        Err(ParseIdError::NotDigits) => {
            assert!(!digits(t) && !t.is_empty() && t.chars().count() <= 5)
        }
        Err(ParseIdError::Length { .. }) => {}
        Err(e) => panic!("unexpected error {e:?} for {s:?}"),
    }
    // A commune-level code is a unit code of 5 digits.
    let commune = sohoa_domain::registry::unit_code("unit", s);
    assert_eq!(
        commune.is_ok(),
        unit.as_ref().is_ok_and(|u| u.as_str().len() == 5)
    );
    if let Err(e) = commune {
        assert_eq!((e.field, e.code), ("unit", "invalid_unit_code"));
    }

    // Agency codes: 2-40 of A-Z, 0-9, '-', not starting or ending with '-'.
    let code = AgencyCode::parse(s);
    let want = (2..=40).contains(&t.len())
        && t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        && !t.starts_with('-')
        && !t.ends_with('-');
    assert_eq!(code.is_ok(), want, "{s:?}");
    if let Ok(c) = &code {
        assert_eq!(c.as_str(), t);
        assert_eq!(AgencyCode::parse(&c.to_string()).as_ref(), Ok(c));
        assert_eq!(serde_json::to_string(c).unwrap(), serde_json::to_string(t).unwrap());
    }
    if let Some(level) = AgencyLevel::parse(s) {
        assert_eq!(level.as_str(), s);
    }

    // A whole agency, one field per line.
    let mut lines = s.splitn(4, '\n');
    let (c, vi, en, u) = (
        lines.next().unwrap_or(""),
        lines.next().unwrap_or(""),
        lines.next().unwrap_or(""),
        lines.next().unwrap_or(""),
    );
    match Agency::new(c, vi, en, AgencyLevel::Commune, u) {
        Ok(a) => {
            assert_eq!(Ok(&a.code), AgencyCode::parse(c).as_ref());
            assert_eq!(Ok(&a.unit_code), UnitCode::parse(u).as_ref());
            for (name, raw) in [(&a.name_vi, vi), (&a.name_en, en)] {
                assert_eq!(name.as_str(), raw.trim());
                assert!(!name.is_empty() && name.chars().count() <= 200);
                assert!(!name.chars().any(char::is_control));
            }
            let again = Agency::new(
                a.code.as_str(),
                &a.name_vi,
                &a.name_en,
                a.level,
                a.unit_code.as_str(),
            );
            assert_eq!(again.as_ref(), Ok(&a));
            let search = a.search_text();
            assert_eq!(fold(&search), search);
        }
        Err(AgencyError::Code) => assert!(AgencyCode::parse(c).is_err()),
        Err(AgencyError::Name) => {}
        Err(AgencyError::UnitCode) => assert!(UnitCode::parse(u).is_err()),
    }
});
