//! Signatures on pages: anyone checks a signed PDF on /verify (the same use case as the
//! API), and the city's administrators see the certificates and revoke one.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sohoa_app::signatures::{self as uc, SignatureReport};
use sohoa_app::Acting;
use sohoa_domain::paging::PageRequest;
use sohoa_domain::pki::RevocationReason;

use super::{render, PageCtx, Shell};
use crate::auth::{self, Caller};
use crate::error::AppError;
use crate::extract::ClientAddr;
use crate::html::{PageErrorExt, PageResult, Pager};
use crate::i18n::Tr;
use crate::AppState;

/// One signature as the page shows it: every value already in the reader's language.
pub(super) struct SignatureRow {
    pub valid: bool,
    pub signer: String,
    pub organization: String,
    pub identifier: String,
    pub chain: String,
    pub integrity_ok: bool,
    pub integrity: String,
    pub certificate_ok: bool,
    pub certificate: String,
    pub time: String,
    pub claimed_time: String,
    pub changed_after_signing: bool,
    pub reason: String,
    pub kind: String,
}

fn row(t: Tr, r: SignatureReport) -> SignatureRow {
    let time = match (&r.time, &r.time_stamp_authority) {
        (Some(at), Some(tsa)) => format!("{} — {tsa}", at.local_display()),
        (Some(at), None) => at.local_display(),
        _ => t.get("sig-time-none"),
    };
    SignatureRow {
        valid: r.valid,
        signer: r.signer.unwrap_or_else(|| r.subject.clone()),
        organization: r.organization.unwrap_or_default(),
        identifier: r.identifier.unwrap_or_default(),
        chain: r.chain.join(" → "),
        integrity_ok: r.integrity == "intact",
        integrity: t.get(&format!("sig-integrity-{}", r.integrity.replace('_', "-"))),
        certificate_ok: r.certificate == "trusted",
        certificate: t.get(&format!(
            "sig-certificate-{}",
            r.certificate.replace('_', "-")
        )),
        time,
        claimed_time: r.claimed_time.unwrap_or_default(),
        changed_after_signing: r.changed_after_signing,
        reason: r.reason.unwrap_or_default(),
        kind: r.sub_filter.unwrap_or_default(),
    }
}

/// What the /verify page shows of an uploaded PDF: its signatures, or why it was refused.
pub(super) struct PdfCheck {
    pub valid: bool,
    pub rows: Vec<SignatureRow>,
    pub error: Option<String>,
}

/// Checks an uploaded PDF's signatures and shows them under the /verify form. The check
/// changes nothing and keeps nothing, so it needs no form token: anyone may post a file.
pub async fn verify_pdf(
    State(state): State<AppState>,
    ctx: PageCtx,
    req: axum::extract::Request,
) -> PageResult<Response> {
    let t = ctx.t();
    let outcome = async {
        let pdf = crate::api::signatures::read_pdf(&state, req).await?;
        Ok::<_, AppError>(uc::verify_pdf(&state, pdf).await?)
    }
    .await;
    let (status, pdf) = match outcome {
        Ok(found) => (
            StatusCode::OK,
            PdfCheck {
                valid: found.iter().all(|s| s.valid),
                rows: found.into_iter().map(|s| row(t, s)).collect(),
                error: None,
            },
        ),
        Err(e) if e.status.is_client_error() => (
            e.status,
            PdfCheck {
                valid: false,
                rows: Vec::new(),
                error: Some(e.message(ctx.lang)),
            },
        ),
        Err(e) => return Err(e).page(ctx.lang),
    };
    let mut res = super::applications::verify_page(&ctx, String::new(), false, None, Some(pdf));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

struct CertificateRow {
    serial: String,
    owner: String,
    state: &'static str,
    state_label: String,
    issued_at: String,
    not_after: String,
    reason: String,
    can_revoke: bool,
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct CertificatesTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    total: i64,
    rows: Vec<CertificateRow>,
    reasons: Vec<(&'static str, String)>,
    pager: Pager,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CertificateQuery {
    page: Option<u32>,
}

async fn certificates_page(
    state: &AppState,
    ctx: &PageCtx,
    caller: &Caller,
    headers: &HeaderMap,
    page: Option<u32>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let req =
        PageRequest::parse(page, Some(50)).map_err(|_| AppError::bad_request("invalid_page"))?;
    let found = uc::certificates(state, Acting::new(&caller.0, None), req).await?;
    let t = ctx.t();
    let (csrf, cookie) = auth::csrf_token(headers)?;
    let last = sohoa_domain::paging::last_page(found.total, found.per_page);
    let tpl = CertificatesTemplate {
        shell: ctx.shell("certificates", t.get("certificates-title")),
        csrf,
        total: found.total,
        rows: found
            .items
            .into_iter()
            .map(|c| CertificateRow {
                state: c.state(),
                state_label: t.get(&format!("certificates-state-{}", c.state())),
                can_revoke: c.revoked_at.is_none() && c.owner != sohoa_storage::pki::CITY_CA,
                serial: c.serial.to_string(),
                owner: c.owner,
                issued_at: c.issued_at.local_display(),
                not_after: c.not_after.local_display(),
                reason: c
                    .revocation_reason
                    .map(|r| t.get(&format!("revocation-{}", r.as_str().replace('_', "-"))))
                    .unwrap_or_default(),
            })
            .collect(),
        reasons: RevocationReason::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str(),
                    t.get(&format!("revocation-{}", r.as_str().replace('_', "-"))),
                )
            })
            .collect(),
        pager: Pager::new(ctx, found.page, last),
        error,
        t,
    };
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

/// The register of the city's certificates: for its administrators.
pub async fn certificates(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    headers: HeaderMap,
    q: Result<axum::extract::Query<CertificateQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let page = q.ok().and_then(|q| q.0.page);
    certificates_page(&state, &ctx, &caller, &headers, page, None)
        .await
        .page(ctx.lang)
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    csrf: String,
    reason: String,
}

/// Revokes a certificate; back to the register, with the refusal there if refused.
pub async fn revoke(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(serial): Path<String>,
    form: Result<Form<RevokeForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let Ok(Form(f)) = form else {
        return Err(AppError::bad_request("invalid_body")).page(ctx.lang);
    };
    auth::check_csrf(&headers, &f.csrf).page(ctx.lang)?;
    let outcome = match RevocationReason::parse(&f.reason) {
        Some(reason) => {
            let who = Acting::new(&caller.0, addr.as_deref());
            uc::revoke(&state, who, &serial, reason)
                .await
                .map_err(AppError::from)
        }
        None => Err(AppError::unprocessable("revocation_reason_invalid").field("reason")),
    };
    match outcome {
        Ok(_) => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/admin/certificates")],
        )
            .into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            let message = e.message(ctx.lang);
            let mut res = certificates_page(&state, &ctx, &caller, &headers, None, Some(message))
                .await
                .page(ctx.lang)?;
            *res.status_mut() = e.status;
            Ok(res)
        }
        Err(e) => Err(e).page(ctx.lang),
    }
}

