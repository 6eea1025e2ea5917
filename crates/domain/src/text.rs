//! Text helpers for Vietnamese: search that ignores diacritics and case.

use unicode_normalization::UnicodeNormalization;

/// Folds Vietnamese text for search: lower case, diacritics removed, `đ` to `d`, runs of
/// whitespace collapsed. "Phường Bến Thành" and "phuong ben thanh" fold to the same string,
/// because most people type on phones without a Vietnamese keyboard.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.nfd() {
        let c = match c {
            'đ' | 'Đ' => 'd',
            '\u{0300}'..='\u{036f}' => continue,
            // Control characters never belong in a search (and PostgreSQL refuses NUL).
            c if c.is_control() && !c.is_whitespace() => continue,
            c => c,
        };
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        out.extend(c.to_lowercase());
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_diacritics_case_and_d_stroke() {
        assert_eq!(fold("Phường Bến Thành"), "phuong ben thanh");
        assert_eq!(fold("Đặc khu Côn Đảo"), "dac khu con dao");
        assert_eq!(fold("  Thủ   Dầu Một "), "thu dau mot");
        assert_eq!(fold("Xã Bình Chánh"), fold("xa binh chanh"));
        assert_eq!(fold("b\u{0}en\tthanh"), "ben thanh");
    }
}
