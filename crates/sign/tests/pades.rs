//! PAdES signatures made here and checked three ways: by our own verifier, by poppler's
//! pdfsig (NSS) and by OpenSSL (`cms -verify`, `ts -verify`), when those are installed (CI
//! installs them; SOHOA_PDF_TOOLS=required makes their absence a failure).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use sohoa_pdf::{time_parts::Utc, Document, Page, SignatureField, Weight};
use sohoa_sign::cms::Signer;
use sohoa_sign::issue::{self, Authority, Issued, Profile, Subject};
use sohoa_sign::{pades, tsp, CertStatus, Integrity, Trust};

fn required() -> bool {
    std::env::var("SOHOA_PDF_TOOLS").as_deref() == Ok("required")
}

/// Runs a tool; `None` when it is not installed (and not required).
fn run(name: &str, args: &[&str]) -> Option<(bool, String)> {
    match Command::new(name).args(args).output() {
        Ok(o) => Some((
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )),
        Err(_) if required() => panic!("{name} is required"),
        Err(_) => None,
    }
}

struct Pki {
    ca_subject: Subject,
    ca: Issued,
    signer: Issued,
    tsa: Issued,
}

fn subject(cn: &str, org: &str) -> Subject {
    Subject {
        common_name: cn.into(),
        organization: org.into(),
        unit: None,
        identifier: None,
    }
}

fn pki() -> Pki {
    let now = time::OffsetDateTime::now_utc();
    let ca_subject = subject("Test City CA", "Thành phố Hồ Chí Minh");
    let ca = issue::root(&ca_subject, time::Duration::days(3650), now).unwrap();
    let auth = Authority {
        subject: &ca_subject,
        key_pem: &ca.key_pem,
    };
    let signer = issue::issue(
        &auth,
        &subject(
            "UBND-26734 result signing",
            "Ủy ban nhân dân phường Bến Thành",
        ),
        Profile::Signer,
        time::Duration::days(365),
        Some("http://127.0.0.1/pki/city.crl"),
        now,
    )
    .unwrap();
    let tsa = issue::issue(
        &auth,
        &subject("sohoa TSA", "Thành phố Hồ Chí Minh"),
        Profile::TimeStamping,
        time::Duration::days(365),
        None,
        now,
    )
    .unwrap();
    Pki {
        ca_subject,
        ca,
        signer,
        tsa,
    }
}

fn document() -> Document {
    let mut doc = Document::new("Kết quả HS0A1B2C3D4E");
    let mut page = Page::a4();
    page.text(
        50.0,
        780.0,
        16.0,
        Weight::Bold,
        "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
    );
    page.text(
        50.0,
        750.0,
        11.0,
        Weight::Regular,
        "Quyết định: CHẤP THUẬN — phường Bến Thành",
    );
    doc.push(page);
    doc
}

fn signed_pdf(p: &Pki) -> Vec<u8> {
    let field = SignatureField {
        name: "UBND-26734".into(),
        reason: "Kết quả giải quyết hồ sơ HS0A1B2C3D4E".into(),
        location: "Thành phố Hồ Chí Minh".into(),
        time: Utc(2026, 12, 7, 23, 59, 0),
        sub_filter: "ETSI.CAdES.detached",
    };
    let signable = document().render_signable(&field);
    let sign = |m: &[u8]| issue::sign(&p.signer.key_pem, m);
    let signer = Signer {
        certificate: &p.signer.cert_der,
        chain: &[],
        sign: &sign,
    };
    let tsa_sign = |m: &[u8]| issue::sign(&p.tsa.key_pem, m);
    let tsa = tsp::Authority {
        certificate: &p.tsa.cert_der,
        chain: &[],
        sign: &tsa_sign,
    };
    pades::sign(signable, &signer, |sig| {
        let req = tsp::Request::new(
            tsp::HashAlg::Sha256,
            &tsp::HashAlg::Sha256.digest(&[sig]),
            None,
        )
        .unwrap();
        tsp::issue(&req, &[1, 2, 3], time::OffsetDateTime::now_utc(), &tsa).map_err(|e| match e {
            tsp::IssueError::Sign(e) => e,
            tsp::IssueError::Certificate(_) => panic!("certificate"),
        })
    })
    .unwrap()
}

