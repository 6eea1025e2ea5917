//! A PDF document of A4 pages: text in the embedded fonts (subset, with a ToUnicode map so
//! text can be searched and copied), lines, boxes, QR codes and images. Coordinates are
//! PDF points from the bottom-left corner.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::font::{self, Font, Weight};
use crate::image::Image;

/// A4 in points.
pub const A4: (f32, f32) = (595.28, 841.89);

fn font(weight: Weight) -> Option<&'static Font> {
    static REGULAR: OnceLock<Option<Font>> = OnceLock::new();
    static BOLD: OnceLock<Option<Font>> = OnceLock::new();
    let cell = match weight {
        Weight::Regular => &REGULAR,
        Weight::Bold => &BOLD,
    };
    cell.get_or_init(|| Font::load(weight)).as_ref()
}

/// The width of `text` at `size` points in `weight`.
pub fn text_width(weight: Weight, text: &str, size: f32) -> f32 {
    font(weight).map_or(0.0, |f| f.width(text, size))
}

/// `text` broken into lines no wider than `width` at `size`, at spaces (a word longer than
/// a line stands alone on its line).
pub fn wrap(weight: Weight, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && text_width(weight, &candidate, size) > width {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            } else {
                line = candidate;
            }
        }
        lines.push(line);
    }
    lines
}

/// One page being drawn.
#[derive(Debug, Default)]
pub struct Page {
    width: f32,
    height: f32,
    ops: String,
    images: Vec<Image>,
    glyphs: BTreeMap<Weight, BTreeMap<u16, char>>,
}

impl Page {
    pub fn a4() -> Self {
        Self::sized(A4.0, A4.1)
    }

    pub fn sized(width: f32, height: f32) -> Self {
        Self {
            width,
            height,
            ..Self::default()
        }
    }

    pub fn width(&self) -> f32 {
        self.width
    }

    pub fn height(&self) -> f32 {
        self.height
    }

    /// Writes `text` with its baseline's left end at (`x`, `y`).
    pub fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, text: &str) {
        let Some(f) = font(weight) else { return };
        let used = self.glyphs.entry(weight).or_default();
        let mut hex = String::with_capacity(text.len() * 4);
        for (g, c) in f.shape(text) {
            used.entry(g).or_insert(c);
            let _ = write!(hex, "{g:04X}");
        }
        let name = font_name(weight);
        let _ = writeln!(
            self.ops,
            "BT /{name} {size:.2} Tf {x:.2} {y:.2} Td <{hex}> Tj ET"
        );
    }

    /// A line from (`x1`, `y1`) to (`x2`, `y2`), `width` points thick.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        let _ = writeln!(
            self.ops,
            "{width:.2} w {x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S"
        );
    }

    /// A rectangle's outline, or the rectangle filled black (`fill`).
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: bool) {
        let op = if fill { "f" } else { "S" };
        let _ = writeln!(self.ops, "0.8 w {x:.2} {y:.2} {w:.2} {h:.2} re {op}");
    }

    /// `text`'s QR code as a `size`-point square with its lower-left corner at (`x`, `y`);
    /// `false` when the text is too long for a QR code.
    pub fn qr(&mut self, x: f32, y: f32, size: f32, text: &str) -> bool {
        let Some(m) = crate::qr::modules(text) else {
            return false;
        };
        let n = m.len() as f32;
        let unit = size / n;
        let mut path = String::new();
        for (row, cells) in m.iter().enumerate() {
            for (col, dark) in cells.iter().enumerate() {
                if *dark {
                    let px = x + col as f32 * unit;
                    let py = y + size - (row as f32 + 1.0) * unit;
                    let _ = write!(path, "{px:.3} {py:.3} {unit:.3} {unit:.3} re ");
                }
            }
        }
        let _ = writeln!(self.ops, "0 g {path}f");
        true
    }

    /// `image` drawn into the box at (`x`, `y`) of `w` × `h` points.
    pub fn image(&mut self, image: Image, x: f32, y: f32, w: f32, h: f32) {
        let name = format!("Im{}", self.images.len());
        self.images.push(image);
        let _ = writeln!(
            self.ops,
            "q {w:.2} 0 0 {h:.2} {x:.2} {y:.2} cm /{name} Do Q"
        );
    }
}

fn font_name(weight: Weight) -> &'static str {
    match weight {
        Weight::Regular => "F1",
        Weight::Bold => "F2",
    }
}

/// A document being assembled.
#[derive(Debug, Default)]
pub struct Document {
    pub title: String,
    pages: Vec<Page>,
}

