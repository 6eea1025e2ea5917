//! The bytes of a PDF file: numbered objects, streams (Flate-compressed), the
//! cross-reference table and the trailer. Every document is written whole, in one pass.

use std::fmt::Write as _;

/// Objects being written; object `n` is `objects[n - 1]`.
#[derive(Debug, Default)]
pub struct Writer {
    objects: Vec<Vec<u8>>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A number for an object written later (one that refers to objects after it).
    pub fn reserve(&mut self) -> usize {
        self.objects.push(Vec::new());
        self.objects.len()
    }

    pub fn set(&mut self, id: usize, body: impl Into<Vec<u8>>) {
        if let Some(slot) = self.objects.get_mut(id.wrapping_sub(1)) {
            *slot = body.into();
        }
    }

    pub fn add(&mut self, body: impl Into<Vec<u8>>) -> usize {
        self.objects.push(body.into());
        self.objects.len()
    }

    /// A stream object with `extra` dictionary entries; `compress` deflates it.
    pub fn add_stream(&mut self, extra: &str, data: &[u8], compress: bool) -> usize {
        let (filter, body) = if compress {
            (
                " /Filter /FlateDecode",
                miniz_oxide::deflate::compress_to_vec_zlib(data, 6),
            )
        } else {
            ("", data.to_vec())
        };
        self.add_raw_stream(&format!("{extra}{filter}"), &body)
    }

    /// A stream whose bytes are already encoded as `dict` says (`/Filter /DCTDecode`).
    pub fn add_raw_stream(&mut self, dict: &str, body: &[u8]) -> usize {
        let mut out = format!("<< /Length {}{dict} >>\nstream\n", body.len()).into_bytes();
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendstream");
        self.add(out)
    }

    /// The file: header, objects, cross-reference table and trailer.
    pub fn finish(self, root: usize, info: usize) -> Vec<u8> {
        // The binary comment tells transfer programs that the file is not text.
        let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for (i, body) in self.objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", self.objects.len() + 1);
        for o in offsets {
            let _ = writeln!(table, "{o:010} 00000 n ");
        }
        // The file identifier PDF/A asks for: made from the content (so the same document
        // gets the same one), not a random number.
        let id = identifier(&self.objects);
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root {root} 0 R /Info {info} 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref}\n%%EOF\n",
            self.objects.len() + 1
        );
        out.extend_from_slice(table.as_bytes());
        out
    }
}

/// 128 bits from the objects' bytes (two FNV-1a passes): an identifier, not a digest.
fn identifier(objects: &[Vec<u8>]) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x6c62_272e_07bb_0142;
    for byte in objects.iter().flatten() {
        a = (a ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{a:016X}{b:016X}")
}

/// A text string as PDF writes one: UTF-16BE with its byte-order mark, in hex.
pub fn text_string(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for u in s.encode_utf16() {
        let _ = write!(out, "{u:04X}");
    }
    out.push('>');
    out
}
