//! Images a PDF page can draw: JPEG as it is (PDF decodes DCT itself), PNG decoded to
//! pixels and deflated. Both are checked here; a file that does not decode is refused.

use std::io::Cursor;

/// An image ready to be placed on a page.
#[derive(Debug, Clone)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    components: u8,
    data: Data,
}

#[derive(Debug, Clone)]
enum Data {
    /// The JPEG file itself.
    Jpeg(Vec<u8>),
    /// 8-bit samples, row by row.
    Pixels(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("not a readable JPEG: {0}")]
    Jpeg(&'static str),
    #[error("not a readable PNG: {0}")]
    Png(String),
    #[error("the image is larger than {0} megapixels")]
    TooLarge(u32),
}

/// Scans beyond this are not pages (a 600 dpi A3 is 35 megapixels).
pub const MAX_MEGAPIXELS: u32 = 40;

impl Image {
    /// A JPEG, read as far as its frame header (size and colour components).
    pub fn jpeg(bytes: &[u8]) -> Result<Self, ImageError> {
        let (width, height, components) = jpeg_frame(bytes)?;
        if !matches!(components, 1 | 3 | 4) {
            return Err(ImageError::Jpeg("1, 3 or 4 colour components"));
        }
        check_size(width, height)?;
        Ok(Self {
            width,
            height,
            components,
            data: Data::Jpeg(bytes.to_vec()),
        })
    }

    /// A PNG, decoded; transparency is laid over white paper.
    pub fn png(bytes: &[u8]) -> Result<Self, ImageError> {
        let bad = |e: png::DecodingError| ImageError::Png(e.to_string());
        let mut decoder = png::Decoder::new_with_limits(
            Cursor::new(bytes),
            png::Limits {
                bytes: (MAX_MEGAPIXELS as usize) * 1_000_000 * 4,
            },
        );
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        // Chunk checksums that are off (some phone apps write them so) do not stop browsers
        // and viewers, which show the pixels; neither do they stop a scan.
        decoder.ignore_checksums(true);
        let mut reader = decoder.read_info().map_err(bad)?;
        let (w, h) = (reader.info().width, reader.info().height);
        check_size(w, h)?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| ImageError::Png("too large".into()))?;
        let mut buf = vec![0; size];
        let frame = reader.next_frame(&mut buf).map_err(bad)?;
        buf.truncate(frame.buffer_size());
        let (components, pixels) = match frame.color_type {
            png::ColorType::Grayscale => (1, buf),
            png::ColorType::Rgb => (3, buf),
            png::ColorType::GrayscaleAlpha => (1, over_white(&buf, 1)),
            png::ColorType::Rgba => (3, over_white(&buf, 3)),
            png::ColorType::Indexed => return Err(ImageError::Png("palette not expanded".into())),
        };
        Ok(Self {
            width: w,
            height: h,
            components,
            data: Data::Pixels(pixels),
        })
    }

    /// Writes the image XObject; answers its object number.
    pub(crate) fn write(&self, w: &mut crate::writer::Writer) -> usize {
        let space = match self.components {
            1 => "/DeviceGray",
            4 => "/DeviceCMYK",
            _ => "/DeviceRGB",
        };
        let dict = format!(
            " /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {space} /BitsPerComponent 8",
            self.width, self.height
        );
        match &self.data {
            Data::Jpeg(bytes) => w.add_raw_stream(&format!("{dict} /Filter /DCTDecode"), bytes),
            Data::Pixels(p) => w.add_stream(&dict, p, true),
        }
    }
}

fn check_size(w: u32, h: u32) -> Result<(), ImageError> {
    if w == 0 || h == 0 || u64::from(w) * u64::from(h) > u64::from(MAX_MEGAPIXELS) * 1_000_000 {
        return Err(ImageError::TooLarge(MAX_MEGAPIXELS));
    }
    Ok(())
}

/// Samples with their alpha composited over white, alpha dropped.
fn over_white(buf: &[u8], colours: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len() / (colours + 1) * colours);
    for px in buf.chunks_exact(colours + 1) {
        let a = u16::from(px[colours]);
        for c in &px[..colours] {
            out.push(((u16::from(*c) * a + 255 * (255 - a)) / 255) as u8);
        }
    }
    out
}

/// Width, height and components from a JPEG's start-of-frame segment.
fn jpeg_frame(b: &[u8]) -> Result<(u32, u32, u8), ImageError> {
    if b.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err(ImageError::Jpeg("no start of image"));
    }
    let mut at = 2;
    loop {
        // Markers may be padded with 0xFF bytes.
        while b.get(at) == Some(&0xFF) && b.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (b.get(at), b.get(at + 1)) else {
            return Err(ImageError::Jpeg("a broken marker before the frame header"));
        };
        at += 2;
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue;
        }
        let len = b
            .get(at..at + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .ok_or(ImageError::Jpeg("truncated"))?;
        let is_frame = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            let seg = b
                .get(at..at + len)
                .ok_or(ImageError::Jpeg("truncated frame header"))?;
            if seg.len() < 8 {
                return Err(ImageError::Jpeg("short frame header"));
            }
            let h = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            let w = u32::from(u16::from_be_bytes([seg[5], seg[6]]));
            return Ok((w, h, seg[7]));
        }
        if marker == 0xDA || marker == 0xD9 || len < 2 {
            return Err(ImageError::Jpeg("no frame header"));
        }
        at += len;
    }
}
