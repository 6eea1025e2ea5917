//! `Money`: `from_dong`, its `Deserialize` (amounts in JSON bodies) and its Vietnamese
//! `Display` (1.250.000 ₫).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_domain::ids::{Money, ParseIdError};

fn check_display(m: Money) {
    let shown = m.to_string();
    let number = shown.strip_suffix(" ₫").expect("ends with ' ₫'");
    let groups: Vec<&str> = number.split('.').collect();
    assert!((1..=3).contains(&groups[0].len()), "{shown}");
    assert!(groups[1..].iter().all(|g| g.len() == 3), "{shown}");
    assert!(groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit())), "{shown}");
    assert_eq!(groups.concat(), m.dong().to_string());
}

fuzz_target!(|data: &[u8]| {
    // The first 8 bytes as an amount.
    if let Some(head) = data.get(..8) {
        let dong = i64::from_le_bytes(head.try_into().unwrap());
        match Money::from_dong(dong) {
            Ok(m) => {
                assert!(dong >= 0);
                assert_eq!(m.dong(), dong);
                check_display(m);
                let json = serde_json::to_string(&m).unwrap();
                assert_eq!(json, dong.to_string());
                assert_eq!(serde_json::from_str::<Money>(&json).ok(), Some(m));
            }
            Err(e) => assert!(dong < 0 && e == ParseIdError::Negative),
        }
    }
    // The whole input as JSON.
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = serde_json::from_str::<Money>(s) {
        assert!(m.dong() >= 0);
        assert_eq!(serde_json::from_str::<i64>(s).ok(), Some(m.dong()));
        check_display(m);
    }
});
