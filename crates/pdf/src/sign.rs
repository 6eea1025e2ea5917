//! A PDF made ready for a signature (ISO 32000-1, 12.8): a signature dictionary whose
//! `/ByteRange` covers the whole file but its own `/Contents`, which waits, zero-filled, for
//! the CMS. The signer digests the two ranges and embeds the CMS without moving a byte.

use crate::writer::text_string;

/// Bytes reserved for the CMS: a P-256 signature with its certificates and a time-stamp token
/// with the authority's take about 4 KiB; RSA and longer chains from other signers fit too.
pub const CONTENTS_CAPACITY: usize = 16 * 1024;

const RANGE_PLACEHOLDER: &str = "[0 9999999999 9999999999 9999999999]";

/// What the signature dictionary says of itself (PAdES keeps the signing time in `/M`,
/// not in the CMS).
#[derive(Debug, Clone)]
pub struct SignatureField {
    pub name: String,
    pub reason: String,
    pub location: String,
    /// The signing time, UTC.
    pub time: time_parts::Utc,
    /// `ETSI.CAdES.detached` (PAdES) unless told otherwise.
    pub sub_filter: &'static str,
}

/// Date parts without a date library: the PDF crate stays dependency-light.
pub mod time_parts {
    /// A UTC moment as year, month, day, hour, minute, second.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Utc(pub i32, pub u8, pub u8, pub u8, pub u8, pub u8);
}

fn dictionary(f: &SignatureField) -> String {
    let time_parts::Utc(y, mo, d, h, mi, s) = f.time;
    format!(
        "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /{} /ByteRange {RANGE_PLACEHOLDER} \
         /Contents <{}> /Name {} /Reason {} /Location {} /M (D:{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z) >>",
        f.sub_filter,
        "0".repeat(CONTENTS_CAPACITY * 2),
        text_string(&f.name),
        text_string(&f.reason),
        text_string(&f.location),
    )
}

/// The signature dictionary (written last, so that its placeholders are the last of their
/// kind in the file) and its invisible widget on the first page.
pub(crate) fn write_field(
    w: &mut crate::writer::Writer,
    widget: usize,
    field: &SignatureField,
    page: Option<usize>,
) {
    let sig = w.add(dictionary(field));
    let page = page.map(|p| format!(" /P {p} 0 R")).unwrap_or_default();
    w.set(
        widget,
        format!(
            "<< /Type /Annot /Subtype /Widget /FT /Sig /T {} /V {sig} 0 R \
             /Rect [0 0 0 0] /F 132{page} >>",
            text_string("Signature1")
        ),
    );
}

/// A PDF with its byte ranges fixed, waiting for the CMS.
#[derive(Debug, Clone)]
pub struct Signable {
    bytes: Vec<u8>,
    /// Where `<...>` of `/Contents` lies.
    gap: std::ops::Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    #[error("the signature ({0} bytes) does not fit the space reserved for it")]
    TooLarge(usize),
    #[error("the document has no signature field")]
    NoField,
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

pub(crate) fn prepare(mut bytes: Vec<u8>) -> Signable {
    let placeholder = format!("<{}>", "0".repeat(CONTENTS_CAPACITY * 2));
    let gap = match rfind(&bytes, placeholder.as_bytes()) {
        Some(at) => at..at + placeholder.len(),
        None => 0..0,
    };
    if let Some(at) = rfind(&bytes, RANGE_PLACEHOLDER.as_bytes()) {
        let tail = bytes.len() - gap.end;
        let mut range = format!("[0 {} {} {tail}]", gap.start, gap.end);
        while range.len() < RANGE_PLACEHOLDER.len() {
            range.push(' ');
        }
        bytes[at..at + RANGE_PLACEHOLDER.len()].copy_from_slice(range.as_bytes());
    }
    Signable { bytes, gap }
}

impl Signable {
    /// The bytes the signature covers: all but the `/Contents` string.
    pub fn signed_parts(&self) -> [&[u8]; 2] {
        [&self.bytes[..self.gap.start], &self.bytes[self.gap.end..]]
    }

    /// The signed file: `cms` (DER) written into `/Contents`.
    pub fn embed(mut self, cms: &[u8]) -> Result<Vec<u8>, EmbedError> {
        if self.gap.is_empty() {
            return Err(EmbedError::NoField);
        }
        if cms.len() > CONTENTS_CAPACITY {
            return Err(EmbedError::TooLarge(cms.len()));
        }
        let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
        let at = self.gap.start + 1;
        self.bytes[at..at + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}
