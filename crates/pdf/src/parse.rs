//! Finding the signatures in anyone's PDF: not a whole PDF reader, only enough of the syntax
//! (objects, strings, dictionaries, streams skipped) to find each signature dictionary, its
//! byte ranges and its CMS, and to say where in the file they lie.

use std::ops::Range;

/// A signature dictionary as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSignature {
    /// `[start, length, start, length]`, checked against the file.
    pub byte_range: [usize; 4],
    /// The CMS (with the zero padding its writer left).
    pub contents: Vec<u8>,
    pub sub_filter: Option<String>,
    pub name: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// `/M`, as written (a PDF date).
    pub time: Option<String>,
    /// The ranges end at the end of the file: nothing was added after signing.
    pub covers_whole_file: bool,
}

impl FoundSignature {
    /// The signed bytes of `pdf`: the two ranges.
    pub fn signed_parts<'a>(&self, pdf: &'a [u8]) -> [&'a [u8]; 2] {
        let [a, b, c, d] = self.byte_range;
        [
            pdf.get(a..a + b).unwrap_or_default(),
            pdf.get(c..c + d).unwrap_or_default(),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("not a PDF file")]
    NotPdf,
    #[error("the PDF holds no signature")]
    NoSignature,
    #[error("a signature's byte range is malformed")]
    MalformedByteRange,
    /// The ranges leave out more than the signature itself, or start after the file's
    /// beginning: part of the file is not covered.
    #[error("a signature covers only part of the file")]
    PartialByteRange,
}

/// Every signature dictionary of `pdf`, in file order.
pub fn signatures(pdf: &[u8]) -> Result<Vec<FoundSignature>, SignatureError> {
    let head = &pdf[..1024.min(pdf.len())];
    if find(head, b"%PDF-", 0).is_none() {
        return Err(SignatureError::NotPdf);
    }
    let mut found: Vec<FoundSignature> = Vec::new();
    let mut pos = 0;
    while let Some(at) = find(pdf, b"obj", pos) {
        pos = at + 3;
        if !is_object_header(pdf, at) {
            continue;
        }
        let mut lx = Lexer { src: pdf, pos };
        let Some(obj) = lx.object(0) else { continue };
        pos = lx.skip_stream(&obj).unwrap_or(lx.pos);
        let mut dicts = Vec::new();
        collect(&obj, &mut dicts);
        for d in dicts {
            if let Some(sig) = signature_of(d, pdf.len())? {
                if !found.iter().any(|f| f.byte_range == sig.byte_range) {
                    found.push(sig);
                }
            }
        }
    }
    if found.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    Ok(found)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0C' | 0)
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// Whether `obj` at `at` ends an `N G obj` header.
fn is_object_header(src: &[u8], at: usize) -> bool {
    if src
        .get(at + 3)
        .is_some_and(|b| !is_space(*b) && !is_delimiter(*b))
    {
        return false;
    }
    let mut i = at;
    for _ in 0..2 {
        let end = i;
        while i > 0 && is_space(src[i - 1]) {
            i -= 1;
        }
        if i == end {
            return false;
        }
        let digits_end = i;
        while i > 0 && src[i - 1].is_ascii_digit() {
            i -= 1;
        }
        if i == digits_end {
            return false;
        }
    }
    i == 0 || is_space(src[i - 1]) || is_delimiter(src[i - 1])
}

#[derive(Debug, Clone)]
enum Obj {
    Int(i64),
    Other,
    Name(String),
    Str { bytes: Vec<u8>, span: Range<usize> },
    Array(Vec<Obj>),
    Dict(Vec<(String, Obj)>),
}

fn collect<'a>(o: &'a Obj, out: &mut Vec<&'a [(String, Obj)]>) {
    match o {
        Obj::Dict(entries) => {
            out.push(entries);
            for (_, v) in entries {
                collect(v, out);
            }
        }
        Obj::Array(items) => items.iter().for_each(|i| collect(i, out)),
        _ => {}
    }
}

fn get<'a>(d: &'a [(String, Obj)], key: &str) -> Option<&'a Obj> {
    d.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn text(d: &[(String, Obj)], key: &str) -> Option<String> {
    match get(d, key)? {
        Obj::Str { bytes, .. } => Some(pdf_text(bytes)),
        Obj::Name(n) => Some(n.clone()),
        _ => None,
    }
}

