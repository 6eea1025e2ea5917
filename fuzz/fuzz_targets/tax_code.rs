//! `TaxCode::parse` (enterprise tax codes, MST) and `TaxCode::check_digit`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_domain::ids::{ParseIdError, TaxCode};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = TaxCode::parse(s);
    // Accepted exactly when the check digit, recomputed from the published weights, is right.
    assert_eq!(parsed.is_ok(), sohoa_fuzz::is_valid_tax_code(s), "{s:?}");
    let t = s.trim();
    match parsed {
        Ok(code) => {
            assert_eq!(code.as_str(), t);
            assert_eq!(code.to_string(), t);
            assert_eq!(TaxCode::parse(&code.to_string()).as_ref(), Ok(&code));
            assert_eq!(t.parse::<TaxCode>().as_ref(), Ok(&code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(serde_json::from_str::<TaxCode>(&json).ok().as_ref(), Some(&code));
            // The main number alone is valid too, and a branch of it is.
            let main = &t[..10];
            assert!(TaxCode::parse(main).is_ok());
            assert!(TaxCode::parse(&format!("{main}-001")).is_ok());
        }
        Err(ParseIdError::CheckDigit) => {
            // Only a well-formed number can fail on its check digit.
            let main = t.split_once('-').map_or(t, |(m, _)| m);
            assert!(main.len() == 10 && main.bytes().all(|b| b.is_ascii_digit()));
        }
        Err(ParseIdError::Length { .. } | ParseIdError::NotDigits) => {}
        Err(other) => panic!("unexpected error {other:?} for {s:?}"),
    }
    // check_digit agrees with the rule on any nine digits taken from the input, and the code
    // built from them parses while every other last digit is refused.
    let nine: Vec<u8> = data.iter().copied().filter(u8::is_ascii_digit).take(9).collect();
    if nine.len() == 9 {
        let nine_str = std::str::from_utf8(&nine).unwrap();
        let want = sohoa_fuzz::tax_check_digit(&nine);
        assert_eq!(TaxCode::check_digit(nine_str), want, "{nine_str}");
        for last in 0..10u8 {
            let code = format!("{nine_str}{last}");
            assert_eq!(TaxCode::parse(&code).is_ok(), want == Some(last), "{code}");
        }
    }
});
