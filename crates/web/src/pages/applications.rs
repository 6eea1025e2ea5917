//! Public pages of the services: anyone checks an application's status with its number and
//! the code on the receipt, and anyone checks an issued result by its number (the signature
//! checked here, and the `openssl` commands to check it without us).

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde::Deserialize;
use sohoa_domain::services::application::{ApplicationNumber, LookupCode};
use sohoa_domain::services::workflow::Status;

use super::{render, PageCtx, Shell};
use crate::auth;
use crate::error::AppError;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::Tr;
use crate::AppState;
use sohoa_app::applications::results::Issued;

/// The applicant-facing name of a status, from the message catalog.
pub fn status_name(t: Tr, s: Status) -> String {
    t.get(&format!("app-status-{}", s.as_str().replace('_', "-")))
}

struct Found {
    number: String,
    procedure: String,
    status: String,
    due_on: String,
    overdue: bool,
    updated_at: String,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    number: String,
    error: Option<String>,
    found: Option<Found>,
}

/// `/status?number=HS…`: the form with the number filled in (the link a receipt's QR code
/// holds; the lookup code, printed beside it, is typed, never carried in a URL).
pub async fn status_form(
    ctx: PageCtx,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> PageResult<Response> {
    let (csrf, cookie) = auth::csrf_token(&headers).page(ctx.lang)?;
    let t = ctx.t();
    let number = crate::api::rails::query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "number")
        .and_then(|(_, v)| ApplicationNumber::parse(&v))
        .map(|n| n.to_string())
        .unwrap_or_default();
    let res = render(&StatusTemplate {
        shell: ctx.shell("status", t.get("status-title")),
        t,
        csrf,
        number,
        error: None,
        found: None,
    });
    Ok(super::account::with_cookie(res, cookie))
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    number: String,
    code: String,
    csrf: String,
}

pub async fn status_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    form: Result<Form<StatusForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let Ok(Form(form)) = form else {
        return Err(AppError::bad_request("invalid_body")).page(ctx.lang);
    };
    auth::check_csrf(&headers, &form.csrf).page(ctx.lang)?;
    let (csrf, cookie) = auth::csrf_token(&headers).page(ctx.lang)?;
    let t = ctx.t();
    let app = match (
        ApplicationNumber::parse(&form.number),
        LookupCode::parse(&form.code),
    ) {
        (Some(n), Some(c)) => sohoa_app::applications::by_lookup(&state, &n, &c)
            .await
            .page(ctx.lang)?,
        _ => None,
    };
    let today = crate::api::today();
    let found = app.map(|a| {
        let due = a.due_on;
        Found {
            overdue: sohoa_app::applications::overdue(&a, today),
            due_on: due.map(super::display_date).unwrap_or_else(|| "—".into()),
            number: a.number.to_string(),
            procedure: a.procedure_code.to_string(),
            status: status_name(t, a.status),
            updated_at: a.updated_at.to_string(),
        }
    });
    let found = match found {
        Some(mut f) => {
            f.procedure = super::labels::procedure(&state, &f.procedure, ctx.lang)
                .await
                .page(ctx.lang)?;
            Some(f)
        }
        None => None,
    };
    let error = found
        .is_none()
        .then(|| AppError::not_found("application_not_found").message(ctx.lang));
    let res = render(&StatusTemplate {
        shell: ctx.shell("status", t.get("status-title")),
        t,
        csrf,
        number: form.number.trim().to_owned(),
        error,
        found,
    });
    Ok(super::account::with_cookie(res, cookie))
}