/// A PDF text string: UTF-16BE with its mark, else PDFDocEncoding (Latin-1 is close enough).
fn pdf_text(b: &[u8]) -> String {
    match b {
        [0xFE, 0xFF, rest @ ..] => {
            let units: Vec<u16> = rest
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => b.iter().map(|c| char::from(*c)).collect(),
    }
}

fn signature_of(
    d: &[(String, Obj)],
    file_len: usize,
) -> Result<Option<FoundSignature>, SignatureError> {
    let (Some(Obj::Array(range)), Some(Obj::Str { bytes, span })) =
        (get(d, "ByteRange"), get(d, "Contents"))
    else {
        return Ok(None);
    };
    let nums: Vec<usize> = range
        .iter()
        .filter_map(|o| match o {
            Obj::Int(n) => usize::try_from(*n).ok(),
            _ => None,
        })
        .collect();
    let [a, b, c, l] = nums[..] else {
        return Err(SignatureError::MalformedByteRange);
    };
    let end = c.checked_add(l).ok_or(SignatureError::MalformedByteRange)?;
    if b > c || end > file_len {
        return Err(SignatureError::MalformedByteRange);
    }
    if a != 0 || b != span.start || c != span.end {
        return Err(SignatureError::PartialByteRange);
    }
    Ok(Some(FoundSignature {
        byte_range: [a, b, c, l],
        contents: bytes.clone(),
        sub_filter: text(d, "SubFilter"),
        name: text(d, "Name"),
        reason: text(d, "Reason"),
        location: text(d, "Location"),
        time: text(d, "M"),
        covers_whole_file: end == file_len,
    }))
}

/// How deep arrays and dictionaries may nest.
const MAX_DEPTH: usize = 64;

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if is_space(b) {
                self.pos += 1;
            } else if b == b'%' {
                while self.peek().is_some_and(|b| b != b'\n' && b != b'\r') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<Obj> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_space();
        match self.peek()? {
            b'/' => Some(Obj::Name(self.name())),
            b'(' => self.literal(),
            b'<' if self.src.get(self.pos + 1) == Some(&b'<') => self.dict(depth),
            b'<' => self.hex(),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    if self.peek()? == b']' {
                        self.pos += 1;
                        return Some(Obj::Array(items));
                    }
                    items.push(self.object(depth + 1)?);
                }
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' => Some(self.number()),
            b if b.is_ascii_alphabetic() => {
                while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
                    self.pos += 1;
                }
                Some(Obj::Other)
            }
            _ => None,
        }
    }

    fn dict(&mut self, depth: usize) -> Option<Obj> {
        self.pos += 2;
        let mut entries = Vec::new();
        loop {
            self.skip_space();
            if self.src.get(self.pos..self.pos + 2)? == b">>" {
                self.pos += 2;
                return Some(Obj::Dict(entries));
            }
            if self.peek()? != b'/' {
                return None;
            }
            let key = self.name();
            let value = self.object(depth + 1)?;
            entries.push((key, value));
        }
    }

    fn name(&mut self) -> String {
        self.pos += 1;
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| !is_space(b) && !is_delimiter(b))
        {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.src[start..self.pos]).into_owned()
    }

    /// An integer, or a reference `N G R` (kept as `Other`), or a real (`Other`).
    fn number(&mut self) -> Obj {
        let start = self.pos;
        self.pos += 1;
        while self.peek().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
            self.pos += 1;
        }
        let s = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
        let Ok(n) = s.parse::<i64>() else {
            return Obj::Other;
        };
        // `N G R`: look ahead without consuming unless it is one.
        let save = self.pos;
        self.skip_space();
        let g = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos > g {
            self.skip_space();
            if self.peek() == Some(b'R') {
                self.pos += 1;
                return Obj::Other;
            }
        }
        self.pos = save;
        Obj::Int(n)
    }

    fn hex(&mut self) -> Option<Obj> {
        let start = self.pos;
        self.pos += 1;
        let mut digits = Vec::new();
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'>' => break,
                b if b.is_ascii_hexdigit() => digits.push(b),
                b if is_space(b) => {}
                _ => return None,
            }
        }
        if !digits.len().is_multiple_of(2) {
            digits.push(b'0');
        }
        let val = |d: u8| match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => d - b'A' + 10,
        };
        let bytes = digits
            .chunks(2)
            .map(|p| (val(p[0]) << 4) | val(p[1]))
            .collect();
        Some(Obj::Str {
            bytes,
            span: start..self.pos,
        })
    }

    fn literal(&mut self) -> Option<Obj> {
        let start = self.pos;
        self.pos += 1;
        let mut depth = 1;
        let mut bytes = Vec::new();
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'\\' => {
                    let e = self.peek()?;
                    self.pos += 1;
                    match e {
                        b'n' => bytes.push(b'\n'),
                        b'r' => bytes.push(b'\r'),
                        b't' => bytes.push(b'\t'),
                        b'b' => bytes.push(8),
                        b'f' => bytes.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            bytes.push((v & 0xFF) as u8);
                        }
                        b'\n' => {}
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        other => bytes.push(other),
                    }
                }
                b'(' => {
                    depth += 1;
                    bytes.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(Obj::Str {
                            bytes,
                            span: start..self.pos,
                        });
                    }
                    bytes.push(b);
                }
                other => bytes.push(other),
            }
        }
    }

    /// After a stream's dictionary: the position after `endstream`, if a stream follows.
    fn skip_stream(&mut self, obj: &Obj) -> Option<usize> {
        let Obj::Dict(d) = obj else { return None };
        self.skip_space();
        if !self.src.get(self.pos..)?.starts_with(b"stream") {
            return None;
        }
        let data = self.pos + 6;
        if let Some(Obj::Int(len)) = get(d, "Length") {
            let end = usize::try_from(*len)
                .ok()
                .and_then(|l| data.checked_add(l + 1));
            if let Some(end) = end {
                if let Some(at) = find(self.src, b"endstream", end.saturating_sub(1)) {
                    if at <= end + 2 {
                        return Some(at + 9);
                    }
                }
            }
        }
        find(self.src, b"endstream", data).map(|at| at + 9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdf_with(sig_dict: &str) -> Vec<u8> {
        format!(
            "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n2 0 obj\n{sig_dict}\nendobj\n%%EOF\n"
        )
        .into_bytes()
    }

    #[test]
    fn finds_a_signature_and_checks_its_ranges() {
        let probe = pdf_with("<< /Type /Sig /ByteRange [0 AAAA BBBB CCCC] /Contents <3082> >>");
        let text = String::from_utf8(probe.clone()).unwrap();
        let gap_start = text.find("<3082>").unwrap();
        let gap_end = gap_start + 6;
        let tail = probe.len() - gap_end;
        let real = text
            .replace("AAAA", &format!("{gap_start:04}"))
            .replace("BBBB", &format!("{gap_end:04}"))
            .replace("CCCC", &format!("{tail:04}"));
        let found = signatures(real.as_bytes()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].contents, vec![0x30, 0x82]);
        assert!(found[0].covers_whole_file);
        let mut appended = real.clone().into_bytes();
        appended.extend_from_slice(b"% more\n");
        assert!(!signatures(&appended).unwrap()[0].covers_whole_file);
        let partial = real.replace(
            &format!("[0 {gap_start:04}"),
            &format!("[0 {:04}", gap_start - 5),
        );
        assert_eq!(
            signatures(partial.as_bytes()),
            Err(SignatureError::PartialByteRange)
        );
    }

    #[test]
    fn refuses_what_is_not_a_signed_pdf() {
        assert_eq!(signatures(b"hello"), Err(SignatureError::NotPdf));
        assert_eq!(
            signatures(&pdf_with("<< /Type /Sig >>")),
            Err(SignatureError::NoSignature)
        );
        assert_eq!(
            signatures(&pdf_with("<< /ByteRange [0 1 2] /Contents <00> >>")),
            Err(SignatureError::MalformedByteRange)
        );
        let deep = format!("%PDF-1.7\n1 0 obj\n{}\nendobj", "[".repeat(10_000));
        assert_eq!(
            signatures(deep.as_bytes()),
            Err(SignatureError::NoSignature)
        );
    }

    #[test]
    fn literal_strings_and_references() {
        let mut lx = Lexer {
            src: b"(a\\(b\\)c \\101) 12 0 R 7",
            pos: 0,
        };
        let Some(Obj::Str { bytes, .. }) = lx.object(0) else {
            panic!()
        };
        assert_eq!(bytes, b"a(b)c A");
        assert!(matches!(lx.object(0), Some(Obj::Other)));
        assert!(matches!(lx.object(0), Some(Obj::Int(7))));
    }
}
