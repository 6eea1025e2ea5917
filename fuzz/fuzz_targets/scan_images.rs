//! Scans uploaded at a counter (`sohoa_pdf::scan::combine`): any bytes declared as JPEG,
//! PNG or PDF, alone or two at a time: never a panic; a scan accepted is a PDF (the one
//! sent, or one page per image); a refusal names a file that was sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_pdf::scan::{combine, Part, ScanError};

const KINDS: [&str; 3] = ["image/jpeg", "image/png", "application/pdf"];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    // The first byte picks the declared types and where the input splits into two files.
    let kind = |n: u8| KINDS[usize::from(n) % KINDS.len()];
    let cut = usize::from(first >> 2).min(rest.len());
    let (a, b) = rest.split_at(cut);
    let one = [Part { media_type: kind(first), bytes: rest }];
    let two = [
        Part { media_type: kind(first), bytes: a },
        Part { media_type: kind(first >> 1), bytes: b },
    ];
    for parts in [&one[..], &two[..]] {
        match combine(parts, "scan") {
            Ok(pdf) => assert!(pdf.starts_with(b"%PDF-")),
            Err(ScanError::NotDeclaredType { index, .. } | ScanError::Image { index, .. }) => {
                assert!((1..=parts.len()).contains(&index));
            }
            Err(_) => {}
        }
    }
});
