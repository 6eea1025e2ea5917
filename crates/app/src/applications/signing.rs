//! The applicant signs their form: they download it as a PDF, sign it in any PAdES-capable
//! tool and upload it, or sign it remotely through a CSC provider (see `remote`). Either
//! way the signature is checked against the anchors the city trusts and kept only when it
//! holds; a procedure that requires it is taken in only once signed.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Principal};
use sohoa_domain::services::procedure::Procedure;
use sohoa_domain::Timestamp;
use sohoa_storage::applications::Application;
use sohoa_storage::signatures::{self as store, FormSignature, Method};

use super::load_for;
use crate::signatures::SignatureReport;
use crate::{Acting, App, Error, Result};

/// The catalog entry the application was filed under.
async fn procedure_of(app: &App, found: &Application) -> Result<Procedure> {
    Ok(sohoa_storage::procedures::get(
        &app.db,
        &found.procedure_code,
        Some(found.procedure_version),
    )
    .await?
    .ok_or_else(|| Error::internal("an application's procedure version is missing"))?
    .procedure)
}

/// The lines of the form: what was asked and answered, as the applicant filed it.
fn form_lines(found: &Application, procedure: &Procedure) -> Vec<(f32, sohoa_pdf::Weight, String)> {
    use sohoa_pdf::Weight::{Bold, Regular};
    let mut lines = vec![
        (11.0, Bold, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".to_owned()),
        (11.0, Regular, "Độc lập - Tự do - Hạnh phúc".to_owned()),
        (
            15.0,
            Bold,
            format!("TỜ KHAI — {}", procedure.name_vi.to_uppercase()),
        ),
        (
            11.0,
            Regular,
            format!("Application form — {}", procedure.name_en),
        ),
        (
            11.0,
            Regular,
            format!("Số hồ sơ / Application: {}", found.number),
        ),
        (
            11.0,
            Regular,
            format!("Người nộp (CCCD) / Applicant: {}", found.applicant),
        ),
    ];
    if let Some(tax) = &found.enterprise {
        lines.push((
            11.0,
            Regular,
            format!("Doanh nghiệp (MST) / Enterprise: {tax}"),
        ));
    }
    let answers = found
        .content
        .as_ref()
        .map(|c| c.answers.as_slice())
        .unwrap_or_default();
    for f in &procedure.form {
        let value = answers
            .iter()
            .find(|a| a.key == f.key)
            .map(|a| match &a.value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            })
            .unwrap_or_default();
        lines.push((
            11.0,
            Regular,
            format!("{} / {}: {value}", f.label_vi, f.label_en),
        ));
    }
    lines.push((
        10.0,
        Regular,
        "Tôi cam đoan nội dung khai trên là đúng sự thật và ký số vào tờ khai này. / I declare the above true and sign this form digitally.".into(),
    ));
    lines
}

fn form_document(found: &Application, procedure: &Procedure) -> sohoa_pdf::Document {
    let mut doc = sohoa_pdf::Document::new(&format!("Tờ khai {}", found.number));
    let mut page = sohoa_pdf::Page::a4();
    let mut y = 780.0;
    for (size, weight, text) in form_lines(found, procedure) {
        for line in sohoa_pdf::wrap(weight, &text, size, 495.0) {
            page.text(50.0, y, size, weight, &line);
            y -= size * 1.5;
        }
        y -= 4.0;
    }
    doc.push(page);
    doc
}

/// The applicant's own application, for signing: only they sign their form.
async fn own(app: &App, who: &Principal, number: &str) -> Result<Application> {
    let found = load_for(app, who, number, Action::ReadApplication).await?;
    match who {
        Principal::Citizen(id) if *id == found.applicant => Ok(found),
        _ => Err(Error::forbidden("signer_not_applicant")),
    }
}

/// The applicant's own open application whose form is not signed yet: what may be signed.
async fn unsigned_own(app: &App, who: &Principal, number: &str) -> Result<Application> {
    let found = own(app, who, number).await?;
    if found.status.is_closed() {
        return Err(Error::conflict("application_closed"));
    }
    if store::of(&app.db, &found.number).await?.is_some() {
        return Err(Error::conflict("form_already_signed"));
    }
    Ok(found)
}

/// The form as a PDF, the same bytes every time for the same application: the applicant
/// signs it in their own tool (which appends its signature) and uploads the result.
pub async fn form_pdf(app: &App, who: Acting<'_>, number: &str) -> Result<Vec<u8>> {
    let found = load_for(app, who.principal, number, Action::ReadApplication).await?;
    super::audit_read(app, who, &found.applicant, &found.number).await?;
    let procedure = procedure_of(app, &found).await?;
    crate::blocking(move || form_document(&found, &procedure).render()).await
}

