//! Signatures anyone can check: the city's time-stamping authority (RFC 3161), its
//! revocation list, the register of its certificates, and checking every signature of a PDF
//! anyone uploads against the anchors the city trusts.

use std::sync::Arc;

use sohoa_domain::paging::{Page, PageRequest};
use sohoa_domain::pki::{CertificateSerial, RevocationReason};
use sohoa_domain::policy::{Action, Target};
use sohoa_domain::Timestamp;
use sohoa_sign::{pades, tsp, CertStatus, Integrity, Trust};
use sohoa_storage::pki::{self, CertificateRecord, RevokeRefusal, SigningKey};

use crate::{authorize, Acting, App, Error, Result};

/// Where the revocation list is published, under the public address.
pub const CRL_PATH: &str = "/pki/city.crl";

/// The largest PDF checked: a result or a signed form is a few hundred kilobytes.
pub const MAX_PDF: usize = 20 * 1024 * 1024;

/// How long a revocation list is good for: relying parties fetch a new one daily.
const CRL_VALIDITY: time::Duration = time::Duration::days(2);

/// What signing needs to know of the deployment.
#[derive(Debug, Clone, Default)]
pub struct SigningConfig {
    /// The address residents reach the server at: the result's QR code and the certificates'
    /// revocation-list address are under it.
    pub public_url: Option<String>,
    /// Anchors (and their revocation lists) trusted beside the city's own root: the licensed
    /// CAs whose certificates people sign forms with.
    pub trusted: Arc<Trust>,
}

impl SigningConfig {
    pub(crate) fn crl_url(&self) -> Option<String> {
        self.public_url.as_ref().map(|u| format!("{u}{CRL_PATH}"))
    }
}

/// The anchors and revocation lists in `dir`: PEM files (certificates and `X509 CRL`s), or
/// DER files named `.crt`, `.cer`, `.der` (certificates) and `.crl`. A file that holds
/// neither is an error, so that a typo does not silently trust nothing.
pub fn load_trusted(dir: &std::path::Path) -> std::result::Result<Trust, String> {
    let mut trust = Trust::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths.iter().filter(|p| p.is_file()) {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let taken = match std::str::from_utf8(&bytes) {
            Ok(text) if text.contains("-----BEGIN ") => {
                let (certs, crls) = trust.add_pem(text);
                certs + crls
            }
            _ if ext == "crl" => usize::from(trust.add_crl(bytes).is_ok()),
            _ if matches!(ext.as_str(), "crt" | "cer" | "der")
                && sohoa_sign::x509::Certificate::parse(&bytes).is_ok() =>
            {
                trust.add_anchor(bytes);
                1
            }
            _ => 0,
        };
        if taken == 0 {
            return Err(format!(
                "{}: neither a certificate nor a revocation list",
                path.display()
            ));
        }
    }
    Ok(trust)
}

/// The agency's key for results (made or renewed on use).
pub(crate) async fn agency_key(app: &App, code: &str, name: &str) -> Result<SigningKey> {
    let url = app.signing.crl_url();
    Ok(pki::agency_key(&app.db, code, name, url.as_deref()).await?)
}

/// The authority's key.
pub(crate) async fn tsa_key(app: &App) -> Result<SigningKey> {
    let url = app.signing.crl_url();
    Ok(pki::tsa_key(&app.db, url.as_deref()).await?)
}

/// A time-stamp token over `req` by `tsa` at `at`: sync, for callers already off the async
/// workers.
pub(crate) fn token(tsa: &SigningKey, req: &tsp::Request) -> Result<Vec<u8>> {
    let cert = tsa.cert_der();
    let sign = |m: &[u8]| tsa.sign(m);
    let authority = tsp::Authority {
        certificate: &cert,
        chain: &[],
        sign: &sign,
    };
    let serial = crate::random_bytes::<16>()?;
    tsp::issue(req, &serial, time::OffsetDateTime::now_utc(), &authority).map_err(Error::internal)
}

/// The authority's answer to a `TimeStampReq` (DER): a granted token, or a refusal with its
/// reason inside, as RFC 3161 answers both.
pub async fn time_stamp(app: &App, request: &[u8]) -> Result<Vec<u8>> {
    let req = match tsp::Request::parse(request) {
        Ok(r) => r,
        Err(e) => return Ok(tsp::rejected(e)),
    };
    let tsa = tsa_key(app).await?;
    let token = crate::blocking(move || token(&tsa, &req)).await??;
    Ok(tsp::granted(&token))
}

/// The city CA's revocation list, DER, made now.
pub async fn revocation_list(app: &App) -> Result<Vec<u8>> {
    Ok(pki::revocation_list(&app.db, CRL_VALIDITY).await?)
}

/// The city's root, the configured anchors and every revocation list known.
async fn trust(app: &App) -> Result<Trust> {
    let mut t = (*app.signing.trusted).clone();
    t.add_anchor(pki::city_ca(&app.db).await?.cert_der());
    let crl = revocation_list(app).await?;
    t.add_crl(crl)
        .map_err(|e| Error::internal(format!("{e:?}")))?;
    Ok(t)
}

