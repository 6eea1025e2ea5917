//! Signatures anyone can check, end to end on the real server: an issued result is a PDF
//! that pdfsig (poppler, NSS) reports valid and unchanged and one changed byte breaks; its
//! time-stamp comes from the city's RFC 3161 authority, which `openssl ts` also uses; a
//! revoked agency certificate is on the CRL the certificates name, and both pdfsig and the
//! verifier say so; PDFs signed under a CA the city does not trust are refused with the
//! reason, until the city trusts it; bad uploads get clear 4xx answers.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::applications::{apply, catalog, move_to};
use crate::helpers::*;
use crate::personas::*;

fn required() -> bool {
    std::env::var("SOHOA_PDF_TOOLS").as_deref() == Ok("required")
}

/// Runs a tool in `dir`: `None` when it is not installed and not required.
fn tool(dir: &Path, name: &str, args: &[&str]) -> Option<(bool, String)> {
    match Command::new(name).args(args).current_dir(dir).output() {
        Ok(o) => Some((
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )),
        Err(_) if required() => panic!("{name} is required (poppler-utils, libnss3-tools)"),
        Err(_) => None,
    }
}

/// An NSS database trusting `ca_pem`, for pdfsig; `None` without the NSS tools.
fn nss_db(dir: &Path, ca_pem: &str) -> Option<String> {
    std::fs::create_dir_all(dir.join("nss")).unwrap();
    let db = format!("sql:{}", dir.join("nss").display());
    let (ok, out) = tool(dir, "certutil", &["-N", "-d", &db, "--empty-password"])?;
    assert!(ok, "{out}");
    std::fs::write(dir.join("ca.pem"), ca_pem).unwrap();
    let (ok, out) = tool(
        dir,
        "certutil",
        &[
            "-A", "-d", &db, "-n", "city", "-t", "CT,C,C", "-i", "ca.pem",
        ],
    )?;
    assert!(ok, "{out}");
    Some(db)
}

/// The server with its public address set (the certificates name its CRL).
async fn with_public_url(trusted: Option<std::path::PathBuf>) -> TestApp {
    let listener = bind_local();
    let addr = listener.local_addr().unwrap();
    spawn_app_with(Options {
        admin: true,
        listener: Some(listener),
        rails: sohoa::config::Rails {
            public_url: Some(format!("http://{addr}")),
            ..Default::default()
        },
        trusted_cas: trusted,
        ..Options::default()
    })
    .await
}

/// Files an application for Mai and takes it to its result; returns its number.
async fn issued(app: &TestApp, city: &City, key: &str) -> String {
    let (s, filed) = apply(
        app,
        city.token("citizen"),
        key,
        &json!({"procedure_code": "T-KHAISINH", "answers": {"child_name": "Bé Na", "born_on": "2026-11-01"}}),
    )
    .await;
    assert_eq!(s, 201, "{filed}");
    let number = filed["number"].as_str().unwrap().to_owned();
    for to in ["received", "in_review", "approved", "result_issued"] {
        let (s, b) = move_to(app, city.token("officer"), &number, json!({"to": to})).await;
        assert_eq!(s, 200, "{to}: {b}");
    }
    number
}

