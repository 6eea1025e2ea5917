//! Vietnam's payment rails end to end: VNPay (the simulator checks the signed payment URL
//! as VNPay does and calls the IPN, twice, signed with HMAC-SHA512; forged, wrong-amount and
//! unknown notifications are recorded and confirm nothing), VietQR codes for the fee that
//! decode back (a damaged one is refused by its CRC), and a bank statement reconciled to
//! the fees once, however often it is read.

use serde_json::{json, Value};
use sohoa_domain::payments::vnpay::{self, Merchant};
use std::collections::BTreeMap;

use crate::applications::{apply, catalog, upload};
use crate::helpers::*;
use crate::personas::*;

const VNPAY_SECRET: &str = "vnpay-merchant-secret-0123456789";
const TMN: &str = "SOHOA001";

fn merchant() -> Merchant {
    Merchant {
        tmn_code: TMN.into(),
        secret: VNPAY_SECRET.as_bytes().to_vec(),
    }
}

/// The server with VNPay played by the simulator, and a VietQR account.
async fn with_rails() -> (TestApp, std::net::SocketAddr) {
    let listener = bind_local();
    let app_addr = listener.local_addr().unwrap();
    let (sim_addr, serve) = sohoa::paysim::bind_with(
        "127.0.0.1:0".parse().unwrap(),
        format!("http://{app_addr}/api/v1/payments/webhook"),
        b"unused-webhook-secret-0123".to_vec(),
        Some(sohoa::paysim::SimVnpay {
            merchant: merchant(),
            ipn_url: format!("http://{app_addr}/api/v1/payments/vnpay/ipn"),
        }),
    )
    .await
    .unwrap();
    tokio::spawn(serve);
    let rails = sohoa::config::Rails {
        public_url: Some(format!("http://{app_addr}")),
        vnpay: Some(sohoa::config::VnpayConfig {
            url: format!("http://{sim_addr}/paymentv2/vpcpay.html"),
            tmn_code: TMN.into(),
            secret: VNPAY_SECRET.parse().unwrap(),
        }),
        vietqr: Some(sohoa::config::VietQrConfig {
            bin: "970415".into(),
            account: "113366668888".into(),
            name: "UBND TP HO CHI MINH".into(),
        }),
    };
    let app = spawn_app_with(Options {
        admin: true,
        listener: Some(listener),
        rails,
        ..Options::default()
    })
    .await;
    (app, sim_addr)
}

/// An application of Mai's owing 20,000 đồng.
async fn owing(app: &TestApp, mai: &str, key: &str) -> String {
    let mut pdf = b"%PDF-1.4 ".to_vec();
    pdf.extend_from_slice(key.as_bytes());
    let (_, doc) = upload(app, mai, "application/pdf", pdf).await;
    let form = json!({"procedure_code": "T-CUTRU", "documents": [{"code": "id_card", "document_id": doc["document_id"]}]});
    let (s, filed) = apply(app, mai, key, &form).await;
    assert_eq!((s, &filed["fee_payable"]), (201, &json!(20000)), "{filed}");
    filed["number"].as_str().unwrap().to_owned()
}

async fn paid_at(app: &TestApp, token: &str, number: &str) -> Value {
    let (_, a) = app
        .as_(token)
        .get(&format!("/api/v1/applications/{number}"))
        .await;
    a["fee_paid_at"].clone()
}

