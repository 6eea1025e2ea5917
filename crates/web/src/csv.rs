//! CSV downloads (RFC 4180), opened by spreadsheet programs as UTF-8 thanks to a leading
//! byte-order mark: Vietnamese names survive a double click in Excel.

use axum::http::header;
use axum::response::{IntoResponse, Response};

pub struct Writer {
    out: String,
}

impl Writer {
    pub fn new(header: &[&str]) -> Self {
        let mut w = Self {
            out: String::from("\u{feff}"),
        };
        w.line(header.iter().copied());
        w
    }

    pub fn row(&mut self, fields: &[String]) {
        self.line(fields.iter().map(String::as_str));
    }

    fn line<'a>(&mut self, fields: impl Iterator<Item = &'a str>) {
        for (i, f) in fields.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            // A leading =, +, - or @ would be a formula to a spreadsheet: quoted, with a
            // leading apostrophe, it stays text (OWASP's advice on CSV injection). Numbers
            // keep their sign.
            let formula =
                f.starts_with(['=', '+', '@']) || (f.starts_with('-') && f.parse::<f64>().is_err());
            if formula || f.contains([',', '"', '\n', '\r']) {
                self.out.push('"');
                if formula {
                    self.out.push('\'');
                }
                self.out.push_str(&f.replace('"', "\"\""));
                self.out.push('"');
            } else {
                self.out.push_str(f);
            }
        }
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A CSV body offered as a download named `filename` (ASCII).
pub fn response(filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_it_and_defuses_formulas() {
        let mut w = Writer::new(&["a", "b"]);
        w.row(&["Phường Bến Thành, Q1".into(), "-12.5".into()]);
        w.row(&["=HYPERLINK(\"x\")".into(), "-x".into()]);
        assert_eq!(
            w.finish(),
            "\u{feff}a,b\r\n\"Phường Bến Thành, Q1\",-12.5\r\n\"'=HYPERLINK(\"\"x\"\")\",\"'-x\"\r\n"
        );
    }
}