/// The result PDF in the applicant's documents.
async fn result_pdf(app: &TestApp, token: &str, number: &str) -> Vec<u8> {
    let (s, docs) = app.as_(token).get("/api/v1/me/documents").await;
    assert_eq!(s, 200, "{docs}");
    let doc = docs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["result_of"] == number)
        .unwrap_or_else(|| panic!("no result document for {number}: {docs}"));
    let res = app
        .client
        .get(app.url(&format!(
            "/api/v1/me/documents/{}",
            doc["document_id"].as_str().unwrap()
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.bytes().await.unwrap().to_vec()
}

/// POSTs `pdf` to `path` (as `token`, when given): the status and the JSON answer.
async fn post_pdf(app: &TestApp, token: Option<&str>, path: &str, pdf: Vec<u8>) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/pdf")
        .body(pdf);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let s = res.status().as_u16();
    (s, res.json().await.unwrap())
}

async fn verify(app: &TestApp, pdf: Vec<u8>) -> (u16, Value) {
    post_pdf(app, None, "/api/v1/signatures/verify", pdf).await
}

/// One byte of the page's content changed, inside the signed range.
fn tampered(pdf: &[u8]) -> Vec<u8> {
    let mut out = pdf.to_vec();
    let at = out.windows(7).position(|w| w == b"stream\n").unwrap() + 30;
    out[at] ^= 0x01;
    out
}

#[tokio::test]
async fn a_result_is_a_signed_pdf_that_pdfsig_accepts_and_a_changed_byte_or_a_revocation_breaks() {
    let app = with_public_url(None).await;
    let city = populate(&app).await;
    catalog(&app).await;
    let mai = city.token("citizen");
    let number = issued(&app, &city, "sig1").await;
    let pdf = result_pdf(&app, mai, &number).await;
    assert!(pdf.starts_with(b"%PDF-"));

    // The verifier: signed by the ward's agency, under the city's root, time-stamped.
    let (s, report) = verify(&app, pdf.clone()).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["valid"], true, "{report}");
    let sig = &report["signatures"][0];
    assert_eq!(sig["signer"], "UBND-26743 result signing");
    assert_eq!(sig["integrity"], "intact");
    assert_eq!(sig["certificate"], "trusted");
    assert_eq!(sig["time_stamp_valid"], true);
    assert_eq!(sig["sub_filter"], "ETSI.CAdES.detached");
    assert_eq!(sig["chain"].as_array().unwrap().len(), 2, "{sig}");
    let serial = sig["serial"].as_str().unwrap().to_owned();

    let (s, bad) = verify(&app, tampered(&pdf)).await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            bad["valid"].as_bool(),
            bad["signatures"][0]["integrity"].as_str()
        ),
        (Some(false), Some("digest_mismatch"))
    );

    // pdfsig, with an NSS database that trusts the city's root.
    let dir = tempfile::tempdir().unwrap();
    let ca = app.get("/api/v1/pki/ca.pem").await.text().await.unwrap();
    std::fs::write(dir.path().join("result.pdf"), &pdf).unwrap();
    std::fs::write(dir.path().join("tampered.pdf"), tampered(&pdf)).unwrap();
    let pdfsig = nss_db(dir.path(), &ca).and_then(|db| {
        let (_, out) = tool(dir.path(), "pdfsig", &["-nssdir", &db, "result.pdf"])?;
        assert!(out.contains("Signature is Valid."), "{out}");
        assert!(out.contains("Total document signed"), "{out}");
        assert!(out.contains("Certificate is Trusted."), "{out}");
        let (_, out) = tool(dir.path(), "pdfsig", &["-nssdir", &db, "tampered.pdf"])?;
        assert!(out.contains("Digest Mismatch."), "{out}");
        let (ok, text) = tool(dir.path(), "pdftotext", &["result.pdf", "-"])?;
        assert!(
            ok && text.contains(&number) && text.contains("KẾT QUẢ"),
            "{text}"
        );
        Some(db)
    });

    // The city's administrator sees the certificate in use and revokes it.
    let admin = city.token("city_admin");
    let (s, list) = app.as_(admin).get("/api/v1/pki/certificates").await;
    assert_eq!(s, 200, "{list}");
    let mine = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["serial"] == serial.as_str())
        .unwrap_or_else(|| panic!("{serial} not listed: {list}"));
    assert_eq!(
        (mine["owner"].as_str(), mine["state"].as_str()),
        (Some("UBND-26743"), Some("current"))
    );
    assert_eq!(
        app.as_(city.token("officer"))
            .get("/api/v1/pki/certificates")
            .await
            .0,
        403
    );
    let path = format!("/api/v1/pki/certificates/{serial}/revoke");
    let (s, b) = app.as_(admin).post(&path, &json!({"reason": "lost"})).await;
    assert_eq!((s, error_code(&b)), (422, "invalid_body"), "{b}");
    let (s, revoked) = app
        .as_(admin)
        .post(&path, &json!({"reason": "key_compromise"}))
        .await;
    assert_eq!(s, 200, "{revoked}");
    assert_eq!(revoked["state"], "revoked");
    let (s, b) = app
        .as_(admin)
        .post(&path, &json!({"reason": "key_compromise"}))
        .await;
    assert_eq!((s, error_code(&b)), (409, "certificate_already_revoked"));

    // The CRL the certificate names lists it; openssl reads it.
    let res = app.get("/pki/city.crl").await;
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/pkix-crl"
    );
    let crl = res.bytes().await.unwrap();
    std::fs::write(dir.path().join("city.crl"), &crl).unwrap();
    let (ok, text) = tool(
        dir.path(),
        "openssl",
        &[
            "crl", "-inform", "DER", "-in", "city.crl", "-noout", "-text",
        ],
    )
    .expect("openssl");
    assert!(
        ok && text.contains(&serial) && text.contains("Key Compromise"),
        "{text}"
    );

    let (_, after) = verify(&app, pdf.clone()).await;
    assert_eq!(after["valid"], false);
    assert_eq!(after["signatures"][0]["certificate"], "revoked");
    if let Some(db) = pdfsig {
        let (ok, out) = tool(dir.path(), "crlutil", &["-I", "-d", &db, "-i", "city.crl"]).unwrap();
        assert!(ok, "{out}");
        let (_, out) = tool(dir.path(), "pdfsig", &["-nssdir", &db, "result.pdf"]).unwrap();
        assert!(out.contains("Certificate has been Revoked."), "{out}");
    }

    // The agency's next result is signed with a new key, and holds.
    let next = issued(&app, &city, "sig2").await;
    let (_, fresh) = verify(&app, result_pdf(&app, mai, &next).await).await;
    assert_eq!(fresh["valid"], true, "{fresh}");
    assert_ne!(
        fresh["signatures"][0]["serial"].as_str(),
        Some(serial.as_str())
    );
    // The first result's JSON signature still checks against the key that made it.
    json_result_checks(&app, mai, &number).await;
}

