//! The one-stop counter over HTTP: a counter officer identifies the person at the desk by
//! CCCD (audited, in their access log), files for them on the online path, and the person
//! confirms on the spot with the code sent to their registered phone or by signing the
//! receipt; a ward's counter serves its residents, the city's Center anyone, each
//! application going to its deciding agency; paper results are handed over once.

use serde_json::{json, Value};

use crate::applications::{catalog, move_to};
use crate::helpers::*;
use crate::personas::*;

const HUNG: &str = "079085000011";
const TAI: &str = "079085000012";
const VY: &str = "079085000013";

async fn residents(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    std::fs::write(
        &path,
        format!(
            "citizen_id,full_name,date_of_birth,sex,permanent_street,permanent_unit,phone,email\n\
             {HUNG},Phạm Văn Hùng,1985-02-02,male,3 Pasteur,26743,0912345678,\n\
             {TAI},Võ Văn Tài,1985-02-03,male,9 Trần Quang Khải,26737,,tai@example.vn\n\
             {VY},Lê Văn Vỹ,1985-02-04,male,4 Pasteur,26743,,\n"
        ),
    )
    .unwrap();
    run_cli_ok(&app.db, &["import", "citizens", path.to_str().unwrap()]).await;
}

async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let (s, b, _) = app
        .as_(token)
        .header("Idempotency-Key", fresh_key())
        .send(reqwest::Method::POST, path, Some(body))
        .await;
    (s, b)
}

/// A key no other request of the test used.
fn fresh_key() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "counter-{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn birth(citizen: &str) -> Value {
    json!({"citizen_id": citizen, "application": {"procedure_code": "T-KHAISINH",
        "answers": {"child_name": "Bé Na", "born_on": "2026-11-01"}}})
}

/// The codes the sending jobs wrote, by the recipient's contact.
async fn sent_codes(app: &TestApp, dir: &std::path::Path) -> Vec<(String, String)> {
    let out = dir.join("outbox");
    run_cli_ok(&app.db, &["notify", "--out", out.to_str().unwrap()]).await;
    let Ok(entries) = std::fs::read_dir(&out) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for f in entries {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        let to = text.lines().next().unwrap_or("").to_owned();
        if let Some(code) = text
            .split_whitespace()
            .find(|w| w.len() == 9 && w.as_bytes()[4] == b'-')
        {
            found.push((to, code.to_owned()));
        }
    }
    found
}

