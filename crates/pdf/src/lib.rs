//! Documents for paper, without I/O: QR codes (as SVG for pages, as modules for PDF), PDF
//! pages with a real font embedded (Vietnamese needs its diacritics), and scans (JPEG, PNG)
//! made into one PDF.

pub mod qr;
