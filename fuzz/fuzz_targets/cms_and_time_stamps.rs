//! The DER that signatures are made of, from anyone: CMS `SignedData`
//! (`sohoa_sign::cms::SignedData::parse`), X.509 certificates (`x509::Certificate::parse`,
//! `Name::read`), RFC 3161 requests (`tsp::Request::parse`, what `POST /tsa` reads) and
//! `TSTInfo`, and a whole signature check: never a panic; a request accepted re-encodes to
//! one that parses back equal; nothing is valid without a trusted anchor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_sign::{cms, tsp, x509, Trust};

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = cms::SignedData::parse(data) {
        for s in &sd.signers {
            let _ = s.signed_attrs_der();
            let _ = sd.certificate_of(&s.id);
        }
    }
    if let Ok(cert) = x509::Certificate::parse(data) {
        let _ = cert.subject_name();
        let _ = cert.serial_hex();
        let _ = x509::extended_key_usages(data);
        let _ = x509::public_key_hex(data);
    }
    let _ = x509::Name::read(data);
    let _ = tsp::TstInfo::parse(data);
    if let Ok(req) = tsp::Request::parse(data) {
        assert_eq!(tsp::Request::parse(&req.to_der()), Ok(req));
    }
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let (cms, content) = data.split_at(data.len() / 2);
    assert!(!sohoa_sign::check(cms, &[content], &Trust::new(), now).valid());
});
