//! Documents for paper, without I/O: QR codes (as SVG for pages, as modules for PDF), PDF
//! pages with a real font embedded (Vietnamese needs its diacritics), and scans (JPEG, PNG)
//! made into one PDF.

mod doc;
mod font;
mod image;
mod parse;
pub mod qr;
pub mod scan;
mod sign;
mod writer;

pub use doc::{text_width, wrap, Document, Page, A4};
pub use font::Weight;
pub use image::{Image, ImageError, MAX_MEGAPIXELS};
pub use parse::{signatures, FoundSignature, SignatureError};
pub use sign::{time_parts, EmbedError, Signable, SignatureField, CONTENTS_CAPACITY};
