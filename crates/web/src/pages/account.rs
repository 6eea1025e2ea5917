//! Signing in and out on the web, and "my account": for a citizen, their record as the
//! registry holds it, everyone who read it, and their consents; for staff, their role and
//! scope. Every form carries a CSRF token (see `crate::auth`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sohoa_domain::policy::Principal;
use sohoa_domain::sharing::Consumer;

use super::{display_date, render, PageCtx, Shell};
use crate::auth::{self, Caller, SessionToken};
use crate::error::AppError;
use crate::extract::ClientAddr;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::Tr;
use crate::AppState;
use sohoa_app::identity;
use sohoa_storage::files::Document;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    next: String,
    login: String,
    error: Option<String>,
    /// Where the identity provider's button leads, when one is configured.
    oidc_href: Option<String>,
}

/// Only a path on this site may be returned to after signing in: never another host.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/me".to_owned(),
    }
}

pub(super) fn with_cookie(mut res: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    // Pages with a personal CSRF token or personal data are never cached.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn login_page(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
    next: String,
    login: String,
    error: Option<&AppError>,
) -> PageResult<Response> {
    let (csrf, cookie) = auth::csrf_token(headers).page(ctx.lang)?;
    let t = ctx.t();
    let oidc_href = state.config.oidc.as_ref().map(|_| {
        format!(
            "/login/oidc?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        )
    });
    let mut res = render(&LoginTemplate {
        shell: ctx.shell("me", t.get("login-title")),
        t,
        csrf,
        next,
        login,
        error: error.map(|e| e.message(ctx.lang)),
        oidc_href,
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
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    p: Result<axum::extract::Query<NextParam>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let next = p.ok().and_then(|q| q.0.next);
    login_page(
        &state,
        &ctx,
        &headers,
        safe_next(next.as_deref()),
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
        Err(e) if e.status.is_client_error() => login_page(
            &state,
            &ctx,
            &headers,
            next,
            form.login.trim().to_owned(),
            Some(&e),
        ),
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
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    sohoa_app::identity::sign_out(&state, who, &token.0)
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

struct DocumentRow {
    name: String,
    kind: &'static str,
    size: String,
    at: String,
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
    applications: Vec<ApplicationRow>,
    documents: Vec<DocumentRow>,
    document_error: Option<String>,
}

struct ApplicationRow {
    number: String,
    procedure: String,
    procedure_name: String,
    status: String,
    due: String,
    /// Its signed result is issued: the status links to it.
    has_result: bool,
    /// Still open: its form can be signed.
    open: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct MeParams {
    before: Option<i64>,
    /// Why the last document upload was refused (an error code), shown by its field.
    document_error: Option<String>,
}

/// The refusals of a document upload that the form explains; any other code is not shown.
const DOCUMENT_ERRORS: &[&str] = &[
    "empty_file",
    "unsupported_file_type",
    "payload_too_large",
    "invalid_document_name",
    "invalid_form",
];

const ACCESS_PAGE: i64 = 20;

/// A page of who read the citizen's data, newest first, and the link to older entries.
async fn my_accesses(
    state: &AppState,
    caller: &Caller,
    t: Tr,
    before: Option<i64>,
) -> PageResult<(Vec<AccessRow>, Option<String>)> {
    let page = sohoa_app::accounts::access_log(state, &caller.0, before, ACCESS_PAGE)
        .await
        .page(t.lang)?;
    let me = caller.actor();
    let rows = page
        .entries
        .iter()
        .map(|e| AccessRow {
            at: e.record.at.clone(),
            who: if e.record.actor == me {
                t.get("me-access-you")
            } else {
                e.record.actor.clone()
            },
            purpose: e.record.purpose.clone().unwrap_or_default(),
            fields: e.record.fields.join(", "),
            outcome: t.get(&format!("me-outcome-{}", e.record.outcome.as_str())),
        })
        .collect();
    let older = page
        .entries
        .last()
        .filter(|_| page.more)
        .map(|e| format!("/me?before={}", e.seq));
    Ok((rows, older))
}

/// One of the citizen's documents, as the list shows it.
fn document_row(d: Document) -> DocumentRow {
    DocumentRow {
        kind: match d.media_type.as_str() {
            "application/pdf" => "PDF",
            "image/jpeg" => "JPEG",
            "image/png" => "PNG",
            _ => "—",
        },
        size: format!("{} KB", (d.size + 1023) / 1024),
        at: crate::html::display_date(d.created_at.local_date()),
        name: d.name,
    }
}

/// A member of staff's account as the page states it: who, in which role, where.
fn staff_facts(t: Tr, s: &sohoa_domain::policy::Staff) -> Vec<Fact> {
    let fact = |key: &str, value: String| Fact {
        label: t.get(key),
        value,
    };
    vec![
        fact("me-username", s.username.clone()),
        fact("me-role", t.get(&format!("role-{}", s.role.as_str()))),
        fact(
            "me-agency",
            s.agency
                .as_ref()
                .map_or_else(|| t.get("me-city-wide"), ToString::to_string),
        ),
        fact(
            "me-unit",
            s.unit
                .as_ref()
                .map_or_else(|| "—".to_owned(), ToString::to_string),
        ),
    ]
}

pub async fn me(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    params: Result<axum::extract::Query<MeParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let params = params.map(|p| p.0).unwrap_or_default();
    let before = params.before;
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
        applications: Vec::new(),
        documents: Vec::new(),
        document_error: params
            .document_error
            .as_deref()
            .filter(|c| DOCUMENT_ERRORS.contains(c))
            .map(|c| t.get(&format!("me-document-error-{c}"))),
    };
    match &caller.0 {
        Principal::Citizen(_) => {
            tpl.is_citizen = true;
            let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
            let stored = sohoa_app::accounts::own_record(&state, who)
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
                        c.permanent_address.read_on(crate::api::today()),
                    ),
                ];
            }
            tpl.applications = my_applications(&state, &caller, t, lang).await?;
            (tpl.accesses, tpl.older_href) = my_accesses(&state, &caller, tpl.t, before).await?;
            tpl.documents = sohoa_app::documents::list(&state, &caller.0)
                .await
                .page(lang)?
                .into_iter()
                .take(100)
                .map(document_row)
                .collect();
            tpl.consents = my_consents(&state, &caller, tpl.t, lang).await?;
        }
        Principal::Staff(s) => tpl.facts = staff_facts(tpl.t, s),
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
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    sohoa_app::consents::revoke(&state, who, &consent_id)
        .await
        .map_err(AppError::from)
        .page(lang)?;
    Ok(Redirect::to("/me").into_response())
}

const OIDC_COOKIE: &str = "__Host-sohoa_oidc";
/// How long a browser may spend at the identity provider.
const OIDC_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

fn oidc_of(state: &AppState) -> Result<&crate::oidc::Oidc, AppError> {
    state
        .config
        .oidc
        .as_deref()
        .ok_or_else(|| AppError::not_found("oidc_not_found"))
}

fn oidc_error(e: crate::oidc::OidcError) -> AppError {
    match e {
        crate::oidc::OidcError::Provider(why) => {
            tracing::warn!(error = %why, "identity provider unavailable");
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, "oidc_unavailable")
        }
        other => {
            tracing::warn!(target: "security", error = %other, "OIDC sign-in refused");
            AppError::new(StatusCode::UNAUTHORIZED, "oidc_failed")
        }
    }
}

/// Starts a sign-in at the identity provider: state, nonce and PKCE verifier are kept
/// (the state also in a cookie, tying the callback to this browser), then off it goes.
pub async fn oidc_start(
    State(state): State<AppState>,
    ctx: PageCtx,
    p: Result<axum::extract::Query<NextParam>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let oidc = oidc_of(&state).page(lang)?;
    let next = safe_next(p.ok().and_then(|q| q.0.next).as_deref());
    let random = || auth::random_bytes::<32>().map(hex::encode);
    let login_state = random().page(lang)?;
    let login = identity::OidcLogin {
        nonce: random().page(lang)?,
        verifier: random().page(lang)?,
        next_path: next,
    };
    let url = oidc
        .authorization_url(&login_state, &login.nonce, &login.verifier)
        .await
        .map_err(oidc_error)
        .page(lang)?;
    identity::oidc_begin(&state, &login_state, &login, OIDC_WINDOW)
        .await
        .page(lang)?;
    let mut res = Redirect::to(&url).into_response();
    let cookie = format!(
        "{OIDC_COOKIE}={login_state}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Lax",
        OIDC_WINDOW.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The issuer, where the provider says it (RFC 9207): a mix-up defence.
    iss: Option<String>,
}

/// The identity provider sends the browser back here with a code; the citizen it vouches
/// for (by the CCCD claim) must be in the population registry.
pub async fn oidc_callback(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    q: Result<axum::extract::Query<Callback>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let oidc = oidc_of(&state).page(lang)?;
    let failed = || AppError::new(StatusCode::UNAUTHORIZED, "oidc_failed");
    let q = q.map(|q| q.0).map_err(|_| failed()).page(lang)?;
    if let Some(e) = &q.error {
        let e: String = e.chars().take(64).collect();
        tracing::info!(error = %e, "identity provider refused the sign-in");
        return Err(failed()).page(lang);
    }
    let (Some(code), Some(login_state)) = (q.code.as_deref(), q.state.as_deref()) else {
        return Err(failed()).page(lang);
    };
    if q.iss
        .as_deref()
        .is_some_and(|i| i.trim_end_matches('/') != oidc.config.issuer.trim_end_matches('/'))
    {
        tracing::warn!(target: "security", "OIDC callback from another issuer");
        return Err(failed()).page(lang);
    }
    // The callback must come back to the browser that started the sign-in.
    let same_browser = auth::cookie(&headers, OIDC_COOKIE).is_some_and(|c| {
        crate::digests_equal(&crate::token_digest(c), &crate::token_digest(login_state))
    });
    if !same_browser {
        tracing::warn!(target: "security", "OIDC callback without its browser's state cookie");
        return Err(failed()).page(lang);
    }
    let login = identity::oidc_take(&state, login_state, OIDC_WINDOW)
        .await
        .page(lang)?;
    let Some(login) = login else {
        return Err(failed()).page(lang);
    };
    let claimed = match oidc.finish(code, &login.verifier, &login.nonce).await {
        Ok(c) => c,
        Err(e) => {
            identity::oidc_failed(&state, addr.as_deref())
                .await
                .page(lang)?;
            return Err(oidc_error(e)).page(lang);
        }
    };
    let signed = identity::oidc_sign_in(&state, &claimed, addr.as_deref())
        .await
        .page(lang)?;
    let mut res = Redirect::to(&login.next_path).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, auth::session_cookie(&signed));
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-sohoa_oidc=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
        ),
    );
    Ok(with_cookie(res, None))
}

