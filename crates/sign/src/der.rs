//! DER, the encoding of X.509, CMS and RFC 3161: a writer for what sohoa signs and a reader
//! for what anyone sends. The reader also takes BER's indefinite lengths (some signing tools
//! stream their CMS that way); it never allocates and never recurses more than `MAX_DEPTH`.

use thiserror::Error;

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const UTF8_STRING: u8 = 0x0C;
pub const PRINTABLE_STRING: u8 = 0x13;
pub const IA5_STRING: u8 = 0x16;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const BMP_STRING: u8 = 0x1E;
pub const BOOLEAN: u8 = 0x01;

/// How deep indefinite-length values may nest before the input is refused.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DerError {
    #[error("the encoding ends early")]
    Truncated,
    #[error("a length is malformed")]
    BadLength,
    #[error("expected tag {expected:#04x}, found {found:#04x}")]
    UnexpectedTag { expected: u8, found: u8 },
    #[error("a value is malformed: {0}")]
    Malformed(&'static str),
    #[error("values nest too deeply")]
    TooDeep,
}

pub type DerResult<T> = Result<T, DerError>;

// ---- writing ----

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// One value: its tag, length and content.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// A constructed value of the parts, in order.
pub fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    constructed(SEQUENCE, parts)
}

/// A SET OF: DER orders the members by their encodings.
pub fn set_of(mut members: Vec<Vec<u8>>) -> Vec<u8> {
    members.sort();
    tlv(SET, &members.concat())
}

/// `[n] EXPLICIT`.
pub fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xA0 | n, inner)
}

/// `[n] IMPLICIT` of a constructed value: the value with its tag replaced.
pub fn implicit_constructed(n: u8, value: &[u8]) -> Vec<u8> {
    retag(value, 0xA0 | n)
}

/// `value` (one whole TLV) under another tag.
pub fn retag(value: &[u8], tag: u8) -> Vec<u8> {
    let mut out = value.to_vec();
    if let Some(first) = out.first_mut() {
        *first = tag;
    }
    out
}

/// An INTEGER from unsigned big-endian bytes.
pub fn uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => &[0],
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(INTEGER, &content)
}

pub fn small_uint(n: u64) -> Vec<u8> {
    uint(&n.to_be_bytes())
}

pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(OCTET_STRING, b)
}

pub fn boolean(b: bool) -> Vec<u8> {
    tlv(BOOLEAN, &[if b { 0xFF } else { 0 }])
}

/// An OBJECT IDENTIFIER's content from its arcs.
pub fn oid_content(arcs: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    let (first, rest) = match arcs {
        [a, b, rest @ ..] => (a * 40 + b, rest),
        [a] => (a * 40, &[][..]),
        [] => return out,
    };
    for arc in std::iter::once(first).chain(rest.iter().copied()) {
        let mut chunk = vec![(arc & 0x7F) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            chunk.push(0x80 | (v & 0x7F) as u8);
            v >>= 7;
        }
        chunk.reverse();
        out.extend_from_slice(&chunk);
    }
    out
}

pub fn oid(arcs: &[u64]) -> Vec<u8> {
    tlv(OID, &oid_content(arcs))
}

/// GeneralizedTime in UTC, to the second (or with milliseconds when `millis`).
pub fn generalized_time(t: time::OffsetDateTime, millis: bool) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let ms = t.millisecond();
    if millis && ms > 0 {
        // DER drops trailing zeros of the fraction.
        let frac = format!("{ms:03}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    tlv(GENERALIZED_TIME, s.as_bytes())
}

// ---- reading ----

/// One value read: its tag, its content and the whole encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    pub fn reader(&self) -> Reader<'a> {
        Reader::new(self.content)
    }

    pub fn expect(self, tag: u8) -> DerResult<Self> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(DerError::UnexpectedTag {
                expected: tag,
                found: self.tag,
            })
        }
    }

    /// An INTEGER's magnitude (leading zero dropped); negative integers are refused.
    pub fn unsigned(&self) -> DerResult<&'a [u8]> {
        match self.content {
            [] => Err(DerError::Malformed("empty integer")),
            [first, ..] if first & 0x80 != 0 => Err(DerError::Malformed("negative integer")),
            [0, rest @ ..] if !rest.is_empty() => Ok(rest),
            c => Ok(c),
        }
    }

    pub fn small_unsigned(&self) -> DerResult<u64> {
        let b = self.unsigned()?;
        if b.len() > 8 {
            return Err(DerError::Malformed("integer too large"));
        }
        Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
    }

    /// A BIT STRING's bytes (only whole bytes, as keys and signatures are).
    pub fn bits(&self) -> DerResult<&'a [u8]> {
        match self.content {
            [0, rest @ ..] => Ok(rest),
            _ => Err(DerError::Malformed("bit string with unused bits")),
        }
    }
}

