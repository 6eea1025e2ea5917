//! Bank statements (`statement::parse`): never a panic; every line is either a credit or
//! refused, with its line number, once; credits are positive and name only well-formed
//! application numbers, each once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sohoa_domain::payments::statement::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let text = format!("transaction_id,date,amount,description\n{s}");
    let Ok((credits, rejected)) = parse(&text) else {
        return;
    };
    let mut lines: Vec<u64> = credits.iter().map(|c| c.line).chain(rejected.iter().map(|r| r.line)).collect();
    let n = lines.len();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), n, "a line reported twice");
    assert!(lines.iter().all(|l| *l >= 2));
    for c in &credits {
        assert!(c.amount.dong() > 0);
        assert!(!c.transaction.is_empty());
        let mut numbers = c.numbers.clone();
        numbers.dedup();
        assert_eq!(numbers.len(), c.numbers.len());
        assert!(c.numbers.iter().all(|n| c.note.to_ascii_uppercase().contains(n.as_str())));
    }
});
