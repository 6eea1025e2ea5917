//! The receipt handed over at intake (phiếu tiếp nhận và hẹn trả kết quả), as a one-page
//! PDF in Vietnamese with the English beside it: the number, the lookup code, the day the
//! result is due, what was handed in, the fee with a VietQR code to pay it from any banking
//! app, and a QR code to the public status page. Signed on paper by both sides.

use sohoa_app::counter::Receipt;
use sohoa_pdf::{wrap, Document, Page, Weight};

/// Where the receipt's parts go: a cursor down the page.
struct Cursor {
    page: Page,
    y: f32,
}

const LEFT: f32 = 50.0;
const WIDTH: f32 = 495.0;

impl Cursor {
    fn line(&mut self, size: f32, weight: Weight, text: &str) {
        for l in wrap(weight, text, size, WIDTH) {
            self.page.text(LEFT, self.y, size, weight, &l);
            self.y -= size * 1.45;
        }
    }

    fn centred(&mut self, size: f32, weight: Weight, text: &str) {
        let w = sohoa_pdf::text_width(weight, text, size);
        self.page
            .text(LEFT + (WIDTH - w) / 2.0, self.y, size, weight, text);
        self.y -= size * 1.45;
    }

    fn fact(&mut self, label: &str, value: &str) {
        self.page.text(LEFT, self.y, 10.0, Weight::Regular, label);
        for l in wrap(Weight::Bold, value, 10.5, WIDTH - 190.0) {
            self.page.text(LEFT + 190.0, self.y, 10.5, Weight::Bold, &l);
            self.y -= 15.0;
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }
}

fn dmy(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// The receipt's PDF. `status_url` is the public status page for this application;
/// `vietqr`, when a fee is owed and the city takes transfers, the code's text.
pub fn render(r: &Receipt, status_url: &str, vietqr: Option<&str>) -> Vec<u8> {
    let mut c = Cursor {
        page: Page::a4(),
        y: 790.0,
    };
    heading(&mut c, r);
    facts(&mut c, r);
    documents(&mut c, r);
    codes(&mut c, status_url, vietqr);
    signatures(&mut c, r);
    let mut doc = Document::new(&format!("Phiếu tiếp nhận {}", r.application.number));
    doc.push(c.page);
    doc.render()
}

/// The issuing counter and the national motto, then the title.
fn heading(c: &mut Cursor, r: &Receipt) {
    let issuer = r
        .intake
        .clone()
        .unwrap_or_else(|| r.agency.clone())
        .to_uppercase();
    c.page.text(LEFT, c.y, 9.5, Weight::Bold, &issuer);
    c.page.text(
        330.0,
        c.y,
        9.5,
        Weight::Bold,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    );
    c.y -= 13.0;
    c.page.text(
        LEFT,
        c.y,
        9.0,
        Weight::Regular,
        "BỘ PHẬN MỘT CỬA / ONE-STOP COUNTER",
    );
    c.page.text(
        365.0,
        c.y,
        9.5,
        Weight::Regular,
        "Độc lập - Tự do - Hạnh phúc",
    );
    c.gap(34.0);
    c.centred(
        14.0,
        Weight::Bold,
        "PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    );
    c.centred(
        9.5,
        Weight::Regular,
        "Receipt of application and appointment for the result",
    );
    c.gap(10.0);
}

/// Number, lookup code, applicant, procedure, agency, days and fee.
fn facts(c: &mut Cursor, r: &Receipt) {
    let a = &r.application;
    c.fact("Số hồ sơ / Application no.", a.number.as_str());
    c.fact("Mã tra cứu / Lookup code", &r.lookup_code);
    c.fact(
        "Người nộp / Applicant",
        &format!("{} (CCCD {})", r.applicant_name, a.applicant),
    );
    c.fact(
        "Thủ tục / Procedure",
        &format!("{} / {}", r.procedure_vi, r.procedure_en),
    );
    c.fact("Cơ quan giải quyết / Deciding agency", &r.agency);
    c.fact("Ngày tiếp nhận / Received", &dmy(a.created_at.local_date()));
    let due = match (r.due_on, r.estimated) {
        (Some(d), false) => dmy(d),
        (Some(d), true) => format!("{} (dự kiến / expected)", dmy(d)),
        (None, _) => "—".to_owned(),
    };
    c.fact("Ngày hẹn trả kết quả / Result due", &due);
    let fee = match (a.fee_payable, a.fee_paid_at) {
        (None, _) => "Không thu / None".to_owned(),
        (Some(f), _) if f.dong() == 0 => "Miễn / Waived".to_owned(),
        (Some(f), Some(_)) => format!("{f} — đã nộp / paid"),
        (Some(f), None) => format!("{f} — chưa nộp / to pay"),
    };
    c.fact("Phí, lệ phí / Fee", &fee);
    c.gap(6.0);
}

/// What was handed in, and whether each was checked against its original.
fn documents(c: &mut Cursor, r: &Receipt) {
    c.line(10.5, Weight::Bold, "Giấy tờ đã nhận / Documents received:");
    if r.documents.is_empty() {
        c.line(10.0, Weight::Regular, "— (không có / none)");
    }
    for (i, (name, checked)) in r.documents.iter().enumerate() {
        let mark = if *checked {
            " — đã đối chiếu bản chính / checked against the original"
        } else {
            ""
        };
        c.line(10.0, Weight::Regular, &format!("{}. {name}{mark}", i + 1));
    }
    c.gap(8.0);
}

/// The QR code to the status page, and the VietQR code to pay the fee.
fn codes(c: &mut Cursor, status_url: &str, vietqr: Option<&str>) {
    let top = c.y;
    c.page.qr(LEFT, top - 110.0, 110.0, status_url);
    c.page.text(
        LEFT,
        top - 124.0,
        8.5,
        Weight::Regular,
        "Tra cứu tình trạng / Check the status",
    );
    if let Some(payload) = vietqr {
        c.page.qr(LEFT + 190.0, top - 110.0, 110.0, payload);
        c.page.text(
            LEFT + 190.0,
            top - 124.0,
            8.5,
            Weight::Regular,
            "Quét để nộp phí (VietQR) / Scan to pay",
        );
    }
    c.y = top - 150.0;
    c.line(
        9.0,
        Weight::Regular,
        &format!("Tra cứu: {status_url} — nhập số hồ sơ và mã tra cứu ở trên. / Enter the number and lookup code above."),
    );
    c.gap(14.0);
}

/// Where both sides sign.
fn signatures(c: &mut Cursor, r: &Receipt) {
    let y = c.y;
    c.page
        .text(LEFT, y, 10.0, Weight::Bold, "NGƯỜI NỘP HỒ SƠ / APPLICANT");
    c.page.text(
        330.0,
        y,
        10.0,
        Weight::Bold,
        "NGƯỜI TIẾP NHẬN / RECEIVED BY",
    );
    c.page.text(
        LEFT,
        y - 13.0,
        8.5,
        Weight::Regular,
        "(ký, ghi rõ họ tên / sign and write your name)",
    );
    c.page
        .text(330.0, y - 13.0, 8.5, Weight::Regular, &r.officer);
}
