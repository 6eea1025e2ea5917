//! VNPay's returns and IPNs (`Merchant::verify`, `Outcome::read`) from arbitrary query pairs:
//! never a panic; whatever the merchant signs itself verifies, and changing any value of a
//! signed query makes it fail.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use sohoa_domain::payments::vnpay::{hash_data, Merchant, Outcome};

fuzz_target!(|pairs: Vec<(String, String)>| {
    let m = Merchant {
        tmn_code: "SOHOA001".into(),
        secret: b"fuzzing-secret-0123456789".to_vec(),
    };
    if let Ok(p) = m.verify(&pairs) {
        let _ = Outcome::read(&p);
    }
    // Sign the vnp_ pairs (first value of each name wins) and verify them back.
    let mut signed: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &pairs {
        if k.starts_with("vnp_") && k != "vnp_SecureHash" && k != "vnp_SecureHashType" {
            signed.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let hash = m.sign(&hash_data(&signed));
    let mut query: Vec<(String, String)> = signed.clone().into_iter().collect();
    query.push(("vnp_SecureHash".into(), hash.clone()));
    assert!(m.verify(&query).is_ok());
    if let Some((k, v)) = signed.iter().find(|(_, v)| !v.is_empty()) {
        let mut changed = signed.clone();
        changed.insert(k.clone(), format!("{v}x"));
        let mut query: Vec<(String, String)> = changed.into_iter().collect();
        query.push(("vnp_SecureHash".into(), hash));
        assert!(m.verify(&query).is_err());
    }
});