pub(super) struct Checked {
    number: String,
    procedure: String,
    agency: String,
    decision: String,
    issued_at: String,
    valid: bool,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyTemplate {
    shell: Shell,
    t: Tr,
    number: String,
    searched: bool,
    checked: Option<Checked>,
    pdf: Option<super::signatures::PdfCheck>,
}

/// The /verify page: a result looked up by number, or an uploaded PDF's signatures.
pub(super) fn verify_page(
    ctx: &PageCtx,
    number: String,
    searched: bool,
    checked: Option<Checked>,
    pdf: Option<super::signatures::PdfCheck>,
) -> Response {
    let t = ctx.t();
    render(&VerifyTemplate {
        shell: ctx.shell("verify", t.get("verify-title")),
        t,
        number,
        searched,
        checked,
        pdf,
    })
}

#[derive(Debug, Deserialize)]
pub struct VerifyParams {
    number: Option<String>,
}

pub async fn verify(
    State(state): State<AppState>,
    ctx: PageCtx,
    params: Result<axum::extract::Query<VerifyParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let t = ctx.t();
    let number = params
        .ok()
        .and_then(|p| p.0.number)
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    let mut checked = None;
    if let Some(n) = ApplicationNumber::parse(&number) {
        let found = sohoa_app::applications::results::check(&state, &n)
            .await
            .page(ctx.lang)?;
        if let Some((r, valid)) = found {
            let doc: serde_json::Value = serde_json::from_str(&r.document).unwrap_or_default();
            let s = |k: &str| doc[k].as_str().unwrap_or_default().to_owned();
            checked = Some(Checked {
                number: r.number.to_string(),
                procedure: super::labels::procedure(&state, &s("procedure_code"), ctx.lang)
                    .await
                    .page(ctx.lang)?,
                agency: format!("{} ({})", s("agency_name"), s("agency_code")),
                decision: Status::parse(&s("decision"))
                    .map(|d| status_name(t, d))
                    .unwrap_or_default(),
                issued_at: r.issued_at.to_string(),
                valid,
            });
        }
    }
    let searched = !number.is_empty();
    let mut res = verify_page(&ctx, number, searched, checked, None);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// What the result page shows: the signed document's fields, the check of its signature,
/// and the exact signed bytes.
#[derive(Template)]
#[template(path = "result.html")]
struct ResultTemplate {
    shell: Shell,
    t: Tr,
    number: String,
    procedure: String,
    procedure_code: String,
    applicant: String,
    agency: String,
    decision: String,
    decided_at: String,
    issued_at: String,
    valid: bool,
    /// The document exactly as signed.
    document: String,
}

/// The issued result of an application rendered as a document, for its applicant and the
/// staff who may read the application; its files (`result.json`, `result.sig`,
/// `agency.pem`) are offered for checking with `openssl`.
pub async fn result_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: auth::Caller,
    crate::extract::ClientAddr(addr): crate::extract::ClientAddr,
    axum::extract::Path(number): axum::extract::Path<String>,
) -> PageResult<Response> {
    let t = ctx.t();
    let issued = issued_result(&state, &caller, addr, &number)
        .await
        .page(ctx.lang)?;
    let doc: serde_json::Value = serde_json::from_str(&issued.document)
        .map_err(AppError::internal)
        .page(ctx.lang)?;
    let s = |k: &str| doc[k].as_str().unwrap_or_default().to_owned();
    let (name_vi, name_en) = (s("procedure_name_vi"), s("procedure_name_en"));
    let mut res = render(&ResultTemplate {
        shell: ctx.shell("result", t.get("result-title")),
        number: issued.number.to_string(),
        procedure: if ctx.lang == crate::i18n::Lang::En && !name_en.is_empty() {
            name_en
        } else {
            name_vi
        },
        procedure_code: format!(
            "{} (v{})",
            s("procedure_code"),
            doc["procedure_version"].as_i64().unwrap_or_default()
        ),
        applicant: s("applicant"),
        agency: format!("{} ({})", s("agency_name"), s("agency_code")),
        decision: Status::parse(&s("decision"))
            .map(|d| status_name(t, d))
            .unwrap_or_default(),
        decided_at: s("decided_at"),
        issued_at: issued.issued_at.to_string(),
        valid: issued.valid,
        document: issued.document,
        t,
    });
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// One of a result's files, for `openssl`: the signed bytes, the DER signature, or the
/// agency's certificate.
pub async fn result_file(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: auth::Caller,
    crate::extract::ClientAddr(addr): crate::extract::ClientAddr,
    axum::extract::Path((number, file)): axum::extract::Path<(String, String)>,
) -> PageResult<Response> {
    if !matches!(file.as_str(), "result.json" | "result.sig" | "agency.pem") {
        return Err(AppError::not_found("not_found")).page(ctx.lang);
    }
    let issued = issued_result(&state, &caller, addr, &number)
        .await
        .page(ctx.lang)?;
    let (media, body): (&'static str, Vec<u8>) = match file.as_str() {
        "result.json" => ("application/json", issued.document.into_bytes()),
        "result.sig" => {
            use base64::Engine;
            let der = base64::engine::general_purpose::STANDARD
                .decode(&issued.signature)
                .map_err(AppError::internal)
                .page(ctx.lang)?;
            ("application/octet-stream", der)
        }
        _ => ("application/x-pem-file", issued.certificate.into_bytes()),
    };
    let mut res = axum::response::IntoResponse::into_response(body);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The result of an application the caller may read (anything else looks absent), its
/// reading audited like the API's, and its signature checked.
async fn issued_result(
    state: &AppState,
    caller: &auth::Caller,
    addr: Option<String>,
    number: &str,
) -> Result<Issued, AppError> {
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    Ok(sohoa_app::applications::results::read(state, who, number).await?)
}

#[derive(Template)]
#[template(path = "payment_return.html")]
struct PaymentReturnTemplate {
    shell: Shell,
    t: Tr,
    message: String,
    number: Option<String>,
}

/// Where VNPay sends the applicant back: what VNPay says happened, once its signature is
/// checked. It confirms nothing (VNPay's IPN does, server to server); it only tells.
pub async fn vnpay_return(
    State(state): State<AppState>,
    ctx: PageCtx,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> PageResult<Response> {
    let t = ctx.t();
    let pairs = crate::api::rails::query_pairs(raw.as_deref());
    let outcome = state.config.vnpay.as_ref().and_then(|v| {
        v.merchant
            .verify(&pairs)
            .and_then(|p| sohoa_domain::payments::vnpay::Outcome::read(&p))
            .ok()
    });
    let number = match &outcome {
        Some(o) => sohoa_app::applications::payments::number_of(&state, &o.txn_ref)
            .await
            .page(ctx.lang)?,
        None => None,
    };
    let message = match &outcome {
        None => t.get("vnpay-return-invalid"),
        Some(o) if o.paid => t.get("vnpay-return-paid"),
        Some(_) => t.get("vnpay-return-not-paid"),
    };
    Ok(render(&PaymentReturnTemplate {
        shell: ctx.shell("status", t.get("vnpay-return-title")),
        t,
        message,
        number: number.map(|n| n.to_string()),
    }))
}