/// The "my account" page's upload form (multipart: `csrf`, `name`, `file`): a document kept
/// for later applications. A refusal comes back to the form with its reason by the field.
pub async fn upload_document(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let refused =
        |code: &str| Redirect::to(&format!("/me?document_error={code}#documents")).into_response();
    let parts = match super::read_parts(form).await {
        (parts, None) => parts,
        (_, Some(super::FormTrouble::TooLarge)) => return Ok(refused("payload_too_large")),
        (_, Some(super::FormTrouble::Unreadable)) => return Ok(refused("invalid_form")),
    };
    let part = |name: &str| parts.iter().find(|p| p.name == name);
    let csrf = part("csrf").map(super::Part::text).unwrap_or_default();
    auth::check_csrf(&headers, &csrf).page(lang)?;
    let Some(file) = part("file") else {
        return Ok(refused("empty_file"));
    };
    let name = part("name").map(super::Part::text);
    let kept = match crate::api::documents::sniff(
        &file.content_type,
        &file.bytes,
        crate::api::documents::KINDS,
    ) {
        Ok(media) => {
            let bytes = file.bytes.clone();
            sohoa_app::documents::keep(
                &state,
                sohoa_app::Acting::new(&caller.0, addr.as_deref()),
                name.as_deref(),
                Vec::from(bytes),
                media,
            )
            .await
            .map_err(AppError::from)
        }
        Err(e) => Err(e),
    };
    match kept {
        Ok(_) => Ok(Redirect::to("/me#documents").into_response()),
        Err(e) if DOCUMENT_ERRORS.contains(&e.code) => Ok(refused(e.code)),
        Err(e) => Err(e).page(lang),
    }
}