/// Why a signature is refused, from its check.
fn refusal(r: &SignatureReport) -> Option<Error> {
    let code = match (r.integrity, r.certificate) {
        ("intact", "trusted") if r.changed_after_signing => "signature_not_whole_file",
        ("intact", "trusted") => return None,
        ("intact", "revoked") => "signature_revoked",
        ("intact", "expired" | "not_yet_valid") => "signature_expired",
        ("intact", _) => "signature_untrusted",
        _ => "signature_invalid",
    };
    Some(Error::unprocessable(code).field("file").arg(
        "signer",
        r.signer.clone().unwrap_or_else(|| r.subject.clone()),
    ))
}

/// Whether the certificate names the applicant (their CCCD) or the enterprise they act for.
fn names_applicant(r: &SignatureReport, found: &Application) -> bool {
    let mut wanted = vec![found.applicant.as_str()];
    if let Some(t) = &found.enterprise {
        wanted.push(t.as_str());
    }
    names(r.identifier.as_deref(), &wanted)
}

/// Whether `identifier` (`CCCD:079…`, `MST:031…`) holds one of `wanted` as a whole token: a
/// longer number that merely contains the applicant's is someone else's.
fn names(identifier: Option<&str>, wanted: &[&str]) -> bool {
    identifier.is_some_and(|id| {
        id.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .any(|token| wanted.contains(&token))
    })
}

/// Checks a signed form and keeps it with the application; `method` says how it was made.
pub(crate) async fn keep(
    app: &App,
    who: Acting<'_>,
    found: &Application,
    pdf: Vec<u8>,
    method: Method,
) -> Result<FormSignature> {
    let reports = crate::signatures::verify_pdf(app, pdf.clone()).await?;
    // The last signature is the applicant's (a tool may have signed before: a seal).
    let last = reports
        .last()
        .ok_or_else(|| Error::unprocessable("pdf_unsigned").field("file"))?;
    if let Some(e) = refusal(last) {
        return Err(e);
    }
    if !names_applicant(last, found) {
        return Err(Error::unprocessable("signer_not_applicant")
            .field("file")
            .arg("signer", last.signer.clone().unwrap_or_default()));
    }
    let store_ = app.files.clone();
    let size = i64::try_from(pdf.len()).unwrap_or(i64::MAX);
    let sha256 = crate::blocking(move || store_.put(&pdf)).await??;
    let now = Timestamp::now();
    let sig = FormSignature {
        number: found.number.clone(),
        method,
        signer: last.signer.clone().unwrap_or_else(|| last.subject.clone()),
        identifier: last.identifier.clone(),
        serial: last.serial.clone().unwrap_or_default(),
        issuer: last.chain.last().cloned().unwrap_or_default(),
        cert_pem: last.certificate_pem.clone().unwrap_or_default(),
        signed_at: last.time.unwrap_or(now),
        time_stamped: last.time.is_some(),
        sha256,
        size,
        checked_at: now,
    };
    let record = AuditRecord::new(
        who.actor(),
        "application.signed",
        "application",
        found.number.as_str(),
    )
    .purpose(format!(
        "{} signature by certificate {}",
        method.as_str(),
        sig.serial
    ))
    .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    if !store::add(&mut tx, &sig, &record).await? {
        return Err(Error::conflict("form_already_signed"));
    }
    tx.commit()
        .await
        .map_err(sohoa_storage::StorageError::from)?;
    Ok(sig)
}

/// The applicant uploads their form signed in their own tool: it must be the form as
/// downloaded with the signature appended, signed by a certificate that names them and
/// leads to a root the city trusts.
pub async fn upload(
    app: &App,
    who: Acting<'_>,
    number: &str,
    pdf: Vec<u8>,
) -> Result<FormSignature> {
    let found = unsigned_own(app, who.principal, number).await?;
    let procedure = procedure_of(app, &found).await?;
    let form_of = found.clone();
    let form = crate::blocking(move || form_document(&form_of, &procedure).render()).await?;
    if pdf.len() <= form.len() || !pdf.starts_with(&form) {
        return Err(Error::unprocessable("form_not_this_application").field("file"));
    }
    keep(app, who, &found, pdf, Method::Upload).await
}

/// The signature on an application's form, for whoever may read the application.
pub async fn signature(app: &App, found: &Application) -> Result<Option<FormSignature>> {
    Ok(store::of(&app.db, &found.number).await?)
}

