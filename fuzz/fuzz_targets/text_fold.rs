//! Text: `text::fold` (search keys), `registry::clean_text` / `text_field` (every free-text
//! field of a record) and `citizen::parse_name`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_domain::registry::citizen::parse_name;
use sohoa_domain::registry::{clean_text, text_field};
use sohoa_domain::text::fold;
use unicode_normalization::UnicodeNormalization;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    let f = fold(s);
    // Idempotent: a folded search key folds to itself.
    assert_eq!(fold(&f), f, "fold is not idempotent on {s:?}");
    // Trimmed, single spaces, no diacritics, no đ, no control characters.
    assert_eq!(f.trim_matches(' '), f);
    assert!(!f.contains("  "));
    assert!(!f.chars().any(|c| c.is_whitespace() && c != ' '), "{f:?}");
    assert!(!f.chars().any(|c| ('\u{0300}'..='\u{036f}').contains(&c)), "{f:?}");
    assert!(!f.contains(['đ', 'Đ']));
    assert!(!f.chars().any(char::is_control));
    // Canonically equivalent spellings (precomposed or decomposed) fold alike.
    assert_eq!(fold(&s.nfc().collect::<String>()), f);
    assert_eq!(fold(&s.nfd().collect::<String>()), f);

    match clean_text(s) {
        Some(c) => {
            assert!(sohoa_fuzz::is_clean_text(&c), "{s:?} -> {c:?}");
            assert_eq!(clean_text(&c).as_deref(), Some(c.as_str()));
        }
        None => assert!(s.trim().is_empty()),
    }
    match text_field("f", s, 200) {
        Ok(t) => {
            assert_eq!(Some(&t), clean_text(s).as_ref());
            assert!(t.chars().count() <= 200 && !t.chars().any(char::is_control));
            assert_eq!(text_field("f", &t, 200).as_ref(), Ok(&t));
        }
        Err(e) => assert!(matches!(e.code, "required" | "too_long" | "invalid_text")),
    }
    if let Ok(n) = parse_name("full_name", s) {
        assert_eq!(parse_name("full_name", &n).as_ref(), Ok(&n));
        assert!(n.chars().filter(|c| c.is_alphabetic()).count() >= 2);
    }
});