#[derive(Template)]
#[template(path = "assist_code.html")]
struct AssistCodeTemplate {
    shell: Shell,
    t: Tr,
    code: String,
    until: String,
}

/// The signed-in citizen's consents, with the grantee named as people read it.
async fn my_consents(
    state: &AppState,
    caller: &Caller,
    t: Tr,
    lang: crate::i18n::Lang,
) -> PageResult<Vec<ConsentRow>> {
    let consents = sohoa_app::consents::list(state, &caller.0)
        .await
        .map_err(AppError::from)
        .page(lang)?;
    let mut agency_names = std::collections::HashMap::new();
    for c in &consents {
        if let Consumer::Agency(a) = &c.grantee {
            let name = super::labels::agency(state, a.as_str(), lang)
                .await
                .page(lang)?;
            agency_names.insert(a.to_string(), name);
        }
    }
    Ok(consents
        .into_iter()
        .map(|c| ConsentRow {
            live: c.revoked_at.is_none() && !(c.one_off && c.used_at.is_some()),
            id: c.consent_id,
            agency: match c.grantee {
                Consumer::Agency(a) => agency_names
                    .get(a.as_str())
                    .cloned()
                    .unwrap_or_else(|| a.to_string()),
                Consumer::Enterprise(tax) => format!("{} {tax}", t.get("me-consent-enterprise")),
            },
            purpose: c.purpose.as_str().to_owned(),
            fields: c.fields.join(", "),
            until: c
                .valid_until
                .map(|u| u.local_display())
                .unwrap_or_else(|| t.get("me-consent-once")),
        })
        .collect())
}

