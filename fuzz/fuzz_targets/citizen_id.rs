//! `CitizenId::parse` (CCCD numbers from forms, CSV/NDJSON rows, URLs) and `Sex::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_domain::ids::{CitizenId, ParseIdError, Sex};
use sohoa_domain::text::fold;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = CitizenId::parse(s);
    // Accepted exactly when the rule, restated independently, says so.
    assert_eq!(parsed.is_ok(), sohoa_fuzz::is_valid_citizen_id(s), "{s:?}");
    let t = s.trim();
    match parsed {
        Ok(id) => {
            // The stored form is the trimmed input, and it round-trips every way it leaves.
            assert_eq!(id.as_str(), t);
            assert_eq!(id.to_string(), t);
            assert_eq!(CitizenId::parse(&id.to_string()).as_ref(), Ok(&id));
            assert_eq!(t.parse::<CitizenId>().as_ref(), Ok(&id));
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<CitizenId>(&json).ok().as_ref(), Some(&id));
            // Sex and birth year come from digits 4-6.
            let b = t.as_bytes();
            let d4 = b[3] - b'0';
            let want_sex = if d4 % 2 == 0 { Sex::Male } else { Sex::Female };
            assert_eq!(id.sex(), want_sex);
            let century = [1900, 1900, 2000, 2000, 2100, 2100, 2200, 2200, 1800, 1800][d4 as usize];
            let yy = i32::from(b[4] - b'0') * 10 + i32::from(b[5] - b'0');
            assert_eq!(id.birth_year(), century + yy);
            // compose() rebuilds the same number from its parts.
            let province: u16 = t[..3].parse().unwrap();
            let serial: u32 = t[6..].parse().unwrap();
            assert_eq!(
                CitizenId::compose(province, id.sex(), id.birth_year(), serial).as_ref(),
                Ok(&id)
            );
            // Debug output never shows digits 4-9 (personal data).
            assert_eq!(
                format!("{id:?}"),
                format!("CitizenId({}******{})", &t[..3], &t[9..])
            );
        }
        Err(e) => {
            let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            match e {
                ParseIdError::Length { .. } => {
                    assert!(if digits { t.len() != 12 } else { t.chars().count() != 12 })
                }
                ParseIdError::NotDigits => assert!(!digits && t.chars().count() == 12),
                ParseIdError::Province => assert!(digits && t.len() == 12),
                other => panic!("unexpected error {other:?} for {s:?}"),
            }
        }
    }
    // Sex::parse accepts exactly the folded spellings it documents.
    if let Some(sex) = Sex::parse(s) {
        let want = match fold(s).as_str() {
            "male" | "m" | "nam" => Sex::Male,
            "female" | "f" | "nu" => Sex::Female,
            other => panic!("Sex::parse accepted {other:?}"),
        };
        assert_eq!(sex, want);
        assert_eq!(Sex::parse(sex.as_str()), Some(sex));
    }
});