/// One signature of a PDF, as reported to whoever uploaded it.
#[derive(Debug, Clone)]
pub struct SignatureReport {
    /// Intact, by a trusted certificate (time-stamp valid if any) and nothing added after.
    pub valid: bool,
    pub signer: Option<String>,
    pub organization: Option<String>,
    /// The CCCD or tax code the certificate names, if any.
    pub identifier: Option<String>,
    pub subject: String,
    pub serial: Option<String>,
    /// Common names from the signer up to the trusted root.
    pub chain: Vec<String>,
    /// `intact`, `digest_mismatch`, `signature_invalid`, `certificate_mismatch`,
    /// `certificate_missing`, `unsupported_algorithm`, `malformed`.
    pub integrity: &'static str,
    /// `trusted`, `revoked`, `expired`, `not_yet_valid`, `untrusted_issuer`, `invalid`.
    pub certificate: &'static str,
    /// The time the signature is proven to have existed (its time-stamp's).
    pub time: Option<Timestamp>,
    pub time_stamp_authority: Option<String>,
    /// Whether the time-stamp is valid (None when there is none).
    pub time_stamp_valid: Option<bool>,
    /// `/M` of the signature dictionary: what the signer's tool claims.
    pub claimed_time: Option<String>,
    /// Bytes were added to the file after this signature.
    pub changed_after_signing: bool,
    pub sub_filter: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// The signer's certificate, PEM.
    pub certificate_pem: Option<String>,
}

fn integrity_code(i: &Integrity) -> &'static str {
    match i {
        Integrity::Intact => "intact",
        Integrity::DigestMismatch => "digest_mismatch",
        Integrity::SignatureInvalid => "signature_invalid",
        Integrity::CertificateMismatch => "certificate_mismatch",
        Integrity::CertificateMissing => "certificate_missing",
        Integrity::Unsupported(_) => "unsupported_algorithm",
        Integrity::Malformed(_) => "malformed",
    }
}

fn status_code(s: &CertStatus) -> &'static str {
    match s {
        CertStatus::Trusted => "trusted",
        CertStatus::Revoked => "revoked",
        CertStatus::Expired => "expired",
        CertStatus::NotYetValid => "not_yet_valid",
        CertStatus::UntrustedIssuer => "untrusted_issuer",
        CertStatus::Invalid(_) => "invalid",
    }
}

fn report(s: pades::PdfSignature) -> SignatureReport {
    let c = &s.check;
    let name = c.signer.clone().unwrap_or_default();
    SignatureReport {
        valid: s.valid(),
        signer: name.common_name.clone(),
        organization: name.organization.clone(),
        identifier: name.identifier.clone(),
        subject: name.full.clone(),
        serial: c.serial.clone(),
        chain: c
            .chain
            .iter()
            .map(|n| n.common_name.clone().unwrap_or_else(|| n.full.clone()))
            .collect(),
        integrity: integrity_code(&c.integrity),
        certificate: status_code(&c.status),
        time: c.proven_time().map(Timestamp::from_datetime),
        time_stamp_authority: c
            .timestamp
            .as_ref()
            .and_then(|t| t.authority.common_name.clone()),
        time_stamp_valid: c.timestamp.as_ref().map(sohoa_sign::Stamp::valid),
        claimed_time: s.found.time.clone(),
        changed_after_signing: !s.found.covers_whole_file,
        sub_filter: s.found.sub_filter.clone(),
        reason: s.found.reason.clone(),
        location: s.found.location.clone(),
        certificate_pem: c
            .certificate
            .as_deref()
            .map(|d| sohoa_sign::x509::to_pem(d, "CERTIFICATE")),
    }
}

/// Checks every signature of `pdf`, for anyone: who signed, whether the file changed since,
/// whether the certificate leads to a root the city trusts and was not revoked.
pub async fn verify_pdf(app: &App, pdf: Vec<u8>) -> Result<Vec<SignatureReport>> {
    if pdf.len() > MAX_PDF {
        return Err(Error::new(crate::error::Kind::TooLarge, "pdf_too_large")
            .arg("megabytes", MAX_PDF / (1024 * 1024)));
    }
    let trust = trust(app).await?;
    let now = time::OffsetDateTime::now_utc();
    let found = crate::blocking(move || pades::verify(&pdf, &trust, now)).await?;
    let found = found.map_err(|e| {
        use sohoa_pdf::SignatureError as S;
        Error::unprocessable(match e {
            S::NotPdf => "pdf_unreadable",
            S::NoSignature => "pdf_unsigned",
            S::MalformedByteRange => "signature_range_malformed",
            S::PartialByteRange => "signature_partial",
        })
        .field("file")
    })?;
    Ok(found.into_iter().map(report).collect())
}

/// The register of the city's certificates, for its administrators.
pub async fn certificates(
    app: &App,
    who: Acting<'_>,
    page: PageRequest,
) -> Result<Page<CertificateRecord>> {
    authorize(
        who.principal,
        Action::ManageCertificates,
        &Target::default(),
    )?;
    let (items, total) = pki::certificates(&app.db, page).await?;
    Ok(Page::new(items, total, page))
}

/// Revokes a certificate; its owner's next signature is made with a new key.
pub async fn revoke(
    app: &App,
    who: Acting<'_>,
    serial: &str,
    reason: RevocationReason,
) -> Result<CertificateRecord> {
    authorize(
        who.principal,
        Action::ManageCertificates,
        &Target::default(),
    )?;
    revoke_as(app, &who.actor(), serial, reason).await
}

/// [`revoke`] for the command line, whose operator holds the database already.
pub async fn revoke_as(
    app: &App,
    actor: &str,
    serial: &str,
    reason: RevocationReason,
) -> Result<CertificateRecord> {
    let serial = CertificateSerial::parse(serial)
        .ok_or_else(|| Error::unprocessable("certificate_serial_invalid").field("serial"))?;
    match pki::revoke(&app.db, &serial, reason, actor).await? {
        Ok(r) => Ok(r),
        Err(RevokeRefusal::Unknown) => Err(Error::not_found("certificate_not_found")),
        Err(RevokeRefusal::AlreadyRevoked) => Err(Error::conflict("certificate_already_revoked")),
        Err(RevokeRefusal::Root) => Err(Error::conflict("certificate_is_root")),
    }
}
