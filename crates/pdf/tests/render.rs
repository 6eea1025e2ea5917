//! Documents rendered and read back by poppler's own tools when they are installed (CI
//! installs poppler-utils; SOHOA_PDF_TOOLS=required makes their absence a failure).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use sohoa_pdf::scan::{combine, Part, ScanError};
use sohoa_pdf::{Document, Page, Weight};

fn tool(name: &str, args: &[&str]) -> Option<String> {
    match Command::new(name).args(args).output() {
        Ok(o) => {
            assert!(
                o.status.success(),
                "{name} {args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Err(_) if std::env::var("SOHOA_PDF_TOOLS").as_deref() == Ok("required") => {
            panic!("{name} is required (poppler-utils)")
        }
        Err(_) => None,
    }
}

/// The page count pdfinfo reports.
fn pages(info: &str) -> Option<u32> {
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
}

fn receipt_like() -> Vec<u8> {
    let mut doc = Document::new("Phiếu tiếp nhận");
    let mut page = Page::a4();
    page.text(
        50.0,
        780.0,
        16.0,
        Weight::Bold,
        "PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    );
    page.text(
        50.0,
        750.0,
        11.0,
        Weight::Regular,
        "Ông/bà Nguyễn Thị Mai — Phường Bến Thành, Thành phố Hồ Chí Minh",
    );
    page.line(50.0, 740.0, 545.0, 740.0, 0.5);
    page.rect(50.0, 600.0, 100.0, 100.0, false);
    assert!(page.qr(
        400.0,
        600.0,
        100.0,
        "https://dichvucong.example.vn/status?number=HS0123456789"
    ));
    doc.push(page);
    doc.render()
}

#[test]
fn a_page_of_vietnamese_text_reads_back_with_its_font_embedded() {
    let pdf = receipt_like();
    assert!(pdf.starts_with(b"%PDF-1.7") && pdf.ends_with(b"%%EOF\n"));
    assert!(pdf.len() < 150_000, "{} bytes", pdf.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let p = path.to_str().unwrap();
    let Some(text) = tool("pdftotext", &["-layout", p, "-"]) else {
        return;
    };
    assert!(
        text.contains("PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"),
        "{text}"
    );
    assert!(text.contains("Nguyễn Thị Mai — Phường Bến Thành"), "{text}");
    let fonts = tool("pdffonts", &[p]).unwrap_or_default();
    // name, type, encoding, emb, sub, uni: both faces embedded as subsets with a ToUnicode map.
    let rows: Vec<&str> = fonts.lines().filter(|l| l.contains("DejaVuSans")).collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    for r in rows {
        assert!(
            r.contains("CID TrueType") && r.contains("yes yes yes"),
            "{r}"
        );
    }
    let info = tool("pdfinfo", &[p]).unwrap_or_default();
    assert_eq!(pages(&info), Some(1), "{info}");
    assert!(info.contains("Phiếu tiếp nhận"), "{info}");
}

fn jpeg_of(w: u16, h: u16) -> Vec<u8> {
    // A frame header is all a PDF reader needs to place a JPEG; the scan data after it is
    // passed through untouched.
    let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    j.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    j.extend_from_slice(&h.to_be_bytes());
    j.extend_from_slice(&w.to_be_bytes());
    j.extend_from_slice(&[0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

fn png_of(w: u32, h: u32, alpha: bool) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(if alpha {
            png::ColorType::Rgba
        } else {
            png::ColorType::Grayscale
        });
        e.set_depth(png::BitDepth::Eight);
        let mut writer = e.write_header().unwrap();
        let n = (w * h) as usize * if alpha { 4 } else { 1 };
        writer.write_image_data(&vec![128u8; n]).unwrap();
    }
    out
}

#[test]
fn scanned_pages_become_one_pdf_and_bad_scans_are_refused() {
    let (j, p, pa) = (
        jpeg_of(1240, 1754),
        png_of(800, 600, false),
        png_of(20, 30, true),
    );
    let parts = [
        Part {
            media_type: "image/jpeg",
            bytes: &j,
        },
        Part {
            media_type: "image/png",
            bytes: &p,
        },
        Part {
            media_type: "image/png",
            bytes: &pa,
        },
    ];
    let pdf = combine(&parts, "CCCD").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.pdf");
    std::fs::write(&path, &pdf).unwrap();
    if let Some(info) = tool("pdfinfo", &[path.to_str().unwrap()]) {
        assert_eq!(pages(&info), Some(3), "{info}");
    }
    // One PDF stays as it is.
    let alone = b"%PDF-1.4 a scan".to_vec();
    assert_eq!(
        combine(
            &[Part {
                media_type: "application/pdf",
                bytes: &alone
            }],
            "x"
        )
        .unwrap(),
        alone
    );
    let refusals = [
        (vec![], ScanError::Empty),
        (
            vec![
                ("application/pdf", alone.clone()),
                ("image/jpeg", j.clone()),
            ],
            ScanError::PdfAmongPages,
        ),
        (
            vec![("image/jpeg", p.clone())],
            ScanError::NotDeclaredType {
                index: 1,
                kind: "JPEG",
            },
        ),
        (
            vec![("image/png", j.clone()), ("image/png", j.clone())],
            ScanError::NotDeclaredType {
                index: 1,
                kind: "PNG",
            },
        ),
        (
            vec![("application/pdf", j.clone())],
            ScanError::NotDeclaredType {
                index: 1,
                kind: "PDF",
            },
        ),
    ];
    for (files, want) in refusals {
        let parts: Vec<Part<'_>> = files
            .iter()
            .map(|(m, b)| Part {
                media_type: m,
                bytes: b,
            })
            .collect();
        assert_eq!(combine(&parts, "x"), Err(want));
    }
    // Truncated after its signature: the decoders say so, nothing panics.
    let broken = [0xFF, 0xD8, 0xFF, 0xE0, 0x00];
    assert!(matches!(
        combine(
            &[Part {
                media_type: "image/jpeg",
                bytes: &broken
            }],
            "x"
        ),
        Err(ScanError::Image { index: 1, .. })
    ));
    let broken_png = &p[..40];
    assert!(matches!(
        combine(
            &[Part {
                media_type: "image/png",
                bytes: broken_png
            }],
            "x"
        ),
        Err(ScanError::Image { index: 1, .. })
    ));
    let many: Vec<Part<'_>> = (0..51)
        .map(|_| Part {
            media_type: "image/jpeg",
            bytes: &j,
        })
        .collect();
    assert_eq!(combine(&many, "x"), Err(ScanError::TooManyPages));
}
