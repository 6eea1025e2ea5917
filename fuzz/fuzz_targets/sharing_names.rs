//! Once-only sharing: `Purpose::parse` (query strings and JSON bodies), `RegistryName::parse`
//! (URL segments) and `parse_fields` (the field list of a grant; the input split on `,`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_domain::sharing::{parse_fields, Purpose, RegistryName, SharingError};

const REGISTRIES: [RegistryName; 3] = [
    RegistryName::Citizens,
    RegistryName::Enterprises,
    RegistryName::Parcels,
];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let t = s.trim();

    let purpose = Purpose::parse(s);
    let want = (3..=64).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    assert_eq!(purpose.is_ok(), want, "{s:?}");
    match purpose {
        Ok(p) => {
            assert_eq!(p.as_str(), t);
            assert_eq!(Purpose::parse(p.as_str()).as_ref(), Ok(&p));
            assert_eq!(serde_json::to_string(&p).unwrap(), serde_json::to_string(t).unwrap());
        }
        Err(e) => assert_eq!(e, SharingError::Purpose),
    }

    if let Some(r) = RegistryName::parse(s) {
        assert_eq!(r.as_str(), s);
        assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{s}\""));
    }

    let fields: Vec<&str> = s.split(',').collect();
    for r in REGISTRIES {
        let all = r.fields();
        match parse_fields(r, &fields) {
            Ok(out) => {
                // Known, duplicate-free, in registry order, and exactly the fields asked for.
                assert!(!out.is_empty());
                let pos: Vec<usize> = out
                    .iter()
                    .map(|f| all.iter().position(|a| a == f).expect("a field of the registry"))
                    .collect();
                assert!(pos.windows(2).all(|w| w[0] < w[1]), "{out:?}");
                for f in &fields {
                    assert!(out.contains(&f.trim()));
                }
                // A canonical list parses to itself.
                assert_eq!(parse_fields(r, &out).as_ref(), Ok(&out));
            }
            Err(SharingError::UnknownField(i)) => {
                assert!(i < fields.len());
                assert!(fields[..i].iter().all(|f| all.contains(&f.trim())));
                assert!(!all.contains(&fields[i].trim()));
            }
            Err(e) => panic!("unexpected error {e:?} for {s:?}"),
        }
    }
    for r in REGISTRIES {
        assert_eq!(parse_fields::<&str>(r, &[]), Err(SharingError::NoFields));
    }
});
