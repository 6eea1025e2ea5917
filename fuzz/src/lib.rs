//! Helpers shared by the fuzz targets: independent restatements of the identifier rules (the
//! oracle each parser is checked against) and the two ways `sohoa import` turns raw rows into
//! input structs (CSV with a header, NDJSON lines).
//!
//! `sohoa::import` keeps its row reader private (`parse_file`, `ndjson_input`), so the row
//! targets cannot call it; `csv_rows` and `ndjson_flat` below repeat what it does, step by
//! step, with the same crates. Keep them in step with crates/sohoa/src/import.rs.

use serde::de::DeserializeOwned;
use time::{macros::date, Date};



/// The day the row targets parse against (fixed, so a crash reproduces on any day).
pub const TODAY: Date = date!(2026 - 11 - 23);

fn all_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A CCCD: after trimming, 12 ASCII digits whose first three (the province) are 001..=096.
pub fn is_valid_citizen_id(s: &str) -> bool {
    let s = s.trim();
    s.len() == 12 && all_ascii_digits(s) && (1..=96).contains(&s[..3].parse::<u32>().unwrap_or(0))
}

/// The tax-code check digit of nine ASCII digits, computed from the published rule:
/// weights 31, 29, 23, 19, 17, 13, 7, 5, 3; check = 10 - (sum mod 11); a result of 10 means
/// no valid code has these nine digits.
pub fn tax_check_digit(nine: &[u8]) -> Option<u8> {
    assert_eq!(nine.len(), 9);
    let weights = [31u32, 29, 23, 19, 17, 13, 7, 5, 3];
    let sum: u32 = nine
        .iter()
        .zip(weights)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = 10 - (sum % 11);
    (check != 10).then_some(check as u8)
}

/// A tax code: after trimming, 10 digits with a correct check digit, optionally `-` and 3
/// more digits (a branch).
pub fn is_valid_tax_code(s: &str) -> bool {
    let s = s.trim();
    let (main, branch) = match s.split_once('-') {
        Some((m, b)) => (m, Some(b)),
        None => (s, None),
    };
    main.len() == 10
        && all_ascii_digits(main)
        && branch.is_none_or(|b| b.len() == 3 && all_ascii_digits(b))
        && tax_check_digit(&main.as_bytes()[..9]) == Some(main.as_bytes()[9] - b'0')
}

/// Every row of a small CSV file with `header` as its first line, read the way
/// `sohoa import` reads a CSV file: a flexible reader, names trimmed, rows of the wrong width
/// and non-UTF-8 rows rejected, the rest deserialized by header name into `T`.
pub fn csv_rows<T: DeserializeOwned>(header: &[&str], body: &[u8]) -> Vec<Result<T, String>> {
    let mut file = header.join(",").into_bytes();
    file.push(b'\n');
    file.extend_from_slice(body);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(file.as_slice());
    let Ok(headers) = rdr.byte_headers().cloned() else {
        return vec![Err("header".into())];
    };
    let Ok(headers) = csv::StringRecord::from_byte_record(headers) else {
        return vec![Err("header".into())];
    };
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_owned()).collect();
    let headers = csv::StringRecord::from(names);
    let mut out = Vec::new();
    let mut raw = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut raw) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.push(Err(format!("malformed_row: {e}")));
                // A reader error is sticky for I/O only; from a slice there is none.
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        if raw.len() != headers.len() {
            out.push(Err("wrong_field_count".into()));
            continue;
        }
        out.push(match csv::StringRecord::from_byte_record(raw.clone()) {
            Err(_) => Err("invalid_utf8".into()),
            Ok(rec) => rec
                .deserialize::<T>(Some(&headers))
                .map_err(|e| format!("malformed_row: {e}")),
        });
    }
    out
}

/// An NDJSON line as `sohoa import` reads it (`ndjson_input`): a JSON object whose keys must
/// be columns of `header` and include `required`; every value becomes text (null as empty,
/// numbers as written, objects and arrays as JSON) before it is deserialized into `T`.
pub fn ndjson_flat<T: DeserializeOwned>(
    header: &[&str],
    required: &[&str],
    text: &str,
) -> Result<T, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let obj = value.as_object().ok_or("not a JSON object")?;
    let mut flat = serde_json::Map::new();
    for (k, v) in obj {
        if !header.contains(&k.as_str()) {
            return Err(format!("unknown field {k:?}"));
        }
        let s = match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        flat.insert(k.clone(), serde_json::Value::String(s));
    }
    for r in required {
        if !flat.contains_key(*r) {
            return Err(format!("missing field {r:?}"));
        }
    }
    serde_json::from_value(serde_json::Value::Object(flat)).map_err(|e| e.to_string())
}

/// Whether two JSON values have the same shape and contents, numbers compared as `f64` up to
/// a relative 1e-12: serde_json (without its `float_roundtrip` feature, as the project builds
/// it) may read back a printed float one ulp away.
pub fn json_close(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
            _ => x == y,
        },
        (V::Array(x), V::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_close(x, y))
        }
        (V::Object(x), V::Object(y)) => {
            x.len() == y.len()
                && x
                    .iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_close(v, w)))
        }
        _ => a == b,
    }
}

/// How a row target reads its input: a first byte of `{` makes the input NDJSON lines, `#`
/// makes the rest raw material for an `Arbitrary` struct (arbitrary text in every field),
/// anything else is the body of a CSV file under the registry's header.
pub enum RowInput<'a> {
    Ndjson(&'a str),
    Fields(&'a [u8]),
    Csv(&'a [u8]),
}

pub fn row_input(data: &[u8]) -> Option<RowInput<'_>> {
    match data.first() {
        Some(b'{') => std::str::from_utf8(data).ok().map(RowInput::Ndjson),
        Some(b'#') => Some(RowInput::Fields(&data[1..])),
        _ => Some(RowInput::Csv(data)),
    }
}

/// Whether `t` is what `registry::clean_text` makes of text: NFC, trimmed, no whitespace but
/// single spaces.
pub fn is_clean_text(t: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    !t.is_empty()
        && t.trim() == t
        && !t.contains("  ")
        && !t.chars().any(|c| c.is_whitespace() && c != ' ')
        && t.nfc().eq(t.chars())
}