/// The JSON result of `number` reads with the certificate of the key that signed it.
async fn json_result_checks(app: &TestApp, token: &str, number: &str) {
    let (s, r) = app
        .as_(token)
        .get(&format!("/api/v1/applications/{number}/result"))
        .await;
    assert_eq!(s, 200, "{r}");
    assert!(r["certificate"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
}

#[tokio::test]
async fn the_time_stamping_authority_answers_openssl() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), "Quyết định số 12/QĐ-UBND").unwrap();
    let Some((ok, out)) = tool(
        dir.path(),
        "openssl",
        &[
            "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "req.tsq",
        ],
    ) else {
        return;
    };
    assert!(ok, "{out}");
    let query = std::fs::read(dir.path().join("req.tsq")).unwrap();
    let res = app
        .client
        .post(app.url("/tsa"))
        .header("content-type", "application/timestamp-query")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/timestamp-reply"
    );
    std::fs::write(dir.path().join("reply.tsr"), res.bytes().await.unwrap()).unwrap();
    let ca = app.get("/api/v1/pki/ca.pem").await.text().await.unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca).unwrap();
    let (ok, out) = tool(
        dir.path(),
        "openssl",
        &[
            "ts",
            "-verify",
            "-in",
            "reply.tsr",
            "-queryfile",
            "req.tsq",
            "-CAfile",
            "ca.pem",
        ],
    )
    .unwrap();
    assert!(ok && out.contains("Verification: OK"), "{out}");

    // Not a request: refused inside the reply, as RFC 3161 answers (status 2, rejection).
    let res = app
        .client
        .post(app.url("/tsa"))
        .header("content-type", "application/timestamp-query")
        .body(b"not DER".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    std::fs::write(dir.path().join("bad.tsr"), res.bytes().await.unwrap()).unwrap();
    let (_, out) = tool(
        dir.path(),
        "openssl",
        &["ts", "-reply", "-in", "bad.tsr", "-text"],
    )
    .unwrap();
    assert!(out.contains("Status: Rejected"), "{out}");
    let res = app
        .client
        .post(app.url("/tsa"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
}

/// A PDF signed under a root of its own (a licensed CA's, as far as the city knows).
fn signed_elsewhere(dir: &Path) -> Vec<u8> {
    use sohoa_sign::issue::{self, Authority, Profile, Subject};
    let now = time::OffsetDateTime::now_utc();
    let subject = |cn: &str| Subject {
        common_name: cn.into(),
        organization: "CA Việt Nam (thử)".into(),
        unit: None,
        identifier: None,
    };
    let root_subject = subject("Test Licensed CA");
    let root = issue::root(&root_subject, time::Duration::days(365), now).unwrap();
    let auth = Authority {
        subject: &root_subject,
        key_pem: &root.key_pem,
    };
    let mut person = subject("Nguyễn Thị Mai");
    person.identifier = Some(format!("CCCD:{MAI}"));
    let signer = issue::issue(
        &auth,
        &person,
        Profile::Signer,
        time::Duration::days(365),
        None,
        now,
    )
    .unwrap();
    std::fs::write(dir.join("licensed-ca.pem"), &root.cert_pem).unwrap();
    let mut doc = sohoa_pdf::Document::new("Tờ khai");
    let mut page = sohoa_pdf::Page::a4();
    page.text(
        50.0,
        780.0,
        14.0,
        sohoa_pdf::Weight::Bold,
        "TỜ KHAI ĐĂNG KÝ KHAI SINH",
    );
    doc.push(page);
    let field = sohoa_pdf::SignatureField {
        name: "Nguyễn Thị Mai".into(),
        reason: "Ký tờ khai".into(),
        location: "TP.HCM".into(),
        time: sohoa_pdf::time_parts::Utc(2026, 12, 8, 1, 0, 0),
        sub_filter: "ETSI.CAdES.detached",
    };
    let sign = |m: &[u8]| issue::sign(&signer.key_pem, m);
    let s = sohoa_sign::cms::Signer {
        certificate: &signer.cert_der,
        chain: &[],
        sign: &sign,
    };
    let tsa_sign = |m: &[u8]| issue::sign(&signer.key_pem, m);
    // No authority of its own: the "time-stamp" is made by the signer's key, which is no
    // time-stamping certificate; the verifier must not count it.
    sohoa_sign::pades::sign(doc.render_signable(&field), &s, |sig| {
        let alg = sohoa_sign::tsp::HashAlg::Sha256;
        let req = sohoa_sign::tsp::Request::new(alg, &alg.digest(&[sig]), None).unwrap();
        let a = sohoa_sign::tsp::Authority {
            certificate: &signer.cert_der,
            chain: &[],
            sign: &tsa_sign,
        };
        Ok(sohoa_sign::tsp::issue(&req, &[1], now, &a).unwrap())
    })
    .unwrap()
}

#[tokio::test]
async fn a_pdf_signed_under_an_untrusted_ca_is_refused_with_the_reason_until_the_city_trusts_it() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = signed_elsewhere(dir.path());
    let app = spawn_app().await;
    let (s, report) = verify(&app, pdf.clone()).await;
    assert_eq!(s, 200, "{report}");
    let sig = &report["signatures"][0];
    assert_eq!(report["valid"], false);
    assert_eq!(sig["integrity"], "intact");
    assert_eq!(sig["certificate"], "untrusted_issuer");
    assert_eq!(sig["signer"], "Nguyễn Thị Mai");
    assert_eq!(sig["identifier"], format!("CCCD:{MAI}"));
    // The page says why, in both languages.
    for (lang, says) in [
        ("vi", "Không do tổ chức chứng thực"),
        ("en", "Not issued by a certificate authority"),
    ] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(pdf.clone())
                .file_name("to-khai.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
        let res = app
            .client
            .post(app.url("/verify"))
            .header("accept-language", lang)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let html = res.text().await.unwrap();
        assert!(
            html.contains(says) && html.contains("data-valid=\"false\""),
            "{lang}: {html}"
        );
    }

    let trusting = with_public_url(Some(dir.path().to_owned())).await;
    let (_, report) = verify(&trusting, pdf).await;
    let sig = &report["signatures"][0];
    assert_eq!(sig["certificate"], "trusted", "{report}");
    assert_eq!(sig["integrity"], "intact");
    // Its "time-stamp" was not made by a time-stamping authority: not counted.
    assert_eq!(sig["time_stamp_valid"], false);
    assert_eq!(report["valid"], false);
}

#[tokio::test]
async fn bad_uploads_get_clear_answers_in_both_languages() {
    let app = spawn_app().await;
    let post = |media: &'static str, body: Vec<u8>| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(app.url("/api/v1/signatures/verify"))
                .header("content-type", media)
                .body(body)
                .send()
                .await
                .unwrap();
            let s = res.status().as_u16();
            (s, res.json::<Value>().await.unwrap())
        }
    };
    let (s, b) = post("text/plain", b"hello".to_vec()).await;
    assert_eq!((s, error_code(&b)), (415, "unsupported_file_type"));
    let (s, b) = post("application/pdf", b"hello, not a PDF".to_vec()).await;
    assert_eq!((s, error_code(&b)), (422, "pdf_unreadable"));
    assert!(b["error"]["message_vi"].as_str().unwrap().contains("PDF"));
    let mut doc = sohoa_pdf::Document::new("Chưa ký");
    doc.push(sohoa_pdf::Page::a4());
    let (s, b) = post("application/pdf", doc.render()).await;
    assert_eq!((s, error_code(&b)), (422, "pdf_unsigned"));
    // A signature whose byte range leaves out more than its own value.
    let dir = tempfile::tempdir().unwrap();
    let signed = signed_elsewhere(dir.path());
    let key = b"/ByteRange [0 ";
    let at = signed.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    let end = signed[at..].iter().position(|b| *b == b' ').unwrap() + at;
    let first: usize = std::str::from_utf8(&signed[at..end])
        .unwrap()
        .parse()
        .unwrap();
    let shorter = format!("{:<width$}", first - 100, width = end - at);
    let mut partial = signed.clone();
    partial[at..end].copy_from_slice(shorter.as_bytes());
    let (s, b) = post("application/pdf", partial).await;
    assert_eq!((s, error_code(&b)), (422, "signature_partial"), "{b}");
    assert!(b["error"]["message_en"]
        .as_str()
        .unwrap()
        .contains("only part"));
    let (s, b) = post("application/pdf", Vec::new()).await;
    assert_eq!((s, error_code(&b)), (422, "empty_file"));
    let (s, b) = post("application/pdf", vec![b'%'; 21 * 1024 * 1024]).await;
    assert_eq!((s, error_code(&b)), (413, "payload_too_large"), "{b}");
}