#[tokio::test]
async fn a_counter_files_for_the_person_at_the_desk_who_confirms_on_the_spot() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    residents(&app).await;
    let (ward, center, officer) = (
        city.token("counter_ward"),
        city.token("counter_center"),
        city.token("officer"),
    );

    // Identifying: the ward's counter finds its resident, with the contact masked; a
    // resident of another ward, a CCCD nobody holds and a malformed one are refused.
    let (s, p) = post(
        &app,
        ward,
        "/api/v1/counter/identify",
        &json!({"citizen_id": HUNG}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        (p["full_name"].as_str(), p["contact"].as_str()),
        (Some("Phạm Văn Hùng"), Some("09******78"))
    );
    for (who, id, want) in [
        (ward, TAI, (404, "citizen_not_found")),
        (ward, "079085000099", (404, "citizen_not_found")),
        (ward, "07908500001", (422, "invalid_citizen_id")),
        (officer, HUNG, (403, "forbidden")),
        (city.token("digital_team"), HUNG, (403, "forbidden")),
    ] {
        let (s, b) = post(
            &app,
            who,
            "/api/v1/counter/identify",
            &json!({ "citizen_id": id }),
        )
        .await;
        assert_eq!((s, error_code(&b)), want, "{id}: {b}");
    }
    let (s, p) = post(
        &app,
        center,
        "/api/v1/counter/identify",
        &json!({"citizen_id": TAI}),
    )
    .await;
    assert_eq!(
        (s, p["contact"].as_str()),
        (200, Some("t***@example.vn")),
        "{p}"
    );

    // Filing for Hùng: the online path's checks and autofill; a draft awaiting him.
    let (s, bad) = post(
        &app,
        ward,
        "/api/v1/counter/applications",
        &json!({"citizen_id": HUNG, "application": {"procedure_code": "T-KHAISINH", "answers": {"born_on": "2026-11-01"}}}),
    )
    .await;
    assert_eq!((s, error_code(&bad)), (422, "invalid_answers"), "{bad}");
    let (s, filed) = post(&app, ward, "/api/v1/counter/applications", &birth(HUNG)).await;
    assert_eq!(s, 201, "{filed}");
    let a = &filed["application"];
    assert_eq!(
        (
            a["status"].as_str(),
            a["channel"].as_str(),
            a["intake_agency"].as_str()
        ),
        (Some("draft"), Some("counter"), Some("UBND-26743"))
    );
    assert_eq!(a["answers"][0]["value"], "Phạm Văn Hùng");
    assert_eq!(filed["code_sent_to"], "09******78");
    let number = a["number"].as_str().unwrap().to_owned();
    // Nobody processes it yet: the deciding officer cannot see it.
    let (s, _) = app
        .as_(officer)
        .get(&format!("/api/v1/applications/{number}"))
        .await;
    assert_eq!(s, 404);
    // A counter cannot file for someone outside its area.
    let (s, b) = post(&app, ward, "/api/v1/counter/applications", &birth(TAI)).await;
    assert_eq!((s, error_code(&b)), (403, "forbidden"), "{b}");

    // The code went to Hùng's phone; a wrong code is refused, the right one submits.
    let dir = tempfile::tempdir().unwrap();
    let codes = sent_codes(&app, dir.path()).await;
    let code = codes
        .iter()
        .find(|(to, _)| to.contains("0912345678"))
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| panic!("no code to Hùng's phone: {codes:?}"));
    let confirm = format!("/api/v1/counter/applications/{number}/confirm");
    let (s, b) = post(
        &app,
        ward,
        &confirm,
        &json!({"method": "code", "code": "AAAA-AAAA"}),
    )
    .await;
    assert_eq!(
        (s, error_code(&b)),
        (422, "invalid_confirmation_code"),
        "{b}"
    );
    let (s, b) = post(
        &app,
        center,
        &confirm,
        &json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(
        (s, error_code(&b)),
        (404, "application_not_found"),
        "another counter: {b}"
    );
    let (s, b) = post(
        &app,
        ward,
        &confirm,
        &json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "submitted");
    let last = b["events"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["comment"].as_str().unwrap().contains("one-time code"),
        "{last}"
    );
    let (s, b) = post(
        &app,
        ward,
        &confirm,
        &json!({"method": "code", "code": code}),
    )
    .await;
    assert_eq!(
        (s, error_code(&b)),
        (409, "not_awaiting_confirmation"),
        "{b}"
    );
    // Now it is the ward's to process, like any submission.
    let (s, b) = app
        .as_(officer)
        .get(&format!("/api/v1/applications/{number}"))
        .await;
    assert_eq!((s, b["channel"].as_str()), (200, Some("counter")), "{b}");

    // Hùng's access log holds who looked him up at the counter, and why.
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, COALESCE(purpose, '') FROM audit_log WHERE object_id = $1 AND actor = 'staff:motcua.benthanh'",
    )
    .bind(HUNG)
    .fetch_all(&app.db.raw().await)
    .await
    .unwrap();
    assert!(
        rows.contains(&("citizen.read_counter".into(), "counter intake".into())),
        "{rows:?}"
    );

    // The Center takes in Tài's commune-level filing and routes it to his ward; he signs the
    // receipt. The ward's counter cannot confirm it.
    let (s, filed) = post(&app, center, "/api/v1/counter/applications", &birth(TAI)).await;
    assert_eq!(s, 201, "{filed}");
    let a = &filed["application"];
    assert_eq!(
        (a["agency_code"].as_str(), a["intake_agency"].as_str()),
        (Some("UBND-26737"), Some("TT-HCC"))
    );
    assert_eq!(filed["code_sent_to"], "t***@example.vn");
    let tai_number = a["number"].as_str().unwrap().to_owned();
    let tai_confirm = format!("/api/v1/counter/applications/{tai_number}/confirm");
    let (s, _) = post(
        &app,
        ward,
        &tai_confirm,
        &json!({"method": "signed_receipt"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, b) = post(
        &app,
        center,
        &tai_confirm,
        &json!({"method": "signed_receipt"}),
    )
    .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("submitted")), "{b}");
    let (s, b) = post(
        &app,
        center,
        &tai_confirm,
        &json!({"method": "fingerprint"}),
    )
    .await;
    assert_eq!(s, 422, "{b}");

    // Vỹ has no contact on record: no code is sent; his signature confirms.
    let (s, filed) = post(&app, ward, "/api/v1/counter/applications", &birth(VY)).await;
    assert_eq!((s, &filed["code_sent_to"]), (201, &Value::Null), "{filed}");

    // The paper result: only once issued, once, to a named person whose ID was checked.
    let handover = format!("/api/v1/counter/applications/{number}/handover");
    let who = json!({"recipient_name": "Phạm Văn Hùng", "id_document": format!("CCCD {HUNG}")});
    let (s, b) = post(&app, ward, &handover, &who).await;
    assert_eq!((s, error_code(&b)), (409, "result_not_issued"), "{b}");
    for to in ["received", "in_review", "approved", "result_issued"] {
        let (s, b) = move_to(&app, officer, &number, json!({ "to": to })).await;
        assert_eq!(s, 200, "{to}: {b}");
    }
    let (s, b) = post(
        &app,
        ward,
        &handover,
        &json!({"recipient_name": " ", "id_document": "CCCD"}),
    )
    .await;
    assert_eq!((s, error_code(&b)), (422, "invalid_recipient"), "{b}");
    let (s, b) = post(&app, ward, &handover, &who).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["handed_by"], "staff:motcua.benthanh");
    let (s, b) = post(&app, ward, &handover, &who).await;
    assert_eq!((s, error_code(&b)), (409, "already_handed_over"), "{b}");
    let sealed: String = sqlx::query_scalar("SELECT recipient FROM result_handovers")
        .fetch_one(&app.db.raw().await)
        .await
        .unwrap();
    assert!(!sealed.contains("Hùng"), "the recipient is sealed at rest");
}