/// The signed-in citizen's applications, the 200 soonest due: more than any resident has
/// open at once.
async fn my_applications(
    state: &AppState,
    caller: &Caller,
    t: Tr,
    lang: crate::i18n::Lang,
) -> PageResult<Vec<ApplicationRow>> {
    let query = sohoa_app::applications::ListQuery {
        limit: 200,
        ..Default::default()
    };
    let mine = sohoa_app::applications::list(state, &caller.0, query)
        .await
        .map_err(AppError::from)
        .page(lang)?;
    let mut rows = Vec::with_capacity(mine.items.len());
    for a in mine.items {
        rows.push(ApplicationRow {
            due: a.due_on.map(display_date).unwrap_or_else(|| "—".into()),
            has_result: a.status == sohoa_domain::services::workflow::Status::ResultIssued,
            open: !a.status.is_closed()
                && a.status != sohoa_domain::services::workflow::Status::Draft,
            status: super::applications::status_name(t, a.status),
            procedure_name: super::labels::procedure(state, &a.procedure_code, lang)
                .await
                .page(lang)?,
            number: a.number.to_string(),
            procedure: a.procedure_code.to_string(),
        });
    }
    Ok(rows)
}

/// A one-time code the citizen reads to a community digital team member, who may then
/// file one application for them (shown once; only its hash is kept).
pub async fn create_assist_code(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let csrf = form.map(|Form(f)| f.csrf).unwrap_or_default();
    auth::check_csrf(&headers, &csrf).page(lang)?;
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    let code = sohoa_app::applications::create_assist_code(&state, who)
        .await
        .map_err(AppError::from)
        .page(lang)?;
    let t = ctx.t();
    let mut res = render(&AssistCodeTemplate {
        shell: ctx.shell("me", t.get("me-assist-title")),
        until: sohoa_domain::Timestamp::parse(&code.expires_at)
            .map(|t| t.local_display())
            .unwrap_or(code.expires_at),
        code: code.code,
        t,
    });
    // A code shown once is not kept by caches or the back button.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
