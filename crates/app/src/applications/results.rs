//! Results signed by the deciding agency, verifiable by anyone: here, or with `openssl`
//! and the city CA's certificate, nothing of ours needed.

use base64::Engine;
use serde::{Deserialize, Serialize};
use sohoa_domain::policy::Action;
use sohoa_domain::services::application::ApplicationNumber;
use sohoa_domain::services::procedure::Procedure;
use sohoa_domain::Timestamp;
use sohoa_storage::applications::Application;
use sohoa_storage::pki::{self, SignedResult};

use super::{audit_read, load_for};
use crate::{Acting, App, Error, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What a result says. Serialized once; the exact bytes are what is signed and kept.
#[derive(Debug, Serialize, Deserialize)]
struct ResultDocument {
    #[serde(rename = "type")]
    kind: String,
    number: String,
    procedure_code: String,
    procedure_version: i64,
    procedure_name_vi: String,
    procedure_name_en: String,
    applicant: String,
    agency_code: String,
    agency_name: String,
    decision: String,
    decided_at: Option<String>,
    issued_at: String,
}

/// Signs the result of `found` (approved or rejected) with its agency's key.
pub async fn sign(
    app: &App,
    found: &Application,
    procedure: &Procedure,
    issued_at: Timestamp,
) -> Result<SignedResult> {
    let agency = sohoa_storage::agencies::get(&app.db, &found.agency_code)
        .await?
        .ok_or_else(|| Error::internal("the deciding agency vanished"))?;
    let doc = ResultDocument {
        kind: "sohoa-result/1".into(),
        number: found.number.to_string(),
        procedure_code: found.procedure_code.to_string(),
        procedure_version: found.procedure_version,
        procedure_name_vi: procedure.name_vi.clone(),
        procedure_name_en: procedure.name_en.clone(),
        applicant: found.applicant.to_string(),
        agency_code: found.agency_code.to_string(),
        agency_name: agency.name_vi.clone(),
        decision: found.status.as_str().to_owned(),
        decided_at: found.decided_at.map(|t| t.to_string()),
        issued_at: issued_at.to_string(),
    };
    let document = serde_json::to_string(&doc).map_err(Error::internal)?;
    let key =
        crate::signatures::agency_key(app, found.agency_code.as_str(), &agency.name_vi).await?;
    let signature = key.sign(document.as_bytes())?;
    Ok(SignedResult {
        number: found.number.clone(),
        document,
        signature: B64.encode(signature),
        signer: found.agency_code.clone(),
        issued_at,
    })
}

/// The issued result as a PDF for the applicant's document store (its bytes stored already;
/// the row and its audit entry for the caller's transaction): what the decision says, a QR
/// code to the public check, signed by the deciding agency as a PAdES signature with a
/// time-stamp of the city's authority, so that any PDF reader shows who signed it and that
/// nothing changed since.
pub(crate) async fn paper(
    app: &App,
    found: &Application,
    procedure: &Procedure,
    signed: &SignedResult,
) -> Result<(
    sohoa_storage::files::Document,
    sohoa_domain::audit::AuditRecord,
)> {
    let agency = sohoa_storage::agencies::get(&app.db, &found.agency_code)
        .await?
        .ok_or_else(|| Error::internal("the deciding agency vanished"))?;
    let lines = paper_lines(found, procedure, signed, &agency.name_vi);
    let title = format!("Kết quả {} — {}", found.number, procedure.name_vi);
    let check_url = app
        .signing
        .public_url
        .as_ref()
        .map(|u| format!("{u}/verify?number={}", found.number));
    let key =
        crate::signatures::agency_key(app, found.agency_code.as_str(), &agency.name_vi).await?;
    let tsa = crate::signatures::tsa_key(app).await?;
    let field = sohoa_pdf::SignatureField {
        name: agency.name_vi.clone(),
        reason: format!("Kết quả giải quyết hồ sơ {}", found.number),
        location: "Thành phố Hồ Chí Minh".into(),
        time: utc_parts(signed.issued_at),
        sub_filter: "ETSI.CAdES.detached",
    };
    let pdf = crate::blocking(move || {
        let doc = result_document(&title, &lines, check_url.as_deref());
        sign_pdf(doc.render_signable(&field), &key, &tsa)
    })
    .await??;
    let store = app.files.clone();
    let size = i64::try_from(pdf.len()).unwrap_or(i64::MAX);
    let sha256 = crate::blocking(move || store.put(&pdf)).await??;
    let doc = sohoa_storage::files::Document {
        id: format!("doc_{}", hex::encode(crate::random_bytes::<12>()?)),
        owner: found.applicant.clone(),
        sha256,
        size,
        media_type: "application/pdf".into(),
        name: format!(
            "Kết quả hồ sơ {} / Result of {}",
            found.number, found.number
        ),
        created_at: signed.issued_at,
        origin: sohoa_storage::files::Origin::Result(found.number.clone()),
    };
    let record = sohoa_domain::audit::AuditRecord::new(
        format!("agency:{}", found.agency_code),
        "document.result",
        "document",
        &doc.id,
    )
    .purpose(format!("result of {}", found.number));
    Ok((doc, record))
}

pub(crate) fn utc_parts(t: Timestamp) -> sohoa_pdf::time_parts::Utc {
    let t = t.datetime().to_offset(time::UtcOffset::UTC);
    sohoa_pdf::time_parts::Utc(
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

type Line = (f32, sohoa_pdf::Weight, String);

/// The result's page: the lines, wrapped, and the QR code to the public check.
fn result_document(title: &str, lines: &[Line], check_url: Option<&str>) -> sohoa_pdf::Document {
    let mut doc = sohoa_pdf::Document::new(title);
    let mut page = sohoa_pdf::Page::a4();
    let mut y = 780.0;
    for (size, weight, text) in lines {
        for line in sohoa_pdf::wrap(*weight, text, *size, 495.0) {
            page.text(50.0, y, *size, *weight, &line);
            y -= size * 1.5;
        }
        y -= 4.0;
    }
    if let Some(url) = check_url {
        page.qr(50.0, y - 110.0, 100.0, url);
        page.text(160.0, y - 60.0, 9.0, sohoa_pdf::Weight::Regular, url);
    }
    doc.push(page);
    doc
}

/// Signs a prepared PDF with `key`, time-stamped by `tsa`.
fn sign_pdf(
    doc: sohoa_pdf::Signable,
    key: &pki::SigningKey,
    tsa: &pki::SigningKey,
) -> Result<Vec<u8>> {
    let cert = key.cert_der();
    let sign = |m: &[u8]| key.sign(m).map_err(Error::from);
    let signer = sohoa_sign::cms::Signer {
        certificate: &cert,
        chain: &[],
        sign: &sign,
    };
    sohoa_sign::pades::sign(doc, &signer, |signature| {
        let alg = sohoa_sign::tsp::HashAlg::Sha256;
        let req = sohoa_sign::tsp::Request::new(alg, &alg.digest(&[signature]), None)
            .map_err(Error::internal)?;
        crate::signatures::token(tsa, &req)
    })
    .map_err(|e| Error::internal(format!("signing the result: {e}")))
}

fn paper_lines(
    found: &Application,
    procedure: &Procedure,
    signed: &SignedResult,
    agency_name: &str,
) -> Vec<Line> {
    use sohoa_pdf::Weight::{Bold, Regular};
    let decision = match found.status.as_str() {
        "approved" => "CHẤP THUẬN / APPROVED",
        "rejected" => "TỪ CHỐI / REJECTED",
        other => other,
    };
    let digest = sohoa_storage::files::sha256_hex(signed.document.as_bytes());
    vec![
        (11.0, Bold, agency_name.to_uppercase()),
        (11.0, Bold, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".into()),
        (11.0, Regular, "Độc lập - Tự do - Hạnh phúc".into()),
        (16.0, Bold, "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH".into()),
        (12.0, Regular, format!("{} / {}", procedure.name_vi, procedure.name_en)),
        (11.0, Regular, format!("Số hồ sơ / Application: {}", found.number)),
        (11.0, Regular, format!("Người nộp (CCCD) / Applicant: {}", found.applicant)),
        (11.0, Regular, format!("Cơ quan giải quyết / Deciding agency: {agency_name} ({})", found.agency_code)),
        (12.0, Bold, format!("Quyết định / Decision: {decision}")),
        (11.0, Regular, format!("Ngày cấp / Issued: {}", signed.issued_at.local_display())),
        (9.0, Regular, format!(
            "Tệp PDF này được {agency_name} ký số (PAdES) và gắn dấu thời gian; trình đọc PDF hiển thị chữ ký, hoặc kiểm tra tại trang /verify. Văn bản kết quả có chữ ký riêng (SHA-256: {digest}). / This PDF is digitally signed by the deciding agency (PAdES) and time-stamped; a PDF reader shows the signature, or check it on the /verify page."
        )),
    ]
}

/// An issued result with what it takes to check it.
#[derive(Debug, Clone)]
pub struct Issued {
    pub number: ApplicationNumber,
    /// Whether the signature is the signing agency's over the document, checked now.
    pub valid: bool,
    /// Exactly as signed.
    pub document: String,
    /// Base64 (DER).
    pub signature: String,
    /// The signing agency's certificate, PEM.
    pub certificate: String,
    /// The city CA's certificate, PEM.
    pub ca_certificate: String,
    pub issued_at: Timestamp,
}

/// The result of an application, for whoever may read the application (staff's reading
/// audited: the result names the applicant).
pub async fn read(app: &App, who: Acting<'_>, number: &str) -> Result<Issued> {
    let found = load_for(app, who.principal, number, Action::ReadApplication).await?;
    let r = pki::result(&app.db, &found.number)
        .await?
        .ok_or_else(|| Error::not_found("result_not_found"))?;
    audit_read(app, who, &found.applicant, &found.number).await?;
    let certificate = signer_certificate(app, &r).await?;
    let ca = pki::city_ca(&app.db).await?;
    Ok(Issued {
        valid: certificate.is_some(),
        number: r.number,
        document: r.document,
        signature: r.signature,
        certificate: certificate.unwrap_or_default(),
        ca_certificate: ca.cert_pem,
        issued_at: r.issued_at,
    })
}

/// The certificate (PEM) of the agency's key that signed `r`, current or renewed since;
/// `None` when no key of the agency's made the signature.
async fn signer_certificate(app: &App, r: &SignedResult) -> Result<Option<String>> {
    let sig = B64.decode(&r.signature).unwrap_or_default();
    Ok(pki::signed_by(&app.db, r.signer.as_str(), r.document.as_bytes(), &sig).await?)
}

/// The result issued for an application, as anyone with its number may check it, and
/// whether its signature holds; `None` when no result was issued under that number.
pub async fn check(app: &App, number: &ApplicationNumber) -> Result<Option<(SignedResult, bool)>> {
    let Some(r) = pki::result(&app.db, number.as_str()).await? else {
        return Ok(None);
    };
    let valid = signer_certificate(app, &r).await?.is_some();
    Ok(Some((r, valid)))
}

/// The city CA's certificate, PEM: the root agencies' certificates chain to.
pub async fn ca_pem(app: &App) -> Result<String> {
    Ok(pki::city_ca(&app.db).await?.cert_pem)
}

/// What a valid result says of itself.
#[derive(Debug, Clone)]
pub struct Verified {
    pub number: String,
    pub agency_code: String,
    pub decision: String,
    pub issued_at: String,
}

/// Whether `document` is signed by `signature` (base64) of the agency it names, and was
/// issued here; `None` for anything else, malformed input included.
pub async fn verify(app: &App, document: &str, signature: &str) -> Result<Option<Verified>> {
    let Ok(signature) = B64.decode(signature.trim()) else {
        return Ok(None);
    };
    let Ok(doc) = serde_json::from_str::<ResultDocument>(document) else {
        return Ok(None);
    };
    let issued = pki::result(&app.db, &doc.number)
        .await?
        .is_some_and(|r| r.document == document);
    let signed = pki::signed_by(&app.db, &doc.agency_code, document.as_bytes(), &signature)
        .await?
        .is_some();
    if !issued || !signed {
        return Ok(None);
    }
    Ok(Some(Verified {
        number: doc.number,
        agency_code: doc.agency_code,
        decision: doc.decision,
        issued_at: doc.issued_at,
    }))
}
