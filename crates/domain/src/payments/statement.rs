//! A bank statement's credits, as the city's bank exports them to CSV: each line a
//! transfer in, with the note the payer's app carried over from the VietQR code (the
//! application's number), read into lines that can be matched to fees owed.

use time::Date;

use crate::services::application::ApplicationNumber;
use crate::Money;

/// One credit of the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    /// The line in the file (the header is line 1).
    pub line: u64,
    /// The bank's own id of the transfer: a credit is applied once per id.
    pub transaction: String,
    pub date: Date,
    pub amount: Money,
    /// The transfer note as the bank printed it.
    pub note: String,
    /// Every application number the note names (none, one, or several: only exactly one
    /// can be matched).
    pub numbers: Vec<ApplicationNumber>,
}

/// A line that cannot be read, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

/// The columns, by their header names (in any order; others are ignored).
pub const COLUMNS: [&str; 4] = ["transaction_id", "date", "amount", "description"];

/// The most lines one statement may hold.
pub const MAX_LINES: usize = 200_000;

/// Reads a statement: every credit, and every line refused with its reason. A statement
/// whose header lacks a column is refused whole.
pub fn parse(text: &str) -> Result<(Vec<Credit>, Vec<Rejected>), String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| format!("the header cannot be read: {e}"))?
        .clone();
    let mut at = [0usize; 4];
    for (i, name) in COLUMNS.iter().enumerate() {
        at[i] = header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "the header has no column {name} (it needs {})",
                    COLUMNS.join(", ")
                )
            })?;
    }
    let (mut credits, mut rejected) = (Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_LINES {
            return Err(format!("a statement holds at most {MAX_LINES} lines"));
        }
        let line = i as u64 + 2;
        let fields = match record {
            Ok(r) => r,
            Err(e) => {
                rejected.push(Rejected {
                    line,
                    reason: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        let get = |c: usize| fields.get(at[c]).unwrap_or("");
        match credit(line, get(0), get(1), get(2), get(3)) {
            Ok(c) => credits.push(c),
            Err(reason) => rejected.push(Rejected { line, reason }),
        }
    }
    Ok((credits, rejected))
}

fn credit(line: u64, txn: &str, date: &str, amount: &str, note: &str) -> Result<Credit, String> {
    if txn.is_empty() || txn.chars().count() > 64 {
        return Err("transaction_id must be 1 to 64 characters".into());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(date, &format).map_err(|_| "date must be YYYY-MM-DD".to_owned())?;
    // Banks print thousands separators in either convention; đồng has no decimals.
    let digits: String = amount
        .chars()
        .filter(|c| !matches!(c, '.' | ',' | ' '))
        .collect();
    let amount = digits
        .parse::<i64>()
        .ok()
        .filter(|a| *a > 0)
        .and_then(|a| Money::from_dong(a).ok())
        .ok_or_else(|| "amount must be a credit, a whole number of đồng above zero".to_owned())?;
    Ok(Credit {
        line,
        transaction: txn.to_owned(),
        date,
        amount,
        note: note.to_owned(),
        numbers: numbers_in(note),
    })
}

/// The distinct application numbers in a note: `HS` and ten base-32 characters, standing
/// alone (banks keep letters and digits, and may glue words with `-` or `.`).
pub fn numbers_in(note: &str) -> Vec<ApplicationNumber> {
    let mut out: Vec<ApplicationNumber> = Vec::new();
    for word in note.split(|c: char| !c.is_ascii_alphanumeric()) {
        if let Some(n) = ApplicationNumber::parse(word) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_credits_and_reports_every_bad_line() {
        let text = "\u{feff}Date,Amount,Description,Transaction_ID,Balance\n\
            2026-12-01,\"20,000\",HS0123456789 le phi,FT001,5\n\
            2026-12-01,50000,chuyen tien,FT002,5\n\
            2026-13-01,1,HS0123456789,FT003,5\n\
            2026-12-02,-5,x,FT004,5\n\
            2026-12-02,10000,HS0123456789 HS0123456780 hs0123456789,FT005,5\n";
        let (credits, rejected) = parse(text).unwrap();
        assert_eq!(credits.len(), 3);
        assert_eq!(credits[0].amount.dong(), 20_000);
        assert_eq!(credits[0].numbers.len(), 1);
        assert_eq!(credits[0].line, 2);
        assert!(credits[1].numbers.is_empty());
        assert_eq!(credits[2].numbers.len(), 2);
        assert_eq!(
            rejected.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![4, 5]
        );
    }

    #[test]
    fn a_header_without_a_column_is_refused() {
        assert!(parse("date,amount\n2026-12-01,5\n")
            .unwrap_err()
            .contains("transaction_id"));
    }

    #[test]
    fn numbers_stand_alone() {
        assert_eq!(numbers_in("XHS0123456789").len(), 0);
        assert_eq!(numbers_in("NOP-HS0123456789.").len(), 1);
    }
}