/// An IPN as VNPay would send it, signed by `secret`.
async fn ipn(app: &TestApp, fields: &[(&str, &str)], secret: &[u8]) -> Value {
    let p: BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let data = vnpay::hash_data(&p);
    let signer = Merchant {
        tmn_code: TMN.into(),
        secret: secret.to_vec(),
    };
    let url = app.url(&format!(
        "/api/v1/payments/vnpay/ipn?{data}&vnp_SecureHash={}",
        signer.sign(&data)
    ));
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn vnpay_confirms_once_and_forged_notifications_confirm_nothing() {
    let (app, _sim) = with_rails().await;
    let city = populate(&app).await;
    catalog(&app).await;
    let (mai, lan) = (city.token("citizen"), city.token("other_citizen"));
    let number = owing(&app, mai, "v1").await;
    let start = format!("/api/v1/applications/{number}/payments/vnpay");
    let (s, _, _) = app.as_(lan).send(reqwest::Method::POST, &start, None).await;
    assert_eq!(s, 404);
    let (s, checkout, _) = app.as_(mai).send(reqwest::Method::POST, &start, None).await;
    assert_eq!(s, 201, "{checkout}");
    let url = checkout["checkout_url"].as_str().unwrap().to_owned();
    assert!(
        url.contains("vnp_Amount=2000000&") && url.contains("vnp_TmnCode=SOHOA001"),
        "{url}"
    );
    let txn_ref = checkout["payment_id"].as_str().unwrap().to_owned();

    // Forged notifications before the real one: a wrong signature, an unknown payment, a
    // wrong amount. Each is answered with VNPay's code, recorded, and pays nothing.
    let good = [
        ("vnp_Amount", "2000000"),
        ("vnp_ResponseCode", "00"),
        ("vnp_TransactionStatus", "00"),
        ("vnp_TransactionNo", "99990001"),
        ("vnp_TmnCode", TMN),
        ("vnp_TxnRef", txn_ref.as_str()),
    ];
    let b = ipn(&app, &good, b"a-guess-at-the-secret").await;
    assert_eq!(b["RspCode"], "97", "{b}");
    let mut unknown = good;
    unknown[5] = ("vnp_TxnRef", "pay_000000000000000000000000");
    assert_eq!(
        ipn(&app, &unknown, VNPAY_SECRET.as_bytes()).await["RspCode"],
        "01"
    );
    let mut cheap = good;
    cheap[0] = ("vnp_Amount", "200000");
    assert_eq!(
        ipn(&app, &cheap, VNPAY_SECRET.as_bytes()).await["RspCode"],
        "04"
    );
    assert!(paid_at(&app, mai, &number).await.is_null());
    let refused: Vec<String> = sqlx::query_scalar(
        "SELECT purpose FROM audit_log WHERE action = 'payment.callback_refused' ORDER BY seq",
    )
    .fetch_all(&app.db.raw().await)
    .await
    .unwrap();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused[0].contains("signature"), "{refused:?}");

    // The tampered simulator signs with a wrong secret: refused too.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(format!("{url}&sim_tamper=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-sim-ipn"], "97");
    // The payment through the simulator: its IPN delivered twice confirms once, and the
    // applicant is sent back to the return page, which tells without confirming.
    let res = client
        .get(format!("{url}&sim_deliveries=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 302);
    assert_eq!(res.headers()["x-sim-ipn"], "00,02");
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&app.url("/payments/vnpay/return?")),
        "{back}"
    );
    let page = app
        .client
        .get(&back)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("VNPay") && page.contains(&number), "{page}");
    let forged = app
        .client
        .get(back.replace("vnp_ResponseCode=00", "vnp_ResponseCode=24"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        forged.contains("chữ ký không hợp lệ") || forged.contains("invalid signature"),
        "{forged}"
    );
    assert!(paid_at(&app, mai, &number).await.is_string());
    let (_, a) = app
        .as_(mai)
        .get(&format!("/api/v1/applications/{number}"))
        .await;
    let payments = a["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{a}");
    assert_eq!(
        (
            payments[0]["provider"].as_str(),
            payments[0]["status"].as_str()
        ),
        (Some("vnpay"), Some("paid"))
    );

    // A cancelled payment on another application leaves it owing.
    let other = owing(&app, mai, "v2").await;
    let start = format!("/api/v1/applications/{other}/payments/vnpay");
    let (_, checkout, _) = app.as_(mai).send(reqwest::Method::POST, &start, None).await;
    let url = checkout["checkout_url"].as_str().unwrap();
    let res = client
        .get(format!("{url}&sim_result=24"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-sim-ipn"], "00");
    assert!(paid_at(&app, mai, &other).await.is_null());
}

#[tokio::test]
async fn vietqr_codes_decode_back_and_a_statement_settles_fees_once() {
    let (app, _sim) = with_rails().await;
    let city = populate(&app).await;
    catalog(&app).await;
    let mai = city.token("citizen");
    let (a, b, c) = (
        owing(&app, mai, "q1").await,
        owing(&app, mai, "q2").await,
        owing(&app, mai, "q3").await,
    );

    // The code for the fee: the city's account, the amount, the number as the note.
    let (s, qr) = app
        .as_(mai)
        .get(&format!("/api/v1/applications/{a}/vietqr"))
        .await;
    assert_eq!(s, 200, "{qr}");
    assert_eq!(
        (qr["amount"].as_i64(), qr["note"].as_str()),
        (Some(20000), Some(a.as_str()))
    );
    assert!(qr["svg"].as_str().unwrap().starts_with("<svg"));
    let payload = qr["payload"].as_str().unwrap();
    let (s, decoded, _) = app
        .as_(mai)
        .send(
            reqwest::Method::POST,
            "/api/v1/vietqr/decode",
            Some(&json!({ "payload": payload })),
        )
        .await;
    assert_eq!(s, 200, "{decoded}");
    assert_eq!(
        (
            decoded["bank_bin"].as_str(),
            decoded["account"].as_str(),
            decoded["amount"].as_i64(),
            decoded["note"].as_str()
        ),
        (
            Some("970415"),
            Some("113366668888"),
            Some(20000),
            Some(a.as_str())
        )
    );
    // One character changed: the CRC says so.
    let damaged = payload.replacen("20000", "90000", 1);
    let (s, e, _) = app
        .as_(mai)
        .send(
            reqwest::Method::POST,
            "/api/v1/vietqr/decode",
            Some(&json!({ "payload": damaged })),
        )
        .await;
    assert_eq!((s, error_code(&e)), (422, "invalid_vietqr"), "{e}");
    assert!(
        e["error"]["message_en"].as_str().unwrap().contains("CRC"),
        "{e}"
    );

    // The statement: a's fee paid, b named with another number (listed), c paid short,
    // a line without a reference, a line that cannot be read, and a's transfer again.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("statement.csv");
    std::fs::write(
        &path,
        format!(
            "transaction_id,date,amount,description\n\
             FT001,2026-12-07,20000,NOP PHI {a}\n\
             FT002,2026-12-07,20000,{b} va {c}\n\
             FT003,2026-12-07,\"15,000\",{c}\n\
             FT004,2026-12-07,50000,chuyen tien\n\
             FT005,07/12/2026,20000,{b}\n\
             FT006,2026-12-07,20000,{a} lan 2\n"
        ),
    )
    .unwrap();
    let (code, out, err) = run_cli(
        &app.db,
        &[
            "payments",
            "reconcile",
            path.to_str().unwrap(),
            "--bank",
            "vietinbank",
        ],
    )
    .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.starts_with(
            "5 credits: 1 confirmed now, 0 confirmed before, 4 left for review; 1 lines refused"
        ),
        "{out}"
    );
    assert!(out.contains("line 6: refused"), "{out}");
    assert!(
        out.contains(&format!(
            "line 3: FT002 20000 đồng: the note names several applications: {b}, {c}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "line 4: FT003 15000 đồng: {c} owes 20000 đồng, not 15000"
        )),
        "{out}"
    );
    assert!(
        out.contains("line 5: FT004 50000 đồng: the note names no application"),
        "{out}"
    );
    assert!(
        out.contains(&format!("line 7: FT006 20000 đồng: {a} owes nothing now")),
        "{out}"
    );
    assert!(paid_at(&app, mai, &a).await.is_string());
    assert!(paid_at(&app, mai, &b).await.is_null() && paid_at(&app, mai, &c).await.is_null());
    // Read again: nothing is confirmed twice.
    let (_, out, _) = run_cli(
        &app.db,
        &[
            "payments",
            "reconcile",
            path.to_str().unwrap(),
            "--bank",
            "vietinbank",
        ],
    )
    .await;
    assert!(
        out.starts_with("5 credits: 0 confirmed now, 1 confirmed before"),
        "{out}"
    );
    let (_, detail) = app.as_(mai).get(&format!("/api/v1/applications/{a}")).await;
    assert_eq!(detail["payments"].as_array().unwrap().len(), 1, "{detail}");
    assert_eq!(detail["payments"][0]["provider"], "bank:vietinbank");
    // A statement without the columns is refused whole.
    std::fs::write(&path, "date,amount\n2026-12-07,1\n").unwrap();
    let (code, _, err) = run_cli(&app.db, &["payments", "reconcile", path.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("transaction_id"), "{err}");
}
