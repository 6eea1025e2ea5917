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
use crate::error::{AppError, PageErrorExt, PageResult};
use crate::i18n::Tr;
use crate::AppState;

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

pub async fn status_form(ctx: PageCtx, headers: HeaderMap) -> PageResult<Response> {
    let (csrf, cookie) = auth::csrf_token(&headers).page(ctx.lang)?;
    let t = ctx.t();
    let res = render(&StatusTemplate {
        shell: ctx.shell("status", t.get("status-title")),
        t,
        csrf,
        number: String::new(),
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
        (Some(n), Some(c)) => {
            sohoa_storage::applications::by_lookup(&state.db, n.as_str(), &c.hash())
                .await
                .map_err(AppError::from)
                .page(ctx.lang)?
        }
        _ => None,
    };
    let today = crate::api::today();
    let found = app.map(|a| {
        let due = a
            .due_on
            .as_deref()
            .and_then(|d| sohoa_domain::registry::parse_date("due_on", d).ok());
        Found {
            overdue: crate::api::applications::overdue(&a, today),
            due_on: due.map(super::display_date).unwrap_or_else(|| "—".into()),
            number: a.number,
            procedure: a.procedure_code,
            status: status_name(t, a.status),
            updated_at: a.updated_at,
        }
    });
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

struct Checked {
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
        let r = sohoa_storage::pki::result(&state.db, n.as_str())
            .await
            .map_err(AppError::from)
            .page(ctx.lang)?;
        if let Some(r) = r {
            let key = sohoa_storage::pki::existing(&state.db, &r.signer)
                .await
                .map_err(AppError::from)
                .page(ctx.lang)?;
            use base64::Engine;
            let sig = base64::engine::general_purpose::STANDARD
                .decode(&r.signature)
                .unwrap_or_default();
            let valid = key.is_some_and(|k| k.verifies(r.document.as_bytes(), &sig));
            let doc: serde_json::Value = serde_json::from_str(&r.document).unwrap_or_default();
            let s = |k: &str| doc[k].as_str().unwrap_or_default().to_owned();
            checked = Some(Checked {
                number: r.number,
                procedure: s("procedure_code"),
                agency: format!("{} ({})", s("agency_name"), s("agency_code")),
                decision: Status::parse(&s("decision"))
                    .map(|d| status_name(t, d))
                    .unwrap_or_default(),
                issued_at: r.issued_at,
                valid,
            });
        }
    }
    let searched = !number.is_empty();
    let mut res = render(&VerifyTemplate {
        shell: ctx.shell("verify", t.get("verify-title")),
        t,
        number,
        searched,
        checked,
    });
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