#[derive(Template)]
#[template(path = "sign.html")]
struct SignTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    number: String,
    /// The checked signature: `(signer, identifier, when)`.
    signed: Option<(String, String, String)>,
    error: Option<String>,
}

async fn sign_page(
    state: &AppState,
    ctx: &PageCtx,
    caller: &Caller,
    headers: &HeaderMap,
    number: &str,
    error: Option<String>,
) -> Result<Response, AppError> {
    let who = Acting::new(&caller.0, None);
    let detail = sohoa_app::applications::read(state, who, number).await?;
    let t = ctx.t();
    let (csrf, cookie) = auth::csrf_token(headers)?;
    let tpl = SignTemplate {
        shell: ctx.shell("me", t.get("sign-title")),
        csrf,
        number: detail.application.number.to_string(),
        signed: detail.signature.map(|s| {
            (
                s.signer,
                s.identifier.unwrap_or_default(),
                s.signed_at.local_display(),
            )
        }),
        error,
        t,
    };
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

/// The applicant's page for signing their form: download it, sign it in their own tool,
/// upload it; or see the signature already checked.
pub async fn sign(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> PageResult<Response> {
    sign_page(&state, &ctx, &caller, &headers, &number, None)
        .await
        .page(ctx.lang)
}

/// The form as a PDF, on the applicant's session.
pub async fn form_pdf(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
) -> PageResult<Response> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let pdf = sohoa_app::applications::signing::form_pdf(&state, who, &number)
        .await
        .map_err(AppError::from)
        .page(ctx.lang)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        pdf,
    )
        .into_response())
}

/// The signed form uploaded from the page (multipart: the form token and the file).
pub async fn upload(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(number): Path<String>,
    mut form: axum::extract::Multipart,
) -> PageResult<Response> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::bad_request("invalid_body").detail(e.body_text())
    };
    let (mut csrf, mut pdf) = (String::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(bad).page(ctx.lang)? {
        if field.name() == Some("csrf") {
            csrf = field.text().await.unwrap_or_default();
        } else if field.file_name().is_some() {
            pdf = field.bytes().await.map_err(bad).page(ctx.lang)?.to_vec();
        }
    }
    auth::check_csrf(&headers, &csrf).page(ctx.lang)?;
    let outcome = if pdf.is_empty() {
        Err(AppError::unprocessable("empty_file").field("file"))
    } else {
        let who = Acting::new(&caller.0, addr.as_deref());
        sohoa_app::applications::signing::upload(&state, who, &number, pdf)
            .await
            .map_err(AppError::from)
    };
    match outcome {
        Ok(_) => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/me/applications/{number}/sign"))],
        )
            .into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            let message = e.message(ctx.lang);
            let mut res = sign_page(&state, &ctx, &caller, &headers, &number, Some(message))
                .await
                .page(ctx.lang)?;
            *res.status_mut() = e.status;
            Ok(res)
        }
        Err(e) => Err(e).page(ctx.lang),
    }
}
