//! Paper brought to a counter, scanned: one PDF per document however it was scanned. A
//! single PDF stays as it is; pages scanned as images (JPEG, PNG) become the pages of one
//! PDF, each fitted to an A4 page (turned for a landscape scan).

use crate::doc::{Document, Page, A4};
use crate::image::{Image, ImageError};

/// One file of a scan, as uploaded.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    /// The declared type: `application/pdf`, `image/jpeg` or `image/png`.
    pub media_type: &'a str,
    pub bytes: &'a [u8],
}

/// The most pages one scanned document may have.
pub const MAX_PAGES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("no page was sent")]
    Empty,
    #[error("a document has at most {MAX_PAGES} pages")]
    TooManyPages,
    #[error("a PDF is a whole document: send it alone, or send the pages as images")]
    PdfAmongPages,
    #[error("file {index}: {kind} declared, but its content is not one")]
    NotDeclaredType { index: usize, kind: &'static str },
    #[error("file {index}: {error}")]
    Image { index: usize, error: ImageError },
}

/// One PDF of the parts, in their order.
pub fn combine(parts: &[Part<'_>], title: &str) -> Result<Vec<u8>, ScanError> {
    match parts {
        [] => return Err(ScanError::Empty),
        [one] if one.media_type == "application/pdf" => {
            return if one.bytes.starts_with(b"%PDF-") {
                Ok(one.bytes.to_vec())
            } else {
                Err(ScanError::NotDeclaredType {
                    index: 1,
                    kind: "PDF",
                })
            };
        }
        _ if parts.len() > MAX_PAGES => return Err(ScanError::TooManyPages),
        _ => {}
    }
    let mut doc = Document::new(title);
    for (i, p) in parts.iter().enumerate() {
        let index = i + 1;
        let image = match p.media_type {
            "image/jpeg" if p.bytes.starts_with(&[0xFF, 0xD8, 0xFF]) => Image::jpeg(p.bytes),
            "image/png" if p.bytes.starts_with(b"\x89PNG\r\n\x1a\n") => Image::png(p.bytes),
            "application/pdf" => return Err(ScanError::PdfAmongPages),
            "image/jpeg" => {
                return Err(ScanError::NotDeclaredType {
                    index,
                    kind: "JPEG",
                })
            }
            _ => return Err(ScanError::NotDeclaredType { index, kind: "PNG" }),
        }
        .map_err(|error| ScanError::Image { index, error })?;
        doc.push(page_of(image));
    }
    Ok(doc.render())
}

/// An A4 page (landscape for a wide scan) with the image as large as fits inside a
/// margin, centred.
fn page_of(image: Image) -> Page {
    let wide = image.width > image.height;
    let mut page = if wide {
        Page::sized(A4.1, A4.0)
    } else {
        Page::a4()
    };
    let margin = 18.0;
    let (bw, bh) = (page.width() - 2.0 * margin, page.height() - 2.0 * margin);
    let scale = (bw / image.width as f32).min(bh / image.height as f32);
    let (w, h) = (image.width as f32 * scale, image.height as f32 * scale);
    let (x, y) = ((page.width() - w) / 2.0, (page.height() - h) / 2.0);
    page.image(image, x, y, w, h);
    page
}
