//! Signatures anyone can check: a PDF's signatures verified for anyone, the city's RFC 3161
//! time-stamping authority, its revocation list, and the register of its certificates for
//! the administrators.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use sohoa_app::signatures::{self as uc, SignatureReport, MAX_PDF};
use sohoa_app::Acting;
use sohoa_domain::paging::PageRequest;
use sohoa_domain::pki::RevocationReason;
use sohoa_storage::pki::CertificateRecord;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SignatureView {
    /// Intact, by a certificate that leads to a trusted root and is not revoked, its
    /// time-stamp (if any) valid, and nothing added to the file after it.
    pub valid: bool,
    /// The signer's name (the certificate's common name).
    pub signer: Option<String>,
    pub organization: Option<String>,
    /// The CCCD or tax code the certificate names.
    pub identifier: Option<String>,
    /// The certificate's whole subject.
    pub subject: String,
    /// The certificate's serial number (hex).
    pub serial: Option<String>,
    /// From the signer up to the trusted root.
    pub chain: Vec<String>,
    /// `intact`, `digest_mismatch` (changed after signing), `signature_invalid`,
    /// `certificate_mismatch`, `certificate_missing`, `unsupported_algorithm`, `malformed`.
    pub integrity: String,
    /// `trusted`, `revoked`, `expired`, `not_yet_valid`, `untrusted_issuer`, `invalid`.
    pub certificate: String,
    /// When the signature is proven to have existed: its time-stamp's time.
    pub time: Option<String>,
    pub time_stamp_authority: Option<String>,
    pub time_stamp_valid: Option<bool>,
    /// The time the signer's software wrote (`/M`), not proof.
    pub claimed_time: Option<String>,
    /// Bytes were added to the file after this signature.
    pub changed_after_signing: bool,
    /// `ETSI.CAdES.detached` (PAdES) or `adbe.pkcs7.detached`.
    pub sub_filter: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// The signer's certificate, PEM.
    pub certificate_pem: Option<String>,
}

impl From<SignatureReport> for SignatureView {
    fn from(r: SignatureReport) -> Self {
        Self {
            valid: r.valid,
            signer: r.signer,
            organization: r.organization,
            identifier: r.identifier,
            subject: r.subject,
            serial: r.serial,
            chain: r.chain,
            integrity: r.integrity.into(),
            certificate: r.certificate.into(),
            time: r.time.map(|t| t.to_string()),
            time_stamp_authority: r.time_stamp_authority,
            time_stamp_valid: r.time_stamp_valid,
            claimed_time: r.claimed_time,
            changed_after_signing: r.changed_after_signing,
            sub_filter: r.sub_filter,
            reason: r.reason,
            location: r.location,
            certificate_pem: r.certificate_pem,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyReport {
    /// Every signature is valid.
    pub valid: bool,
    pub signatures: Vec<SignatureView>,
}

/// The PDF of a request: the body (`application/pdf`), or the first file of a
/// `multipart/form-data` body.
pub(crate) async fn read_pdf(
    state: &AppState,
    req: axum::extract::Request,
) -> Result<Vec<u8>, AppError> {
    use axum::extract::FromRequest;
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let too_large =
        || AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").arg("limit", MAX_PDF);
    if declared.starts_with("multipart/form-data") {
        let bad = |e: axum::extract::multipart::MultipartError| {
            AppError::bad_request("invalid_body").detail(e.body_text())
        };
        let mut form = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| AppError::bad_request("invalid_body").detail(e.body_text()))?;
        while let Some(field) = form.next_field().await.map_err(bad)? {
            if field.file_name().is_some() {
                let bytes = field.bytes().await.map_err(|_| too_large())?;
                if bytes.is_empty() {
                    return Err(AppError::unprocessable("empty_file").field("file"));
                }
                return Ok(bytes.to_vec());
            }
        }
        return Err(AppError::unprocessable("empty_file").field("file"));
    }
    let media = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !matches!(
        media.as_str(),
        "application/pdf" | "application/octet-stream"
    ) {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
        ));
    }
    let bytes = axum::body::to_bytes(req.into_body(), MAX_PDF)
        .await
        .map_err(|_| too_large())?;
    if bytes.is_empty() {
        return Err(AppError::unprocessable("empty_file").field("file"));
    }
    Ok(bytes.to_vec())
}

