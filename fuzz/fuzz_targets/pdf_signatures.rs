//! Anyone's signed PDF (`POST /verify`, `/api/v1/signatures/verify`): finding the signature
//! dictionaries (`sohoa_pdf::signatures`) and checking each CMS (`sohoa_sign::pades::verify`)
//! on any bytes: never a panic; every signature found has a byte range that starts at 0,
//! skips exactly its `/Contents` and stays inside the file; with no trusted anchor nothing
//! is ever valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_sign::{pades, Trust};

fuzz_target!(|data: &[u8]| {
    if let Ok(found) = sohoa_pdf::signatures(data) {
        assert!(!found.is_empty());
        for s in &found {
            let [a, b, c, d] = s.byte_range;
            assert_eq!(a, 0);
            assert!(b <= c && c + d <= data.len());
            assert_eq!(s.covers_whole_file, c + d == data.len());
        }
    }
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    if let Ok(checked) = pades::verify(data, &Trust::new(), now) {
        assert!(checked.iter().all(|s| !s.valid()));
    }
});
