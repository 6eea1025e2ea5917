//! The embedded fonts and what a PDF needs of them: glyph ids and widths for text, and a
//! subset holding only the glyphs a document uses. The subset keeps glyph ids (unused
//! glyphs are emptied, not removed), so text is written as glyph ids once and the font
//! program shrinks from 750 KB to the few KB a receipt's letters take.

use std::collections::BTreeSet;

use ttf_parser::{Face, GlyphId};
use unicode_normalization::UnicodeNormalization;

/// The two faces a document may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weight {
    Regular,
    Bold,
}

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

impl Weight {
    pub(crate) fn data(self) -> &'static [u8] {
        match self {
            Weight::Regular => REGULAR,
            Weight::Bold => BOLD,
        }
    }

    pub(crate) fn postscript_name(self) -> &'static str {
        match self {
            Weight::Regular => "DejaVuSans",
            Weight::Bold => "DejaVuSans-Bold",
        }
    }
}

/// A face, parsed.
pub(crate) struct Font {
    face: Face<'static>,
}

impl Font {
    /// `None` only if the embedded file were not a font, which a test rules out.
    pub fn load(weight: Weight) -> Option<Self> {
        Some(Self {
            face: Face::parse(weight.data(), 0).ok()?,
        })
    }

    pub fn units_per_em(&self) -> f32 {
        f32::from(self.face.units_per_em())
    }

    /// The glyphs of `text` (composed first: Vietnamese letters exist precomposed), with
    /// the characters each stands for; a character the font lacks is `.notdef`.
    pub fn shape(&self, text: &str) -> Vec<(u16, char)> {
        text.nfc()
            .map(|c| (self.face.glyph_index(c).map_or(0, |g| g.0), c))
            .collect()
    }

    /// A glyph's advance in thousandths of the font size (PDF's unit for widths).
    pub fn advance(&self, glyph: u16) -> f32 {
        let units = self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0);
        f32::from(units) * 1000.0 / self.units_per_em()
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        self.shape(text)
            .iter()
            .map(|(g, _)| self.advance(*g))
            .sum::<f32>()
            * size
            / 1000.0
    }

    /// Ascender, descender, cap height and the bounding box, in thousandths of an em.
    pub fn metrics(&self) -> (f32, f32, f32, [f32; 4]) {
        let k = 1000.0 / self.units_per_em();
        let b = self.face.global_bounding_box();
        let cap = self.face.capital_height().unwrap_or(self.face.ascender());
        (
            f32::from(self.face.ascender()) * k,
            f32::from(self.face.descender()) * k,
            f32::from(cap) * k,
            [
                f32::from(b.x_min) * k,
                f32::from(b.y_min) * k,
                f32::from(b.x_max) * k,
                f32::from(b.y_max) * k,
            ],
        )
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *d.get(at)?,
        *d.get(at + 1)?,
        *d.get(at + 2)?,
        *d.get(at + 3)?,
    ]))
}

/// The font's tables by tag, as slices of the file.
fn tables(data: &[u8]) -> Option<Vec<([u8; 4], &[u8])>> {
    let n = usize::from(be16(data, 4)?);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let rec = 12 + 16 * i;
        let tag: [u8; 4] = data.get(rec..rec + 4)?.try_into().ok()?;
        let offset = be32(data, rec + 8)? as usize;
        let len = be32(data, rec + 12)? as usize;
        out.push((tag, data.get(offset..offset.checked_add(len)?)?));
    }
    Some(out)
}

/// The byte ranges of every glyph in `glyf`, from `loca`.
fn glyph_ranges(head: &[u8], loca: &[u8], glyphs: usize) -> Option<Vec<(usize, usize)>> {
    let long = be16(head, 50)? == 1;
    let at = |i: usize| -> Option<usize> {
        if long {
            be32(loca, 4 * i).map(|v| v as usize)
        } else {
            be16(loca, 2 * i).map(|v| 2 * usize::from(v))
        }
    };
    (0..glyphs).map(|i| Some((at(i)?, at(i + 1)?))).collect()
}

/// The components a composite glyph is drawn from.
fn components(glyph: &[u8]) -> Vec<u16> {
    const WORDS: u16 = 0x0001;
    const SCALE: u16 = 0x0008;
    const MORE: u16 = 0x0020;
    const XY_SCALE: u16 = 0x0040;
    const TWO_BY_TWO: u16 = 0x0080;
    let mut out = Vec::new();
    if glyph.len() < 10 || (be16(glyph, 0).unwrap_or(0) as i16) >= 0 {
        return out;
    }
    let mut at = 10;
    while let (Some(flags), Some(id)) = (be16(glyph, at), be16(glyph, at + 2)) {
        out.push(id);
        at += 4 + if flags & WORDS != 0 { 4 } else { 2 };
        at += match flags {
            f if f & SCALE != 0 => 2,
            f if f & XY_SCALE != 0 => 4,
            f if f & TWO_BY_TWO != 0 => 8,
            _ => 0,
        };
        if flags & MORE == 0 {
            break;
        }
    }
    out
}

/// The tables a PDF's TrueType font program needs; the rest (cmap, names, kerning,
/// OpenType layout) a PDF reader never consults, since text is placed glyph by glyph.
const KEPT: [&[u8; 4]; 9] = [
    b"OS/2", b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"maxp", b"prep",
];