/// A certificate authority made with openssl (RSA, as Vietnam's licensed CAs issue), and
/// certificates from it naming `people` (file stem, common name, CCCD).
fn openssl_ca(dir: &Path, name: &str, people: &[(&str, &str, &str)]) -> Option<()> {
    let run = |args: &[&str]| {
        let (ok, out) = tool(dir, "openssl", args)?;
        assert!(ok, "openssl {args:?}: {out}");
        Some(())
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &format!("{name}.key"),
        "-out",
        &format!("{name}.pem"),
        "-days",
        "30",
        "-subj",
        &format!("/C=VN/O={name}/CN={name} Root CA"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    for (stem, cn, cccd) in people {
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{stem}.key"),
            "-out",
            &format!("{stem}.csr"),
            "-subj",
            &format!("/C=VN/CN={cn}/UID=CCCD:{cccd}"),
        ])?;
        run(&[
            "x509",
            "-req",
            "-in",
            &format!("{stem}.csr"),
            "-CA",
            &format!("{name}.pem"),
            "-CAkey",
            &format!("{name}.key"),
            "-CAcreateserial",
            "-out",
            &format!("{stem}.pem"),
            "-days",
            "30",
            "-extfile",
            "leaf.ext",
        ])?;
    }
    Some(())
}

/// Signs `input` with pyHanko (PAdES, time-stamped by `tsa`) as `stem`; `None` when pyHanko
/// is not installed and not required.
fn pyhanko_sign(dir: &Path, input: &str, output: &str, stem: &str, tsa: &str) -> Option<()> {
    let (ok, out) = tool(
        dir,
        "pyhanko",
        &[
            "sign",
            "addsig",
            "--field",
            "Sig1",
            "--use-pades",
            "--timestamp-url",
            tsa,
            "pemder",
            "--key",
            &format!("{stem}.key"),
            "--cert",
            &format!("{stem}.pem"),
            "--no-pass",
            input,
            output,
        ],
    )?;
    assert!(ok, "pyhanko: {out}");
    Some(())
}