/// The CA's revocation list with the signer's certificate on it.
fn signer_revoked(p: &Pki, now: time::OffsetDateTime) -> Vec<u8> {
    issue::revocation_list(
        &Authority {
            subject: &p.ca_subject,
            key_pem: &p.ca.key_pem,
        },
        &[issue::Revoked {
            serial: p.signer.serial.clone(),
            at: now,
            key_compromise: true,
        }],
        1,
        now,
        now + time::Duration::days(7),
    )
    .unwrap()
}

fn trust(p: &Pki) -> Trust {
    let mut t = Trust::new();
    t.add_anchor(p.ca.cert_der.clone());
    t
}

/// One byte inside the signed part changed: the first text stream's byte after "stream".
fn tampered(pdf: &[u8]) -> Vec<u8> {
    let mut out = pdf.to_vec();
    let at = out.windows(7).position(|w| w == b"stream\n").unwrap() + 20;
    out[at] ^= 0x01;
    out
}

#[test]
fn a_signed_result_verifies_and_one_changed_byte_fails_it() {
    let p = pki();
    let pdf = signed_pdf(&p);
    // Seeds for the fuzz targets, when asked (fuzz/corpus/…, see FUZZING.md).
    if let Ok(dir) = std::env::var("SOHOA_FUZZ_SEEDS") {
        let dir = Path::new(&dir);
        std::fs::write(dir.join("pdf_signatures/signed.pdf"), &pdf).unwrap();
        let cms = sohoa_pdf::signatures(&pdf).unwrap()[0].contents.clone();
        let cms = sohoa_sign::der::parse_first(&cms).unwrap().raw.to_vec();
        std::fs::write(dir.join("cms_and_time_stamps/signature.der"), cms).unwrap();
        std::fs::write(
            dir.join("cms_and_time_stamps/certificate.der"),
            &p.signer.cert_der,
        )
        .unwrap();
        let req = tsp::Request::new(tsp::HashAlg::Sha256, &[7; 32], Some(&[1, 2, 3])).unwrap();
        std::fs::write(dir.join("cms_and_time_stamps/request.tsq"), req.to_der()).unwrap();
    }
    let now = time::OffsetDateTime::now_utc();
    let found = pades::verify(&pdf, &trust(&p), now).unwrap();
    assert_eq!(found.len(), 1);
    let s = &found[0];
    assert_eq!(s.check.integrity, Integrity::Intact, "{s:?}");
    assert_eq!(s.check.status, CertStatus::Trusted);
    assert!(s.valid());
    assert_eq!(
        s.check
            .signer
            .as_ref()
            .and_then(|n| n.common_name.as_deref()),
        Some("UBND-26734 result signing")
    );
    assert_eq!(s.check.chain.len(), 2);
    let stamp = s.check.timestamp.as_ref().expect("a time-stamp");
    assert!(stamp.valid(), "{stamp:?}");
    assert_eq!(s.found.sub_filter.as_deref(), Some("ETSI.CAdES.detached"));

    let bad = pades::verify(&tampered(&pdf), &trust(&p), now).unwrap();
    assert_eq!(bad[0].check.integrity, Integrity::DigestMismatch);
    assert!(!bad[0].valid());

    let mut appended = pdf.clone();
    appended.extend_from_slice(b"\n% added after signing\n");
    let later = pades::verify(&appended, &trust(&p), now).unwrap();
    assert!(later[0].check.valid() && !later[0].valid());

    // Another city's root does not make it trusted.
    let other = pki();
    let untrusted = pades::verify(&pdf, &trust(&other), now).unwrap();
    assert_eq!(untrusted[0].check.status, CertStatus::UntrustedIssuer);
}

