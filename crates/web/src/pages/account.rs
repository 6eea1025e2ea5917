//! Signing in and out on the web, and "my account": for a citizen, their record as the
//! registry holds it, everyone who read it, and their consents; for staff, their role and
//! scope. Every form carries a CSRF token (see `crate::auth`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sohoa_domain::audit::{AuditRecord, Outcome};
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_storage::{audit, registry, sharing, StorageError};

use super::{display_date, render, PageCtx, Shell};
use crate::auth::{self, Caller, SessionToken};
use crate::error::{AppError, PageErrorExt, PageResult};
use crate::extract::ClientAddr;
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    next: String,
    login: String,
    error: Option<String>,
}

/// Only a path on this site may be returned to after signing in: never another host.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/me".to_owned(),
    }
}

fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    // Pages with a personal CSRF token or personal data are never cached.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn login_page(
    ctx: &PageCtx,
    headers: &HeaderMap,
    next: String,
    login: String,
    error: Option<&AppError>,
) -> PageResult<Response> {
    let (csrf, cookie) = auth::csrf_token(headers).page(ctx.lang)?;
    let t = ctx.t();
    let mut res = render(&LoginTemplate {
        shell: ctx.shell("me", t.get("login-title")),
        t,
        csrf,
        next,
        login,
        error: error.map(|e| e.message(ctx.lang)),
    });
    if let Some(e) = error {
        *res.status_mut() = e.status;
        e.decorate(&mut res);
    }
    Ok(with_cookie(res, cookie))
}

#[derive(Debug, Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

pub async fn login_form(
    ctx: PageCtx,
    headers: HeaderMap,
    axum::extract::Query(p): axum::extract::Query<NextParam>,
) -> PageResult<Response> {
    login_page(
        &ctx,
        &headers,
        safe_next(p.next.as_deref()),
        String::new(),
        None,
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    totp: Option<String>,
    csrf: String,
    next: Option<String>,
}

pub async fn login_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let Ok(Form(form)) = form else {
        return Err(AppError::bad_request("invalid_body")).page(ctx.lang);
    };
    auth::check_csrf(&headers, &form.csrf).page(ctx.lang)?;
    let next = safe_next(form.next.as_deref());
    match auth::sign_in(
        &state,
        &form.login,
        form.password,
        form.totp.as_deref(),
        addr,
    )
    .await
    {
        Ok(signed) => {
            let mut res = Redirect::to(&next).into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, auth::session_cookie(&signed));
            Ok(with_cookie(res, None))
        }
        Err(e) if e.status.is_client_error() => {
            login_page(&ctx, &headers, next, form.login.trim().to_owned(), Some(&e))
        }
        Err(e) => Err(e).page(ctx.lang),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
    token: SessionToken,
    ClientAddr(addr): ClientAddr,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let csrf = form.map(|Form(f)| f.csrf).unwrap_or_default();
    auth::check_csrf(&headers, &csrf).page(ctx.lang)?;
    auth::sign_out(&state, &caller, &token, addr)
        .await
        .page(ctx.lang)?;
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, auth::clear_session_cookie());
    Ok(res)
}

struct AccessRow {
    at: String,
    who: String,
    purpose: String,
    fields: String,
    outcome: String,
}

struct ConsentRow {
    id: i64,
    agency: String,
    purpose: String,
    fields: String,
    until: String,
    live: bool,
}

struct Fact {
    label: String,
    value: String,
}

#[derive(Template)]
#[template(path = "me.html")]
struct MeTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    actor: String,
    /// For staff: role and scope; for citizens: their record.
    facts: Vec<Fact>,
    is_citizen: bool,
    accesses: Vec<AccessRow>,
    older_href: Option<String>,
    consents: Vec<ConsentRow>,
}

#[derive(Debug, Deserialize)]
pub struct MeParams {
    before: Option<i64>,
}

const ACCESS_PAGE: i64 = 20;