async fn put_signed_procedure(app: &TestApp) {
    let body = json!({
        "code": "T-CAMKET", "name_vi": "Bản cam kết bảo vệ môi trường", "name_en": "Environmental commitment",
        "level": "commune", "agency_code": null, "deadline_days": 5, "fee": null, "waivers": [],
        "documents": [], "signature_required": true,
        "form": [
            {"key": "declarant", "label_vi": "Người cam kết", "label_en": "Declarant",
             "kind": {"type": "text", "max_len": 100}, "required": true,
             "source": {"registry": "citizens", "field": "full_name"}},
            {"key": "pledge", "label_vi": "Nội dung cam kết", "label_en": "Pledge",
             "kind": {"type": "text", "max_len": 500}, "required": true, "source": null}
        ]
    });
    let res = app
        .client
        .put(app.url("/api/v1/procedures/T-CAMKET"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", res.text().await.unwrap());
}

async fn upload_signed(app: &TestApp, token: &str, number: &str, pdf: Vec<u8>) -> (u16, Value) {
    let path = format!("/api/v1/applications/{number}/signature");
    post_pdf(app, Some(token), &path, pdf).await
}

// pyHanko asks the server (in this process) for its time-stamp while the test waits for
// pyHanko: the server needs a worker of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applicant_signs_the_form_in_their_own_tool_and_only_a_valid_signature_of_theirs_is_kept(
) {
    let dir = tempfile::tempdir().unwrap();
    let trusted = dir.path().join("trusted");
    std::fs::create_dir_all(&trusted).unwrap();
    let people = [("mai", "Nguyen Thi Mai", MAI), ("lan", "Tran Thi Lan", LAN)];
    if openssl_ca(dir.path(), "licensed", &people).is_none()
        || openssl_ca(
            dir.path(),
            "unknown",
            &[("stranger", "Nguyen Thi Mai", MAI)],
        )
        .is_none()
    {
        return;
    }
    std::fs::copy(
        dir.path().join("licensed.pem"),
        trusted.join("licensed.pem"),
    )
    .unwrap();
    let app = with_public_url(Some(trusted)).await;
    let city = populate(&app).await;
    put_signed_procedure(&app).await;
    let (mai, officer) = (city.token("citizen"), city.token("officer"));
    let file = |key: &'static str| {
        let app = &app;
        async move {
            let (s, filed) = apply(
                app,
                mai,
                key,
                &json!({"procedure_code": "T-CAMKET",
                "answers": {"pledge": "Không xả thải ra kênh Nhiêu Lộc"}}),
            )
            .await;
            assert_eq!(s, 201, "{filed}");
            filed["number"].as_str().unwrap().to_owned()
        }
    };
    let number = file("cam1").await;
    let other = file("cam2").await;

    // The agency cannot take it in before it is signed.
    let (s, b) = move_to(&app, officer, &number, json!({"to": "received"})).await;
    assert_eq!((s, error_code(&b)), (409, "signature_required"), "{b}");

    // Mai downloads the form (the same bytes twice) and signs it with pyHanko, time-stamped
    // by the city's authority.
    let form_path = format!("/api/v1/applications/{number}/form.pdf");
    let form = app.as_(mai).get_bytes(&form_path).await;
    assert_eq!(form, app.as_(mai).get_bytes(&form_path).await);
    std::fs::write(dir.path().join("form.pdf"), &form).unwrap();
    let other_form = app
        .as_(mai)
        .get_bytes(&format!("/api/v1/applications/{other}/form.pdf"))
        .await;
    std::fs::write(dir.path().join("other.pdf"), &other_form).unwrap();
    let tsa = app.url("/tsa");
    let signed = |input: &str, out: &str, stem: &str| {
        pyhanko_sign(dir.path(), input, out, stem, &tsa)
            .map(|()| std::fs::read(dir.path().join(out)).unwrap())
    };
    let Some(by_mai) = signed("form.pdf", "by-mai.pdf", "mai") else {
        return;
    };
    let by_lan = signed("form.pdf", "by-lan.pdf", "lan").unwrap();
    let by_stranger = signed("form.pdf", "by-stranger.pdf", "stranger").unwrap();
    let other_by_mai = signed("other.pdf", "other-by-mai.pdf", "mai").unwrap();

    let (s, b) = upload_signed(&app, mai, &number, by_lan).await;
    assert_eq!((s, error_code(&b)), (422, "signer_not_applicant"), "{b}");
    let (s, b) = upload_signed(&app, mai, &number, by_stranger).await;
    assert_eq!((s, error_code(&b)), (422, "signature_untrusted"), "{b}");
    assert!(
        b["error"]["message_en"]
            .as_str()
            .unwrap()
            .contains("Nguyen Thi Mai"),
        "{b}"
    );
    let (s, b) = upload_signed(&app, mai, &number, other_by_mai).await;
    assert_eq!(
        (s, error_code(&b)),
        (422, "form_not_this_application"),
        "{b}"
    );
    // One byte of the form changed is no longer this application's form; one byte of what
    // the tool appended (a space made a line break: the same PDF to a reader) breaks the
    // signature.
    let (s, b) = upload_signed(&app, mai, &number, tampered(&by_mai)).await;
    assert_eq!(
        (s, error_code(&b)),
        (422, "form_not_this_application"),
        "{b}"
    );
    let mut changed = by_mai.clone();
    let at = form.len()
        + changed[form.len()..]
            .iter()
            .position(|b| *b == b' ')
            .unwrap();
    changed[at] = b'\n';
    let (s, b) = upload_signed(&app, mai, &number, changed).await;
    assert_eq!((s, error_code(&b)), (422, "signature_invalid"), "{b}");
    // Nobody else signs Mai's form, even with her file.
    let (s, _) = upload_signed(&app, officer, &number, by_mai.clone()).await;
    assert_eq!(s, 403);
    // Nothing refused was kept: the officer sees no signature yet.
    let (_, seen) = app
        .as_(officer)
        .get(&format!("/api/v1/applications/{number}"))
        .await;
    assert!(
        seen.get("signature").is_none() || seen["signature"].is_null(),
        "{seen}"
    );

    let (s, sig) = upload_signed(&app, mai, &number, by_mai.clone()).await;
    assert_eq!(s, 201, "{sig}");
    assert_eq!(sig["signer"], "Nguyen Thi Mai");
    assert_eq!(sig["identifier"], format!("CCCD:{MAI}"));
    assert_eq!(sig["method"], "upload");
    assert_eq!(
        sig["time_stamped"], true,
        "pyHanko's time-stamp from /tsa: {sig}"
    );
    let (s, b) = upload_signed(&app, mai, &number, by_mai).await;
    assert_eq!((s, error_code(&b)), (409, "form_already_signed"));

    let (_, seen) = app
        .as_(officer)
        .get(&format!("/api/v1/applications/{number}"))
        .await;
    assert_eq!(seen["signature"]["signer"], "Nguyen Thi Mai", "{seen}");
    // The pages say so: the applicant's signing page, the officer's view of the application.
    let page = app
        .as_(mai)
        .get_bytes(&format!("/me/applications/{number}/sign"))
        .await;
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("data-signed=\"true\"") && page.contains("Nguyen Thi Mai"),
        "{page}"
    );
    let unsigned = app
        .as_(mai)
        .get_bytes(&format!("/me/applications/{other}/sign"))
        .await;
    let unsigned = String::from_utf8(unsigned).unwrap();
    assert!(
        unsigned.contains(&format!("/me/applications/{other}/form.pdf")),
        "{unsigned}"
    );
    let item = app
        .as_(officer)
        .get_bytes(&format!("/queue/{number}"))
        .await;
    let item = String::from_utf8(item).unwrap();
    assert!(
        item.contains("id=\"signature\"") && item.contains(&format!("CCCD:{MAI}")),
        "{item}"
    );
    let (s, b) = move_to(&app, officer, &number, json!({"to": "received"})).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applicant_signs_remotely_through_a_csc_provider_and_a_wrong_code_is_refused() {
    use sohoa_domain::totp;
    // The provider: another sohoa, with its own city CA and residents' accounts.
    let provider = with_public_url(None).await;
    let pcity = populate(&provider).await;
    let ptoken = pcity.token("citizen");
    let (s, info) = provider.as_(ptoken).post("/csc/v2/info", &json!({})).await;
    assert_eq!(
        (s, info["specs"].as_str()),
        (200, Some("2.0.0.2")),
        "{info}"
    );
    let logo = info["logo"].as_str().unwrap();
    let res = provider.client.get(logo).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/svg+xml", "{logo}");

    // Mai turns on two-step verification there, and gets a signing key with her password
    // and a one-time code (a wrong password gets none).
    let (s, enrol) = provider
        .as_(ptoken)
        .post("/api/v1/auth/totp", &json!({}))
        .await;
    assert_eq!(s, 200, "{enrol}");
    let secret = totp::base32_decode(enrol["secret"].as_str().unwrap()).unwrap();
    let code = |step: i64| format!("{:06}", totp::code_at(&secret, step));
    let step = crate::identity::early_in_a_step().await;
    let (s, _) = provider
        .as_(ptoken)
        .post(
            "/api/v1/auth/totp/confirm",
            &json!({"code": code(step - 1)}),
        )
        .await;
    assert_eq!(s, 204);
    let credentials = "/api/v1/me/signing-credentials";
    let (s, b) = provider
        .as_(ptoken)
        .post(
            credentials,
            &json!({"password": "not her password", "totp": code(step)}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (422, "remote_signing_refused"), "{b}");
    let (s, cred) = provider
        .as_(ptoken)
        .post(
            credentials,
            &json!({"password": PASSWORD, "totp": code(step)}),
        )
        .await;
    assert_eq!(s, 201, "{cred}");
    assert!(cred["certificate_pem"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    let (_, list) = provider
        .as_(ptoken)
        .post("/csc/v2/credentials/list", &json!({}))
        .await;
    assert_eq!(list["credentialIDs"][0], cred["credential_id"], "{list}");
    // The key is kept wrapped and sealed: nothing in the row reads as a key.
    let pool = provider.db.raw().await;
    let (wrapped,): (String,) = sqlx::query_as("SELECT key_wrapped FROM signing_credentials")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(!wrapped.contains("pw1$") && !wrapped.contains("PRIVATE KEY"));

    // The city's portal trusts the provider's root and signs forms through it.
    let dir = tempfile::tempdir().unwrap();
    let root = provider
        .get("/api/v1/pki/ca.pem")
        .await
        .text()
        .await
        .unwrap();
    std::fs::write(dir.path().join("provider.pem"), root).unwrap();
    let listener = bind_local();
    let addr = listener.local_addr().unwrap();
    let portal = spawn_app_with(Options {
        admin: true,
        listener: Some(listener),
        rails: sohoa::config::Rails {
            public_url: Some(format!("http://{addr}")),
            ..Default::default()
        },
        trusted_cas: Some(dir.path().to_owned()),
        csc_url: Some(provider.url("/csc/v2")),
        ..Options::default()
    })
    .await;
    let city = populate(&portal).await;
    put_signed_procedure(&portal).await;
    let mai = city.token("citizen");
    let (s, filed) = apply(
        &portal,
        mai,
        "remote1",
        &json!({"procedure_code": "T-CAMKET",
        "answers": {"pledge": "Phân loại rác tại nguồn"}}),
    )
    .await;
    assert_eq!(s, 201, "{filed}");
    let number = filed["number"].as_str().unwrap().to_owned();
    let remote = format!("/api/v1/applications/{number}/signature/remote");

    // A wrong one-time code: the provider refuses, the portal says why and keeps nothing.
    let (s, b) = portal
        .as_(mai)
        .post(
            &remote,
            &json!({"provider_token": ptoken, "pin": PASSWORD, "otp": "000000"}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (422, "remote_signing_refused"), "{b}");
    assert!(
        b["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("Invalid OTP"),
        "{b}"
    );
    let (s, b) = portal
        .as_(mai)
        .post(
            &remote,
            &json!({"provider_token": "not-a-token", "pin": PASSWORD, "otp": code(step + 1)}),
        )
        .await;
    assert_eq!((s, error_code(&b)), (422, "remote_signing_refused"), "{b}");

    let (s, sig) = portal
        .as_(mai)
        .post(
            &remote,
            &json!({"provider_token": ptoken, "pin": PASSWORD, "otp": code(step + 1)}),
        )
        .await;
    assert_eq!(s, 201, "{sig}");
    assert_eq!(sig["method"], "remote");
    assert_eq!(sig["identifier"], format!("CCCD:{MAI}"));
    assert_eq!(sig["time_stamped"], true);
    assert_eq!(sig["issuer"], "sohoa City Signing CA");
    let (s, b) = move_to(
        &portal,
        city.token("officer"),
        &number,
        json!({"to": "received"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    // An authorization is good once: signing again with a made-up SAD is refused.
    let hash = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
    let (s, b) = provider
        .as_(ptoken)
        .post(
            "/csc/v2/signatures/signHash",
            &json!({"credentialID": cred["credential_id"], "SAD": "00", "hashes": [hash],
                    "signAlgo": "1.2.840.10045.4.3.2"}),
        )
        .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
}

#[tokio::test]
async fn keys_are_renewed_before_they_end_and_old_results_still_check() {
    let app = with_public_url(None).await;
    let city = populate(&app).await;
    catalog(&app).await;
    let mai = city.token("citizen");
    let first = issued(&app, &city, "renew1").await;
    let (_, before) = verify(&app, result_pdf(&app, mai, &first).await).await;
    let old_serial = before["signatures"][0]["serial"]
        .as_str()
        .unwrap()
        .to_owned();

    // The renewal job with a margin longer than any certificate lives: every key renews
    // (the job's own margin is a month; this is its work, not its schedule).
    let renewed = sohoa_storage::pki::renew_expiring(
        app.server_db(),
        time::Duration::days(365 * 30),
        Some("http://127.0.0.1/pki/city.crl"),
    )
    .await
    .unwrap();
    assert!(renewed.contains(&"UBND-26743".to_owned()), "{renewed:?}");
    assert!(renewed.contains(&"city-tsa".to_owned()), "{renewed:?}");

    let admin = city.token("city_admin");
    let (_, list) = app
        .as_(admin)
        .get("/api/v1/pki/certificates?per_page=100")
        .await;
    let state_of = |serial: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["serial"] == serial)
            .map(|c| c["state"].as_str().unwrap().to_owned())
    };
    assert_eq!(state_of(&old_serial).as_deref(), Some("replaced"), "{list}");

    // The next result is signed with the new key, and the first still checks.
    let second = issued(&app, &city, "renew2").await;
    let (_, after) = verify(&app, result_pdf(&app, mai, &second).await).await;
    let new_serial = after["signatures"][0]["serial"].as_str().unwrap();
    assert_ne!(new_serial, old_serial);
    assert_eq!(after["valid"], true, "{after}");
    let (_, list) = app
        .as_(admin)
        .get("/api/v1/pki/certificates?per_page=100")
        .await;
    let current = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["serial"] == new_serial)
        .unwrap();
    assert_eq!(current["state"], "current");
    // New certificates name the revocation list.
    let der = {
        let pem = current["certificate_pem"].as_str().unwrap();
        sohoa_sign::x509::pem_certificates(pem).remove(0)
    };
    assert!(der
        .windows(b"/pki/city.crl".len())
        .any(|w| w == b"/pki/city.crl"));
    let (_, again) = verify(&app, result_pdf(&app, mai, &first).await).await;
    assert_eq!(again["valid"], true, "{again}");
    json_result_checks(&app, mai, &first).await;

    // The register's page, for the city's administrators only, lists them with their state.
    let page = String::from_utf8(app.as_(admin).get_bytes("/admin/certificates").await).unwrap();
    assert!(
        page.contains(&old_serial) && page.contains("data-state=\"replaced\""),
        "{page}"
    );
    let res = app
        .client
        .get(app.url("/admin/certificates"))
        .bearer_auth(city.token("officer"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
}

#[tokio::test]
async fn the_command_line_lists_and_revokes_certificates() {
    let app = with_public_url(None).await;
    let city = populate(&app).await;
    catalog(&app).await;
    let number = issued(&app, &city, "cli1").await;
    let (_, report) = verify(&app, result_pdf(&app, city.token("citizen"), &number).await).await;
    let serial = report["signatures"][0]["serial"]
        .as_str()
        .unwrap()
        .to_owned();

    let (code, out, err) = run_cli(&app.db, &["pki", "list"]).await;
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with(&serial))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("UBND-26743") && line.contains("current"),
        "{line}"
    );
    let root = out
        .lines()
        .find(|l| l.contains("city-ca"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();

    let revoke = |serial: String| {
        let db = &app.db;
        async move {
            run_cli(
                db,
                &["pki", "revoke", &serial, "--reason", "key-compromise"],
            )
            .await
        }
    };
    let (code, out, err) = revoke(serial.clone()).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("revoked {serial} of UBND-26743")),
        "{out}"
    );
    let (code, _, err) = revoke(serial.clone()).await;
    assert_eq!(code, 1);
    assert!(err.contains("revoked already"), "{err}");
    let (code, _, err) = revoke(root).await;
    assert_eq!(code, 1);
    assert!(err.contains("root"), "{err}");
    let (code, _, err) = revoke("not-hex".into()).await;
    assert_eq!(code, 1);
    assert!(err.contains("not a certificate serial"), "{err}");
    let (code, _, err) = run_cli(&app.db, &["pki", "revoke", &serial, "--reason", "lost"]).await;
    assert_eq!(code, 2, "{err}");

    // The server sees the revocation at once: the result no longer holds.
    let (_, after) = verify(&app, result_pdf(&app, city.token("citizen"), &number).await).await;
    assert_eq!(after["signatures"][0]["certificate"], "revoked", "{after}");
}