/// The smallest PDF with a signature dictionary (its CMS empty, so reported malformed): the
/// document's example.
const SIGNED_EXAMPLE: &str = "%PDF-1.7\n1 0 obj\n<< /Type /Sig /SubFilter /ETSI.CAdES.detached \
    /ByteRange [0 0103 0109 0017] /Contents <3000> >>\nendobj\n%%EOF\n";

/// Checks every signature of a PDF (a result, a signed form, any signed PDF): who signed,
/// whether it changed after signing, whether the certificate leads to a root the city
/// trusts and is not revoked, and the time-stamp's time. For anyone; nothing is kept.
#[utoipa::path(post, path = "/api/v1/signatures/verify", tag = "signatures",
    request_body(description = "The PDF (20 MiB at most), as the body or as a multipart file",
        content(
            (super::Binary = "application/pdf", example = json!(SIGNED_EXAMPLE)),
            (super::Binary = "multipart/form-data"))),
    responses(
        (status = 200, body = VerifyReport),
        (status = 413, body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody),
        (status = 422, description = "Not a PDF, no signature, or a signature over part of the file", body = crate::error::ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> ApiResult<Json<VerifyReport>> {
    let pdf = read_pdf(&state, req).await?;
    let found = uc::verify_pdf(&state, pdf).await?;
    Ok(Json(VerifyReport {
        valid: found.iter().all(|s| s.valid),
        signatures: found.into_iter().map(SignatureView::from).collect(),
    }))
}

/// The city's time-stamping authority (RFC 3161 over HTTP): a `TimeStampReq` in,
/// a `TimeStampResp` out, granted or refused with the reason inside. Any RFC 3161 client
/// (`openssl ts`, PDF signing tools) can use it.
#[utoipa::path(post, path = "/tsa", tag = "signatures",
    request_body(content((super::Binary = "application/timestamp-query", example = json!("0)\u{2}\u{1}\u{1}")))),
    responses(
        (status = 200, description = "TimeStampResp", content_type = "application/timestamp-reply"),
        (status = 413, body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody)))]
pub async fn tsa(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Response> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !declared.starts_with("application/timestamp-query") {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_file_type",
        ));
    }
    let body = axum::body::to_bytes(body, TSA_MAX).await.map_err(|_| {
        AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").arg("limit", TSA_MAX)
    })?;
    let reply = uc::time_stamp(&state, &body).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/timestamp-reply")],
        reply,
    )
        .into_response())
}

/// A time-stamp request is a hash and a few fields.
pub const TSA_MAX: usize = 4096;

/// The city CA's certificate revocation list (DER), at the address the certificates name.
#[utoipa::path(get, path = "/pki/city.crl", tag = "signatures",
    responses((status = 200, description = "X.509 CRL, DER", content_type = "application/pkix-crl")))]
pub async fn crl(State(state): State<AppState>) -> ApiResult<Response> {
    let der = uc::revocation_list(&state).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkix-crl"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        der,
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    pub serial: String,
    /// Whose key: an agency's code, `city-ca`, `city-tsa`.
    pub owner: String,
    /// `current` (in use), `replaced`, `expired` or `revoked`.
    pub state: String,
    pub issued_at: String,
    pub not_after: String,
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<RevocationReason>,
    pub certificate_pem: String,
}

