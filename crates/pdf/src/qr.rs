//! QR codes: the modules of a code for a text, and the code drawn as SVG.

use qrcodegen::{QrCode, QrCodeEcc};

/// The dark modules of `text`'s QR code (medium error correction, which survives a crease
/// in a printed receipt), as rows of booleans; `None` when the text is too long for any
/// QR code.
pub fn modules(text: &str) -> Option<Vec<Vec<bool>>> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let n = code.size();
    Some(
        (0..n)
            .map(|y| (0..n).map(|x| code.get_module(x, y)).collect())
            .collect(),
    )
}

/// The code as a standalone SVG with a four-module quiet zone, one path of unit squares:
/// crisp at any size, no script, no image file.
pub fn svg(text: &str) -> Option<String> {
    let m = modules(text)?;
    let size = m.len() + 8;
    let mut path = String::new();
    for (y, row) in m.iter().enumerate() {
        for (x, dark) in row.iter().enumerate() {
            if *dark {
                path.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\" aria-hidden=\"true\"><rect width=\"{size}\" height=\"{size}\" \
         fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_square_with_finder_patterns() {
        let m = modules("HS0123456789").unwrap();
        let n = m.len();
        assert!(n >= 21 && (n - 17).is_multiple_of(4), "{n}");
        // The top-left finder pattern: a dark 7×7 ring.
        assert!((0..7).all(|i| m[0][i] && m[6][i] && m[i][0] && m[i][6]));
        assert!(!m[1][1] && m[3][3]);
        assert!(svg("x").unwrap().starts_with("<svg"));
        assert!(modules(&"x".repeat(5000)).is_none());
    }
}