#[test]
fn a_revoked_signer_is_reported() {
    let p = pki();
    let pdf = signed_pdf(&p);
    let now = time::OffsetDateTime::now_utc();
    let crl = signer_revoked(&p, now);
    let mut t = trust(&p);
    t.add_crl(crl).unwrap();
    let found = pades::verify(&pdf, &t, now).unwrap();
    assert_eq!(found[0].check.status, CertStatus::Revoked);
    assert!(!found[0].valid());
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// An NSS database trusting the CA, for pdfsig.
fn nss_db(dir: &Path, ca_pem: &str) -> Option<String> {
    let db = dir.join("nss");
    std::fs::create_dir_all(&db).unwrap();
    let sql = format!("sql:{}", db.display());
    let (ok, out) = run("certutil", &["-N", "-d", &sql, "--empty-password"])?;
    assert!(ok, "{out}");
    let ca = write(dir, "ca.pem", ca_pem.as_bytes());
    let (ok, out) = run(
        "certutil",
        &["-A", "-d", &sql, "-n", "city", "-t", "CT,C,C", "-i", &ca],
    )?;
    assert!(ok, "{out}");
    Some(sql)
}

#[test]
fn pdfsig_reports_valid_tampered_and_revoked() {
    let p = pki();
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = nss_db(dir.path(), &p.ca.cert_pem) else {
        return;
    };
    let good = write(dir.path(), "good.pdf", &signed_pdf(&p));
    let Some((_, out)) = run("pdfsig", &["-nssdir", &db, &good]) else {
        return;
    };
    assert!(out.contains("Signature is Valid."), "{out}");
    assert!(out.contains("Total document signed"), "{out}");
    assert!(out.contains("Certificate is Trusted."), "{out}");
    assert!(out.contains("ETSI.CAdES.detached"), "{out}");

    let bad = write(
        dir.path(),
        "bad.pdf",
        &tampered(&std::fs::read(&good).unwrap()),
    );
    let (_, out) = run("pdfsig", &["-nssdir", &db, &bad]).unwrap();
    assert!(out.contains("Digest Mismatch."), "{out}");

    let now = time::OffsetDateTime::now_utc();
    let crl = signer_revoked(&p, now);
    let crl_file = write(dir.path(), "city.crl", &crl);
    let (ok, out) = run("crlutil", &["-I", "-d", &db, "-i", &crl_file]).unwrap();
    assert!(ok, "{out}");
    let (_, out) = run("pdfsig", &["-nssdir", &db, &good]).unwrap();
    assert!(out.contains("Signature is Valid."), "{out}");
    assert!(out.contains("Certificate has been Revoked."), "{out}");
}

#[test]
fn openssl_checks_the_cms_and_the_time_stamp() {
    let p = pki();
    let pdf = signed_pdf(&p);
    let dir = tempfile::tempdir().unwrap();
    let found = sohoa_pdf::signatures(&pdf).unwrap();
    let cms = sohoa_sign::der::parse_first(&found[0].contents)
        .unwrap()
        .raw;
    let sig = write(dir.path(), "sig.der", cms);
    let content = write(
        dir.path(),
        "content.bin",
        &found[0].signed_parts(&pdf).concat(),
    );
    let ca = write(dir.path(), "ca.pem", p.ca.cert_pem.as_bytes());
    let Some((ok, out)) = run(
        "openssl",
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            &sig,
            "-content",
            &content,
            "-binary",
            "-CAfile",
            &ca,
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    ) else {
        return;
    };
    assert!(ok, "{out}");

    // A request made by OpenSSL, answered by our authority, checked by OpenSSL.
    let data = write(dir.path(), "data.txt", "Kết quả".as_bytes());
    let query = dir.path().join("req.tsq").to_string_lossy().into_owned();
    let (ok, out) = run(
        "openssl",
        &[
            "ts", "-query", "-data", &data, "-sha256", "-cert", "-out", &query,
        ],
    )
    .unwrap();
    assert!(ok, "{out}");
    let req = tsp::Request::parse(&std::fs::read(&query).unwrap()).unwrap();
    let tsa_sign = |m: &[u8]| issue::sign(&p.tsa.key_pem, m);
    let tsa = tsp::Authority {
        certificate: &p.tsa.cert_der,
        chain: &[],
        sign: &tsa_sign,
    };
    let token = tsp::issue(&req, &[9, 9], time::OffsetDateTime::now_utc(), &tsa).unwrap();
    let reply = write(dir.path(), "reply.tsr", &tsp::granted(&token));
    let (ok, out) = run(
        "openssl",
        &[
            "ts",
            "-verify",
            "-in",
            &reply,
            "-queryfile",
            &query,
            "-CAfile",
            &ca,
        ],
    )
    .unwrap();
    assert!(ok && out.contains("Verification: OK"), "{out}");

    // A request with SHA-1 is refused with badAlg.
    let (ok, out) = run(
        "openssl",
        &["ts", "-query", "-data", &data, "-sha1", "-out", &query],
    )
    .unwrap();
    assert!(ok, "{out}");
    assert_eq!(
        tsp::Request::parse(&std::fs::read(&query).unwrap()),
        Err(tsp::RequestError::BadAlg)
    );
}