pub async fn me(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    params: Result<axum::extract::Query<MeParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let before = params.ok().and_then(|p| p.0.before);
    let (csrf, cookie) = auth::csrf_token(&headers).page(lang)?;
    let t = ctx.t();
    let fact = |key: &str, value: String| Fact {
        label: t.get(key),
        value,
    };
    let mut tpl = MeTemplate {
        shell: ctx.shell("me", t.get("me-title")),
        t,
        csrf,
        actor: caller.actor(),
        facts: Vec::new(),
        is_citizen: false,
        accesses: Vec::new(),
        older_href: None,
        consents: Vec::new(),
    };
    match &caller.0 {
        Principal::Citizen(id) => {
            caller
                .authorize(Action::ReadOwnData, &Target::citizen(id))
                .page(lang)?;
            tpl.is_citizen = true;
            let stored = registry::citizens::get(&state.db, id).await.page(lang)?;
            // The citizen reading their own record is a read of personal data like any other.
            state
                .audit
                .record(
                    AuditRecord::new(caller.actor(), "citizen.read_own", "citizen", id.as_str())
                        .fields(["full_name", "date_of_birth", "permanent_address"])
                        .client_addr(addr),
                )
                .await
                .page(lang)?;
            if let Some(s) = stored {
                let c = s.citizen;
                tpl.facts = vec![
                    fact("me-citizen-id", c.citizen_id.to_string()),
                    fact("me-full-name", c.full_name),
                    fact("me-birth-date", display_date(c.date_of_birth)),
                    fact(
                        "me-permanent-address",
                        format!(
                            "{}, {}",
                            c.permanent_address.street, c.permanent_address.unit_code
                        ),
                    ),
                ];
            }
            let entries = audit::entries_for_object_before(
                &state.db,
                "citizen",
                id.as_str(),
                before,
                ACCESS_PAGE + 1,
            )
            .await
            .page(lang)?;
            let more = entries.len() as i64 > ACCESS_PAGE;
            let me = caller.actor();
            tpl.accesses = entries
                .iter()
                .take(ACCESS_PAGE as usize)
                .map(|e| AccessRow {
                    at: e.record.at.clone(),
                    who: if e.record.actor == me {
                        tpl.t.get("me-access-you")
                    } else {
                        e.record.actor.clone()
                    },
                    purpose: e.record.purpose.clone().unwrap_or_default(),
                    fields: e.record.fields.join(", "),
                    outcome: tpl
                        .t
                        .get(&format!("me-outcome-{}", e.record.outcome.as_str())),
                })
                .collect();
            if more {
                tpl.older_href = entries
                    .get(ACCESS_PAGE as usize - 1)
                    .map(|e| format!("/me?before={}", e.seq));
            }
            let consents = sharing::consents_of(&state.db, id.as_str())
                .await
                .page(lang)?;
            tpl.consents = consents
                .into_iter()
                .map(|c| ConsentRow {
                    live: c.revoked_at.is_none() && !(c.one_off && c.used_at.is_some()),
                    id: c.consent_id,
                    agency: c.agency_code,
                    purpose: c.purpose,
                    fields: c.fields.join(", "),
                    until: c
                        .valid_until
                        .unwrap_or_else(|| tpl.t.get("me-consent-once")),
                })
                .collect();
        }
        Principal::Staff(s) => {
            tpl.facts = vec![
                fact("me-username", s.username.clone()),
                fact("me-role", tpl.t.get(&format!("role-{}", s.role.as_str()))),
                fact(
                    "me-agency",
                    s.agency
                        .as_ref()
                        .map_or_else(|| tpl.t.get("me-city-wide"), ToString::to_string),
                ),
                fact(
                    "me-unit",
                    s.unit
                        .as_ref()
                        .map_or_else(|| "—".to_owned(), ToString::to_string),
                ),
            ];
        }
        _ => return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden")).page(lang),
    }
    Ok(with_cookie(render(&tpl), cookie))
}

pub async fn revoke_consent(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(consent_id): Path<String>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let csrf = form.map(|Form(f)| f.csrf).unwrap_or_default();
    auth::check_csrf(&headers, &csrf).page(lang)?;
    let Principal::Citizen(id) = &caller.0 else {
        return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden")).page(lang);
    };
    let not_found = || AppError::not_found("consent_not_found");
    let consent: i64 = consent_id.parse().map_err(|_| not_found()).page(lang)?;
    let record = AuditRecord::new(caller.actor(), "consent.revoke", "citizen", id.as_str())
        .fields([format!("consent={consent}")])
        .outcome(Outcome::Success)
        .client_addr(addr);
    let mut tx = state.db.begin().await.page(lang)?;
    if !sharing::revoke_consent(&mut tx, id.as_str(), consent, record)
        .await
        .page(lang)?
    {
        return Err(not_found()).page(lang);
    }
    tx.commit().await.map_err(StorageError::from).page(lang)?;
    Ok(Redirect::to("/me").into_response())
}