impl From<CertificateRecord> for CertificateView {
    fn from(c: CertificateRecord) -> Self {
        Self {
            state: c.state().into(),
            serial: c.serial.to_string(),
            owner: c.owner,
            issued_at: c.issued_at.to_string(),
            not_after: c.not_after.to_string(),
            revoked_at: c.revoked_at.map(|t| t.to_string()),
            revocation_reason: c.revocation_reason,
            certificate_pem: c.cert_pem,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificatePage {
    pub items: Vec<CertificateView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CertificateParams {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// The city's certificates, newest first: for its administrators.
#[utoipa::path(get, path = "/api/v1/pki/certificates", tag = "signatures", security(("bearer" = [])),
    params(CertificateParams),
    responses((status = 200, body = CertificatePage), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn certificates(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiQuery(p): ApiQuery<CertificateParams>,
) -> ApiResult<Json<CertificatePage>> {
    let page = PageRequest::parse(p.page, p.per_page)
        .map_err(|_| AppError::bad_request("invalid_page"))?;
    let found = uc::certificates(&state, Acting::new(&caller.0, addr.as_deref()), page).await?;
    Ok(Json(CertificatePage {
        total: found.total,
        page: found.page,
        per_page: found.per_page,
        items: found.items.into_iter().map(CertificateView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    pub reason: RevocationReason,
}

/// Revokes a certificate (a compromised key, an agency merged away): it joins the
/// revocation list at once, and its owner's next signature is made with a new key.
#[utoipa::path(post, path = "/api/v1/pki/certificates/{serial}/revoke", tag = "signatures", security(("bearer" = [])),
    params(("serial" = String, Path, description = "Serial number, hex", example = "1A2B3C4D5E6F708192A3B4C5D6E7F801")),
    request_body = RevokeRequest,
    responses((status = 200, body = CertificateView), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(serial): Path<String>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> ApiResult<Json<CertificateView>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let done = uc::revoke(&state, who, &serial, req.reason).await?;
    Ok(Json(done.into()))
}

/// The applicant's signature on their form, as checked when it was given.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormSignatureView {
    /// `upload` (signed in the applicant's own tool) or `remote` (through a CSC provider).
    pub method: String,
    /// The certificate's holder.
    pub signer: String,
    /// The CCCD or tax code the certificate names.
    pub identifier: Option<String>,
    /// The certificate's serial number (hex).
    pub serial: String,
    /// The trusted root it leads to.
    pub issuer: String,
    /// The time-stamp's time, or when sohoa checked it (`time_stamped` false).
    pub signed_at: String,
    pub time_stamped: bool,
    /// The signer's certificate, PEM.
    pub certificate_pem: String,
}

impl From<sohoa_storage::signatures::FormSignature> for FormSignatureView {
    fn from(s: sohoa_storage::signatures::FormSignature) -> Self {
        Self {
            method: s.method.as_str().into(),
            signer: s.signer,
            identifier: s.identifier,
            serial: s.serial,
            issuer: s.issuer,
            signed_at: s.signed_at.to_string(),
            time_stamped: s.time_stamped,
            certificate_pem: s.cert_pem,
        }
    }
}

/// The application's form as a PDF, for its applicant to sign in their own PAdES tool
/// (the same bytes every time): upload the signed file to `…/signature`.
#[utoipa::path(get, path = "/api/v1/applications/{number}/form.pdf", tag = "signatures", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    responses((status = 200, description = "The form", content_type = "application/pdf"),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn form_pdf(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let pdf = sohoa_app::applications::signing::form_pdf(&state, who, &number).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        pdf,
    )
        .into_response())
}

/// The applicant's form, signed in their own tool: the downloaded form with a PAdES
/// signature appended, by a certificate that names them (their CCCD, or the enterprise's
/// tax code) and leads to a root the city trusts. Kept only when the check holds; the
/// refusal says why.
#[utoipa::path(post, path = "/api/v1/applications/{number}/signature", tag = "signatures", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    request_body(description = "The signed PDF, as the body or as a multipart file",
        content(
            (super::Binary = "application/pdf", example = json!(SIGNED_EXAMPLE)),
            (super::Binary = "multipart/form-data"))),
    responses(
        (status = 201, body = FormSignatureView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn upload_signed(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<FormSignatureView>)> {
    let pdf = read_pdf(&state, req).await?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let sig = sohoa_app::applications::signing::upload(&state, who, &number, pdf).await?;
    Ok((StatusCode::CREATED, Json(sig.into())))
}