/// A JPEG's frame header (all that placing it on a PDF page needs).
fn jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    j.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    j.extend_from_slice(&h.to_be_bytes());
    j.extend_from_slice(&w.to_be_bytes());
    j.extend_from_slice(&[0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
    j
}

/// A 2×2 RGB PNG (red over blue).
const PNG: &str = "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73000000114944\
    4154789c63f8cfc000440c60f23f001bf203fdf3e74bb10000000049454e44ae426082";

async fn scan(
    app: &TestApp,
    token: &str,
    query: &str,
    pages: Vec<(&str, Vec<u8>)>,
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (i, (media, bytes)) in pages.into_iter().enumerate() {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(format!("page{i}"))
            .mime_str(media)
            .unwrap();
        form = form.part("page", part);
    }
    let res = app
        .client
        .post(app.url(&format!("/api/v1/counter/documents?{query}")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap())
}

#[tokio::test]
async fn paper_is_scanned_once_and_reused_and_results_join_the_same_store() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    residents(&app).await;
    let (ward, center, officer) = (
        city.token("counter_ward"),
        city.token("counter_center"),
        city.token("officer"),
    );
    let png = hex_bytes(PNG);
    let q = format!(
        "citizen_id={HUNG}&name=CCCD%20c%E1%BB%A7a%20H%C3%B9ng&checked_against_original=true"
    );
    let (s, doc) = scan(
        &app,
        ward,
        &q,
        vec![("image/jpeg", jpeg(1240, 1754)), ("image/png", png.clone())],
    )
    .await;
    assert_eq!(s, 201, "{doc}");
    assert_eq!(
        (
            doc["origin"].as_str(),
            doc["checked_by"].as_str(),
            doc["media_type"].as_str(),
            doc["name"].as_str()
        ),
        (
            Some("counter_scan"),
            Some("staff:motcua.benthanh"),
            Some("application/pdf"),
            Some("CCCD của Hùng")
        )
    );
    assert!(doc["checked_at"].is_string());
    // The same paper again is the same document.
    let (s, again) = scan(
        &app,
        ward,
        &q,
        vec![("image/jpeg", jpeg(1240, 1754)), ("image/png", png.clone())],
    )
    .await;
    assert_eq!(
        (s, &again["document_id"]),
        (201, &doc["document_id"]),
        "{again}"
    );
    // Not what it says it is; broken inside; nothing; another ward's resident.
    let (s, b) = scan(&app, ward, &q, vec![("image/jpeg", png.clone())]).await;
    assert_eq!((s, error_code(&b)), (415, "unsupported_file_type"), "{b}");
    let (s, b) = scan(
        &app,
        ward,
        &q,
        vec![("image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xE0])],
    )
    .await;
    assert_eq!((s, error_code(&b)), (422, "invalid_scan"), "{b}");
    // A form with no parts at all is not a form.
    let (s, b) = scan(&app, ward, &q, vec![]).await;
    assert_eq!((s, error_code(&b)), (400, "invalid_body"), "{b}");
    let (s, b) = scan(
        &app,
        ward,
        &format!("citizen_id={TAI}&name=x"),
        vec![("image/png", png.clone())],
    )
    .await;
    assert_eq!((s, error_code(&b)), (404, "citizen_not_found"), "{b}");
    let (s, b) = scan(&app, officer, &q, vec![("image/png", png.clone())]).await;
    assert_eq!(s, 403, "{b}");
    // One file as the body works too, unchecked.
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/counter/documents?citizen_id={TAI}&name=Lease"
        )))
        .bearer_auth(center)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.4 lease".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let lease: Value = res.json().await.unwrap();
    assert!(lease["checked_by"].is_null(), "{lease}");
    // Over the size limit: refused whole, nothing kept.
    let mut big = b"%PDF-1.4 ".to_vec();
    big.resize(20 * 1024 * 1024 + 1, b'x');
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/counter/documents?citizen_id={TAI}&name=Big"
        )))
        .bearer_auth(center)
        .header("content-type", "application/pdf")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);

    // Filed at the counter with the scan attached, confirmed by the signed receipt, paid at
    // the counter, decided and issued: the result joins Hùng's store.
    let body = json!({"citizen_id": HUNG, "application": {"procedure_code": "T-CUTRU",
        "documents": [{"code": "id_card", "document_id": doc["document_id"]}]}});
    let (s, filed) = post(&app, ward, "/api/v1/counter/applications", &body).await;
    assert_eq!(s, 201, "{filed}");
    let number = filed["application"]["number"].as_str().unwrap().to_owned();
    assert_eq!(
        filed["application"]["documents"][0]["origin"],
        "counter_scan"
    );
    let (s, b) = post(
        &app,
        ward,
        &format!("/api/v1/counter/applications/{number}/confirm"),
        &json!({"method": "signed_receipt"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = post(
        &app,
        officer,
        &format!("/api/v1/applications/{number}/counter-payments"),
        &json!({"receipt": "BL-0001"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    for to in ["received", "in_review", "approved", "result_issued"] {
        let (s, b) = move_to(&app, officer, &number, json!({ "to": to })).await;
        assert_eq!(s, 200, "{to}: {b}");
    }
    // The leaders' monitoring counts it as received, and not as filed online.
    let (s, m) = app
        .as_(city.token("leader"))
        .get("/api/v1/monitoring?by=procedure")
        .await;
    assert_eq!(s, 200, "{m}");
    let row = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "T-CUTRU")
        .cloned();
    let row = row.unwrap_or_else(|| panic!("no T-CUTRU row: {m}"));
    assert_eq!(
        (
            row["received"].as_i64(),
            row["received_online"].as_i64(),
            row["online_rate"].as_f64()
        ),
        (Some(1), Some(0), Some(0.0)),
        "{row}"
    );
    // Hùng, with an account, finds both in his store, and reuses the result online.
    let (s, b) = app
        .post_json(
            "/api/v1/accounts/citizens",
            &json!({"citizen_id": HUNG, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, session) = login(&app, json!({"citizen_id": HUNG, "password": PASSWORD})).await;
    let hung = session["token"].as_str().unwrap();
    let (s, docs) = app.as_(hung).get("/api/v1/me/documents").await;
    assert_eq!(s, 200);
    let docs = docs.as_array().unwrap().clone();
    let result = docs
        .iter()
        .find(|d| d["origin"] == "result")
        .unwrap_or_else(|| panic!("no result among {docs:?}"));
    assert_eq!(result["result_of"], number.as_str());
    assert!(docs
        .iter()
        .any(|d| d["origin"] == "counter_scan" && d["document_id"] == doc["document_id"]));
    let (s, pdf) = {
        let res = app
            .client
            .get(app.url(&format!(
                "/api/v1/me/documents/{}",
                result["document_id"].as_str().unwrap()
            )))
            .bearer_auth(hung)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.bytes().await.unwrap())
    };
    assert_eq!(s, 200);
    assert!(pdf.starts_with(b"%PDF-"));
    let form = json!({"procedure_code": "T-CUTRU", "documents": [
        {"code": "id_card", "document_id": doc["document_id"]},
        {"code": "lease", "document_id": result["document_id"]}]});
    let (s, b) = crate::applications::apply(&app, hung, "reuse-1", &form).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["channel"], "online");
}

fn hex_bytes(h: &str) -> Vec<u8> {
    let h: String = h.split_whitespace().collect();
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs poppler's `pdftotext` on `pdf` when it is installed (CI installs poppler-utils and
/// sets SOHOA_PDF_TOOLS=required).
fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
    {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            Some(String::from_utf8(o.stdout).unwrap())
        }
        Err(_) if std::env::var("SOHOA_PDF_TOOLS").as_deref() == Ok("required") => {
            panic!("pdftotext is required (poppler-utils)")
        }
        Err(_) => None,
    }
}

#[tokio::test]
async fn the_waiting_line_calls_in_order_and_the_receipt_prints_in_vietnamese() {
    let app = spawn_app().await;
    let city = populate(&app).await;
    catalog(&app).await;
    residents(&app).await;
    let (ward, center, officer) = (
        city.token("counter_ward"),
        city.token("counter_center"),
        city.token("officer"),
    );
    let take = |group: &'static str| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(app.url("/api/v1/counters/UBND-26743/tickets"))
                .json(&json!({ "group": group }))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (s, a1) = take("A").await;
    assert_eq!((s, a1["label"].as_str()), (201, Some("A-001")), "{a1}");
    assert_eq!(take("a").await.1["label"], "A-002");
    assert_eq!(take("B").await.1["label"], "B-001");
    let (s, b) = take("Z").await;
    assert_eq!((s, error_code(&b)), (422, "invalid_ticket_group"));
    let res = app
        .client
        .post(app.url("/api/v1/counters/NO-SUCH/tickets"))
        .json(&json!({"group": "A"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    // Kiosks at once never print the same number.
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (client, url) = (
                app.client.clone(),
                app.url("/api/v1/counters/UBND-26743/tickets"),
            );
            tokio::spawn(async move {
                let res = client
                    .post(url)
                    .json(&json!({"group": "C"}))
                    .send()
                    .await
                    .unwrap();
                res.json::<Value>().await.unwrap()["label"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
        })
        .collect();
    let mut labels = Vec::new();
    for t in tasks {
        labels.push(t.await.unwrap());
    }
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), 12, "{labels:?}");

    let call = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move { post(app, &token, "/api/v1/counter/tickets/call", &body).await }
    };
    let (s, first) = call(ward, json!({"group": "A", "desk": "Quầy 1"})).await;
    assert_eq!(
        (s, first["label"].as_str(), first["desk"].as_str()),
        (200, Some("A-001"), Some("Quầy 1")),
        "{first}"
    );
    let (_, second) = call(ward, json!({"desk": "Quầy 2"})).await;
    assert_eq!(second["label"], "A-002");
    let (_, third) = call(ward, json!({"group": "B", "desk": "Quầy 1"})).await;
    assert_eq!(third["label"], "B-001");
    let (s, b) = call(ward, json!({"group": "B", "desk": "Quầy 1"})).await;
    assert_eq!((s, error_code(&b)), (404, "no_ticket_waiting"));
    let (s, b) = call(ward, json!({"desk": "<script>"})).await;
    assert_eq!((s, error_code(&b)), (422, "invalid_desk"));
    let (s, _) = call(officer, json!({"desk": "1"})).await;
    assert_eq!(s, 403);
    // The Center's desks call their own line, not the ward's.
    let (s, _) = call(center, json!({"group": "A", "desk": "1"})).await;
    assert_eq!(s, 404);
    let finish =
        |id: &Value, what: &str| format!("/api/v1/counter/tickets/{}/{what}", id.as_str().unwrap());
    let (s, b) = post(
        &app,
        ward,
        &finish(&first["ticket_id"], "served"),
        &json!({}),
    )
    .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("served")), "{b}");
    let (s, _) = post(
        &app,
        ward,
        &finish(&first["ticket_id"], "served"),
        &json!({}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        center,
        &finish(&second["ticket_id"], "no-show"),
        &json!({}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, b) = post(
        &app,
        ward,
        &finish(&second["ticket_id"], "no-show"),
        &json!({}),
    )
    .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("no_show")));
    let (s, board) = app.get_json("/api/v1/counters/UBND-26743/board").await;
    assert_eq!(s, 200);
    assert_eq!(board["called"][0]["label"], "B-001", "{board}");
    let a = &board["lines"][0];
    assert_eq!(
        (
            a["group"].as_str(),
            a["waiting"].as_i64(),
            a["served"].as_i64(),
            a["no_show"].as_i64()
        ),
        (Some("A"), Some(0), Some(1), Some(1)),
        "{board}"
    );
    assert_eq!(a["average_wait_minutes"], 0);
    assert_eq!(board["lines"][2]["waiting"], 12);
    assert!(
        !board.to_string().contains("motcua"),
        "the board names no officer: {board}"
    );
    // The leaders see every counter's line today.
    let (s, waits) = app
        .as_(city.token("leader"))
        .get("/api/v1/monitoring/counters")
        .await;
    assert_eq!(s, 200, "{waits}");
    let w = waits
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["agency_code"] == "UBND-26743")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            w["tickets"].as_i64(),
            w["waiting"].as_i64(),
            w["served"].as_i64(),
            w["no_show"].as_i64(),
            w["average_wait_minutes"].as_i64()
        ),
        (Some(15), Some(12), Some(1), Some(1), Some(0)),
        "{w}"
    );
    let (s, _) = app.as_(ward).get("/api/v1/monitoring/counters").await;
    assert_eq!(s, 403);

    // The receipt of a counter filing, in Vietnamese, read back from the PDF.
    let mut pdf = b"%PDF-1.4 ".to_vec();
    pdf.extend_from_slice(b"id card");
    let res = app
        .client
        .post(app.url(&format!(
            "/api/v1/counter/documents?citizen_id={HUNG}&name=CCCD&checked_against_original=true"
        )))
        .bearer_auth(ward)
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .unwrap();
    let doc: Value = res.json().await.unwrap();
    let body = json!({"citizen_id": HUNG, "application": {"procedure_code": "T-CUTRU",
        "documents": [{"code": "id_card", "document_id": doc["document_id"]}]}});
    let (s, filed) = post(&app, ward, "/api/v1/counter/applications", &body).await;
    assert_eq!(s, 201, "{filed}");
    let number = filed["application"]["number"].as_str().unwrap().to_owned();
    let receipt = format!("/api/v1/counter/applications/{number}/receipt.pdf");
    let res = app
        .client
        .get(app.url(&receipt))
        .bearer_auth(officer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = app
        .client
        .get(app.url(&receipt))
        .bearer_auth(ward)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&bytes) {
        for want in [
            "PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            number.as_str(),
            "Phạm Văn Hùng",
            "Đăng ký thường trú",
            "dự kiến",
            "20.000",
            "Ảnh CCCD — đã đối chiếu bản chính",
            "NGƯỜI TIẾP NHẬN",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
    }
}