/// Reads values one after another from a slice.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// The tag of the next value, if any.
    pub fn peek(&self) -> Option<u8> {
        self.input.first().copied()
    }

    pub fn read(&mut self) -> DerResult<Tlv<'a>> {
        let (tlv, used) = read_at(self.input, 0)?;
        self.input = &self.input[used..];
        Ok(tlv)
    }

    pub fn expect(&mut self, tag: u8) -> DerResult<Tlv<'a>> {
        self.read()?.expect(tag)
    }

    /// The next value if it has `tag`.
    pub fn optional(&mut self, tag: u8) -> DerResult<Option<Tlv<'a>>> {
        if self.peek() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Every value left.
    pub fn all(mut self) -> DerResult<Vec<Tlv<'a>>> {
        let mut out = Vec::new();
        while !self.is_empty() {
            out.push(self.read()?);
        }
        Ok(out)
    }
}

/// One value at the start of `input`, and how many bytes it took.
fn read_at(input: &[u8], depth: usize) -> DerResult<(Tlv<'_>, usize)> {
    if depth > MAX_DEPTH {
        return Err(DerError::TooDeep);
    }
    let (&tag, rest) = input.split_first().ok_or(DerError::Truncated)?;
    if tag & 0x1F == 0x1F {
        return Err(DerError::Malformed("multi-byte tags are not used here"));
    }
    let (&first, rest) = rest.split_first().ok_or(DerError::Truncated)?;
    let header = 2;
    if first == 0x80 {
        // Indefinite length (BER): constructed only, ends at two zero bytes.
        if tag & 0x20 == 0 {
            return Err(DerError::BadLength);
        }
        let mut used = 0;
        loop {
            let tail = rest.get(used..).ok_or(DerError::Truncated)?;
            if tail.starts_with(&[0, 0]) {
                let content = &rest[..used];
                let total = header + used + 2;
                return Ok((
                    Tlv {
                        tag,
                        content,
                        raw: &input[..total],
                    },
                    total,
                ));
            }
            let (_, n) = read_at(tail, depth + 1)?;
            used += n;
        }
    }
    let (len, lenlen) = if first < 0x80 {
        (usize::from(first), 0)
    } else {
        let n = usize::from(first & 0x7F);
        if n > 4 {
            return Err(DerError::BadLength);
        }
        let bytes = rest.get(..n).ok_or(DerError::Truncated)?;
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
            n,
        )
    };
    let start = header + lenlen;
    let end = start.checked_add(len).ok_or(DerError::BadLength)?;
    let raw = input.get(..end).ok_or(DerError::Truncated)?;
    Ok((
        Tlv {
            tag,
            content: &raw[start..],
            raw,
        },
        end,
    ))
}

/// Exactly one value filling `input`.
pub fn parse_one(input: &[u8]) -> DerResult<Tlv<'_>> {
    let mut r = Reader::new(input);
    let v = r.read()?;
    if !r.is_empty() {
        return Err(DerError::Malformed("bytes after the value"));
    }
    Ok(v)
}

/// The first value of `input`, ignoring what follows (a PDF's signature is padded with
/// zeros after its CMS).
pub fn parse_first(input: &[u8]) -> DerResult<Tlv<'_>> {
    Reader::new(input).read()
}