/// The font with only `used` glyphs drawn (and `.notdef`, and the parts of composite
/// glyphs), glyph ids unchanged; `loca` rewritten in its long form.
pub(crate) fn subset(weight: Weight, used: &BTreeSet<u16>) -> Option<Vec<u8>> {
    let data = weight.data();
    let all = tables(data)?;
    let find = |t: &[u8; 4]| all.iter().find(|(tag, _)| tag == t).map(|(_, d)| *d);
    let (head, loca, glyf, maxp) = (
        find(b"head")?,
        find(b"loca")?,
        find(b"glyf")?,
        find(b"maxp")?,
    );
    let count = usize::from(be16(maxp, 4)?);
    let ranges = glyph_ranges(head, loca, count)?;
    let mut keep: BTreeSet<u16> = used
        .iter()
        .copied()
        .filter(|g| usize::from(*g) < count)
        .collect();
    keep.insert(0);
    let mut queue: Vec<u16> = keep.iter().copied().collect();
    while let Some(g) = queue.pop() {
        let (a, b) = ranges[usize::from(g)];
        for c in components(glyf.get(a..b)?) {
            if usize::from(c) < count && keep.insert(c) {
                queue.push(c);
            }
        }
    }
    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity(4 * (count + 1));
    for (g, (a, b)) in ranges.iter().enumerate() {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        if keep.contains(&(g as u16)) {
            new_glyf.extend_from_slice(glyf.get(*a..*b)?);
            while new_glyf.len() % 4 != 0 {
                new_glyf.push(0);
            }
        }
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
    let mut new_head = head.to_vec();
    new_head.get_mut(8..12)?.copy_from_slice(&[0; 4]);
    new_head
        .get_mut(50..52)?
        .copy_from_slice(&1u16.to_be_bytes());
    let mut out_tables: Vec<(&[u8; 4], Vec<u8>)> = Vec::new();
    for tag in KEPT {
        let body = match tag {
            b"glyf" => std::mem::take(&mut new_glyf),
            b"head" => new_head.clone(),
            _ => match find(tag) {
                Some(d) => d.to_vec(),
                None => continue,
            },
        };
        out_tables.push((tag, body));
    }
    out_tables.push((b"loca", new_loca));
    out_tables.sort_by(|a, b| a.0.cmp(b.0));
    Some(assemble(&out_tables))
}

/// A TrueType file of `tables` (sorted by tag), each 4-byte aligned, with checksums.
fn assemble(tables: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let n = tables.len() as u16;
    let pow = 1u16 << (15 - n.leading_zeros());
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&(pow * 16).to_be_bytes());
    out.extend_from_slice(&(pow.trailing_zeros() as u16).to_be_bytes());
    out.extend_from_slice(&(n * 16 - pow * 16).to_be_bytes());
    let mut offset = 12 + 16 * tables.len();
    let mut bodies = Vec::new();
    for (tag, body) in tables {
        let mut padded = body.clone();
        while padded.len() % 4 != 0 {
            padded.push(0);
        }
        let sum = padded
            .chunks(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .fold(0u32, u32::wrapping_add);
        out.extend_from_slice(*tag);
        out.extend_from_slice(&sum.to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        offset += padded.len();
        bodies.push(padded);
    }
    for b in bodies {
        out.extend_from_slice(&b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_has_glyphs_in_both_faces() {
        for w in [Weight::Regular, Weight::Bold] {
            let f = Font::load(w).unwrap();
            // Decomposed input is composed first.
            let text = "Phiếu tiếp nhận hồ sơ và hẹn trả kết quả — Đ ư ợ ỹ";
            let decomposed: String = text.nfd().collect();
            for (g, c) in f.shape(&decomposed) {
                assert!(g != 0, "{w:?} lacks {c:?}");
            }
            assert!(f.width("Đăng ký", 12.0) > 30.0);
        }
    }

    #[test]
    fn a_subset_keeps_the_glyphs_used_and_is_small() {
        let f = Font::load(Weight::Regular).unwrap();
        let used: BTreeSet<u16> = f
            .shape("Hồ sơ số HS0123456789")
            .iter()
            .map(|(g, _)| *g)
            .collect();
        let sub = subset(Weight::Regular, &used).unwrap();
        assert!(sub.len() < 120_000, "{} bytes", sub.len());
        let face = Face::parse(&sub, 0).unwrap();
        assert_eq!(
            face.number_of_glyphs(),
            Face::parse(REGULAR, 0).unwrap().number_of_glyphs()
        );
        for g in &used {
            assert!(
                face.outline_glyph(GlyphId(*g), &mut Sink).is_some() || *g == 3,
                "glyph {g}"
            );
        }
    }

    struct Sink;
    impl ttf_parser::OutlineBuilder for Sink {
        fn move_to(&mut self, _: f32, _: f32) {}
        fn line_to(&mut self, _: f32, _: f32) {}
        fn quad_to(&mut self, _: f32, _: f32, _: f32, _: f32) {}
        fn curve_to(&mut self, _: f32, _: f32, _: f32, _: f32, _: f32, _: f32) {}
        fn close(&mut self) {}
    }
}