/// Whether a move to `to` must wait for the applicant's signature.
pub(crate) async fn unsigned_gate(
    app: &App,
    found: &Application,
    procedure: &Procedure,
    to: sohoa_domain::services::workflow::Status,
) -> Result<()> {
    use sohoa_domain::services::workflow::Status;
    if procedure.signature_required
        && to == Status::Received
        && store::of(&app.db, &found.number).await?.is_none()
    {
        return Err(Error::conflict("signature_required"));
    }
    Ok(())
}

/// A form made ready for a remote signature: the PDF with its signature field, and the
/// signed attributes (naming the certificate the provider holds) whose SHA-256 the provider
/// signs.
pub struct RemoteForm {
    found: Application,
    signable: sohoa_pdf::Signable,
    digest: [u8; 32],
    attrs: Vec<u8>,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
}

impl RemoteForm {
    /// What the provider signs: SHA-256 of the signed attributes.
    pub fn hash(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(&self.attrs).into()
    }
}

/// Prepares the applicant's form for a signature by `certificate` (DER, with the provider's
/// `chain`), held by a remote signing service.
pub async fn prepare_remote(
    app: &App,
    who: Acting<'_>,
    number: &str,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
) -> Result<RemoteForm> {
    use sha2::Digest;
    let found = unsigned_own(app, who.principal, number).await?;
    let cert = sohoa_sign::x509::Certificate::parse(&certificate)
        .map_err(|_| Error::unprocessable("remote_signing_failed").arg("reason", "certificate"))?;
    let name = cert.subject_name().common_name.unwrap_or_default();
    let procedure = procedure_of(app, &found).await?;
    let field = sohoa_pdf::SignatureField {
        name,
        reason: format!("Ký tờ khai hồ sơ {}", found.number),
        location: "Thành phố Hồ Chí Minh".into(),
        time: super::results::utc_parts(Timestamp::now()),
        sub_filter: "ETSI.CAdES.detached",
    };
    let form_of = found.clone();
    let signable =
        crate::blocking(move || form_document(&form_of, &procedure).render_signable(&field))
            .await?;
    let mut d = sha2::Sha256::new();
    for part in signable.signed_parts() {
        d.update(part);
    }
    let digest: [u8; 32] = d.finalize().into();
    let content = sohoa_sign::cms::Content {
        content_type: sohoa_sign::oid::DATA,
        digest,
        attached: None,
    };
    let attrs = sohoa_sign::cms::signed_attributes(&content, &certificate)
        .map_err(|_| Error::unprocessable("remote_signing_failed").arg("reason", "certificate"))?;
    Ok(RemoteForm {
        found,
        signable,
        digest,
        attrs,
        certificate,
        chain,
    })
}

/// Completes a remote signature with the provider's `signature` over [`RemoteForm::hash`]:
/// time-stamped by the city's authority, checked like any uploaded form, kept.
pub async fn finish_remote(
    app: &App,
    who: Acting<'_>,
    form: RemoteForm,
    signature: Vec<u8>,
) -> Result<FormSignature> {
    let tsa = crate::signatures::tsa_key(app).await?;
    let RemoteForm {
        found,
        signable,
        digest,
        attrs,
        certificate,
        chain,
    } = form;
    let pdf = crate::blocking(move || {
        let alg = sohoa_sign::tsp::HashAlg::Sha256;
        let req = sohoa_sign::tsp::Request::new(alg, &alg.digest(&[&signature]), None)
            .map_err(Error::internal)?;
        let token = crate::signatures::token(&tsa, &req)?;
        let content = sohoa_sign::cms::Content {
            content_type: sohoa_sign::oid::DATA,
            digest,
            attached: None,
        };
        let unsigned = sohoa_sign::cms::attribute(sohoa_sign::oid::TIME_STAMP_TOKEN, &token);
        let cms = sohoa_sign::cms::assemble(
            &content,
            &certificate,
            &chain,
            &attrs,
            &signature,
            &[unsigned],
            true,
        )
        .map_err(Error::internal)?;
        signable.embed(&cms).map_err(Error::internal)
    })
    .await??;
    keep(app, who, &found, pdf, Method::Remote).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_certificate_names_the_applicant_only_by_a_whole_identifier() {
        let mai = ["079185001234"];
        assert!(super::names(Some("CCCD:079185001234"), &mai));
        assert!(super::names(Some("079185001234"), &mai));
        assert!(!super::names(Some("CCCD:1079185001234"), &mai));
        assert!(!super::names(None, &mai));
        assert!(super::names(
            Some("MST:0312345678-001"),
            &["0312345678-001"]
        ));
    }
}