/// An OID's dotted form, for messages.
pub fn oid_string(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for b in content {
        v = (v << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A time value (UTCTime or GeneralizedTime) as a moment.
pub fn read_time(t: &Tlv<'_>) -> DerResult<time::OffsetDateTime> {
    // Times are ASCII (X.680); anything else would also make the slicing below cut a char.
    if !t.content.is_ascii() {
        return Err(DerError::Malformed("time"));
    }
    let s = std::str::from_utf8(t.content).map_err(|_| DerError::Malformed("time"))?;
    let s = s
        .strip_suffix('Z')
        .ok_or(DerError::Malformed("time not in UTC"))?;
    let (full, frac) = match t.tag {
        UTC_TIME if s.len() == 12 => {
            let yy: i32 = s[..2].parse().map_err(|_| DerError::Malformed("time"))?;
            let century = if yy >= 50 { "19" } else { "20" };
            (format!("{century}{s}"), None)
        }
        GENERALIZED_TIME if s.len() >= 14 => {
            let (whole, frac) = s.split_at(14);
            (whole.to_owned(), frac.strip_prefix('.'))
        }
        _ => return Err(DerError::Malformed("time")),
    };
    let num = |r: std::ops::Range<usize>| -> DerResult<u32> {
        full.get(r)
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .ok_or(DerError::Malformed("time"))
    };
    let month = time::Month::try_from(num(4..6)? as u8).map_err(|_| DerError::Malformed("time"))?;
    let date = time::Date::from_calendar_date(num(0..4)? as i32, month, num(6..8)? as u8)
        .map_err(|_| DerError::Malformed("time"))?;
    let mut at = time::Time::from_hms(num(8..10)? as u8, num(10..12)? as u8, num(12..14)? as u8)
        .map_err(|_| DerError::Malformed("time"))?;
    if let Some(f) = frac {
        let digits: String = f.chars().take(9).collect();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DerError::Malformed("time"));
        }
        let nanos: u32 = format!("{digits:0<9}")
            .parse()
            .map_err(|_| DerError::Malformed("time"))?;
        at = at
            .replace_nanosecond(nanos)
            .map_err(|_| DerError::Malformed("time"))?;
    }
    Ok(time::PrimitiveDateTime::new(date, at).assume_utc())
}

/// A directory string's text (UTF8String, PrintableString, IA5String, BMPString, T61 as
/// Latin-1).
pub fn read_string(t: &Tlv<'_>) -> Option<String> {
    match t.tag {
        UTF8_STRING | PRINTABLE_STRING | IA5_STRING | 0x12 | 0x1A => {
            std::str::from_utf8(t.content).ok().map(str::to_owned)
        }
        0x14 => Some(t.content.iter().map(|b| char::from(*b)).collect()),
        BMP_STRING => {
            let units: Vec<u16> = t
                .content
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip() {
        let c = oid_content(&[1, 2, 840, 113549, 1, 7, 2]);
        assert_eq!(c, [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02]);
        assert_eq!(oid_string(&c), "1.2.840.113549.1.7.2");
    }

    #[test]
    fn lengths_and_integers() {
        let long = tlv(OCTET_STRING, &[7u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2C]);
        let v = parse_one(&long).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.content.len(), 300);
        assert_eq!(uint(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0, 0, 5]), [0x02, 0x01, 0x05]);
        let enc = uint(&[0x80, 1]);
        let i = parse_one(&enc).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(i.unsigned(), Ok(&[0x80, 1][..]));
    }

    #[test]
    fn indefinite_lengths_are_read() {
        // SEQUENCE (indefinite) { OCTET STRING 'ab' } then end-of-contents.
        let ber = [0x30, 0x80, 0x04, 0x02, b'a', b'b', 0, 0, 0xFF];
        let v = parse_first(&ber).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.content, &[0x04, 0x02, b'a', b'b']);
        assert_eq!(v.raw.len(), 8);
        assert!(parse_first(&[0x30, 0x80, 0x04, 0x05, 1]).is_err());
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100).flatten().collect();
        assert!(parse_first(&deep).is_err());
    }

    #[test]
    fn times() {
        let t = time::macros::datetime!(2026-12-07 23:51:03.250 UTC);
        let g = generalized_time(t, true);
        assert_eq!(&g[2..], b"20261207235103.25Z");
        let back = read_time(&parse_one(&g).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(back, Ok(t));
        // Found by fuzzing (cms_and_time_stamps): a multi-byte character where digits go.
        let odd = tlv(UTC_TIME, "2ӵ207233841Z".as_bytes());
        assert!(read_time(&parse_one(&odd).unwrap()).is_err());
        let utc = tlv(UTC_TIME, b"491231235959Z");
        assert_eq!(
            read_time(&parse_one(&utc).unwrap_or_else(|e| panic!("{e}"))).map(|t| t.year()),
            Ok(2049)
        );
    }
}