impl Document {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            pages: Vec::new(),
        }
    }

    pub fn push(&mut self, page: Page) {
        self.pages.push(page);
    }

    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    /// The PDF file.
    pub fn render(&self) -> Vec<u8> {
        self.build(None)
    }

    /// The PDF file with an empty signature field (invisible, on the first page) whose
    /// `/Contents` waits for a CMS: see [`crate::Signable`].
    pub fn render_signable(&self, field: &crate::SignatureField) -> crate::Signable {
        crate::sign::prepare(self.build(Some(field)))
    }

    /// Every font the pages use, written once; the fonts' resource dictionary.
    fn write_fonts(&self, w: &mut crate::writer::Writer) -> String {
        let mut used: BTreeMap<Weight, BTreeMap<u16, char>> = BTreeMap::new();
        for p in &self.pages {
            for (weight, glyphs) in &p.glyphs {
                let all = used.entry(*weight).or_default();
                for (g, c) in glyphs {
                    all.entry(*g).or_insert(*c);
                }
            }
        }
        let mut font_dict = String::from("<<");
        for (weight, glyphs) in &used {
            if let Some(id) = write_font(w, *weight, glyphs) {
                let _ = write!(font_dict, " /{} {id} 0 R", font_name(*weight));
            }
        }
        font_dict.push_str(" >>");
        font_dict
    }

    fn build(&self, field: Option<&crate::SignatureField>) -> Vec<u8> {
        let mut w = crate::writer::Writer::new();
        let widget = field.map(|_| w.reserve());
        let catalog = w.reserve();
        let pages_id = w.reserve();
        let font_dict = self.write_fonts(&mut w);
        let mut kids = Vec::new();
        let mut first_page = None;
        for p in &self.pages {
            let mut xobjects = String::from("<<");
            for (i, img) in p.images.iter().enumerate() {
                let id = img.write(&mut w);
                let _ = write!(xobjects, " /Im{i} {id} 0 R");
            }
            xobjects.push_str(" >>");
            let content = w.add_stream("", p.ops.as_bytes(), true);
            let annots = match (widget, first_page) {
                (Some(id), None) => format!(" /Annots [{id} 0 R]"),
                _ => String::new(),
            };
            let page = w.add(format!(
                "<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {:.2} {:.2}] \
                 /Resources << /Font {font_dict} /XObject {xobjects} >> /Contents {content} 0 R{annots} >>",
                p.width, p.height
            ));
            first_page.get_or_insert(page);
            kids.push(format!("{page} 0 R"));
        }
        w.set(
            pages_id,
            format!(
                "<< /Type /Pages /Kids [{}] /Count {} >>",
                kids.join(" "),
                kids.len()
            ),
        );
        let acro_form = match widget {
            Some(id) => format!(" /AcroForm << /Fields [{id} 0 R] /SigFlags 3 >>"),
            None => String::new(),
        };
        w.set(
            catalog,
            format!("<< /Type /Catalog /Pages {pages_id} 0 R{acro_form} >>"),
        );
        let info = w.add(format!(
            "<< /Title {} /Producer (sohoa) >>",
            crate::writer::text_string(&self.title)
        ));
        if let (Some(widget), Some(field)) = (widget, field) {
            crate::sign::write_field(&mut w, widget, field, first_page);
        }
        w.finish(catalog, info)
    }
}

/// The Type0 font of `weight` with its subset program, widths and ToUnicode map.
fn write_font(
    w: &mut crate::writer::Writer,
    weight: Weight,
    glyphs: &BTreeMap<u16, char>,
) -> Option<usize> {
    let f = font(weight)?;
    let set: BTreeSet<u16> = glyphs.keys().copied().collect();
    let program = font::subset(weight, &set)?;
    let file = w.add_stream(&format!("/Length1 {}", program.len()), &program, true);
    let (ascent, descent, cap, bbox) = f.metrics();
    // Subset fonts are named with a tag of six capitals (ISO 32000-1, 9.6.4).
    let tag = match weight {
        Weight::Regular => "SOHOAA",
        Weight::Bold => "SOHOAB",
    };
    let name = format!("{tag}+{}", weight.postscript_name());
    let descriptor = w.add(format!(
        "<< /Type /FontDescriptor /FontName /{name} /Flags 32 /FontBBox [{:.0} {:.0} {:.0} {:.0}] \
         /ItalicAngle 0 /Ascent {ascent:.0} /Descent {descent:.0} /CapHeight {cap:.0} /StemV 80 \
         /FontFile2 {file} 0 R >>",
        bbox[0], bbox[1], bbox[2], bbox[3]
    ));
    let mut widths = String::new();
    for g in &set {
        let _ = write!(widths, "{g} [{:.0}] ", f.advance(*g));
    }
    let cid = w.add(format!(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
         /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
         /FontDescriptor {descriptor} 0 R /DW 1000 /W [{widths}] /CIDToGIDMap /Identity >>"
    ));
    let to_unicode = w.add_stream("", to_unicode(glyphs).as_bytes(), true);
    Some(w.add(format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
         /DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>"
    )))
}

/// The CMap that turns glyph ids back into the text they were written from.
fn to_unicode(glyphs: &BTreeMap<u16, char>) -> String {
    let mut out = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = glyphs.iter().filter(|(g, _)| **g != 0).collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(out, "{} beginbfchar", chunk.len());
        for (g, c) in chunk {
            let mut units = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            let _ = writeln!(out, "<{g:04X}> <{hex}>");
        }
        out.push_str("endbfchar\n");
    }
    out.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    out
}
