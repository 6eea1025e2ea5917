//! Who is calling, and whether they may: the caller is identified from their credentials,
//! every route passes the [`guard`] with the [`Action`] it declared (the policy lives in
//! `sohoa_domain::policy`), and people's sessions are started and ended here, for the API
//! (bearer tokens) and the pages (cookies, with CSRF tokens on every form).
//!
//! Cookies identify a caller only on pages: the JSON API takes credentials from the
//! `Authorization` header alone, so no other site can make a browser call it with the
//! user's session.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sohoa_app::identity::{self, SignedIn};
use sohoa_domain::policy::{self, Action, Denial, Principal, Target};
use sohoa_storage::sharing::KeyKind;

use crate::error::AppError;
use crate::{AppState, RouteKind};

pub const SESSION_COOKIE: &str = "__Host-sohoa_session";
pub const CSRF_COOKIE: &str = "__Host-sohoa_csrf";

/// The caller, as the guard identified them (anonymous on public routes).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// Asks the policy about a target the handler now knows; a refusal is logged on the
    /// security target and answered 403.
    pub fn authorize(&self, action: Action, target: &Target<'_>) -> Result<(), AppError> {
        policy::authorize(&self.0, action, target).map_err(|d| denied(&self.0, action, d))
    }

    pub fn actor(&self) -> String {
        self.0.actor()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller(
            parts
                .extensions
                .get::<Principal>()
                .cloned()
                .unwrap_or(Principal::Anonymous),
        ))
    }
}

/// The digest of the session token the caller presented, when they presented one.
#[derive(Debug, Clone)]
pub struct SessionToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SessionToken {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SessionToken>()
            .cloned()
            .ok_or_else(|| AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated"))
    }
}

fn denied(who: &Principal, action: Action, d: Denial) -> AppError {
    match d {
        Denial::Unauthenticated if action == Action::ReadRegistry => {
            AppError::new(StatusCode::UNAUTHORIZED, "unknown_agency")
        }
        Denial::Unauthenticated => AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated"),
        Denial::Forbidden => {
            tracing::warn!(target: "security", actor = %who.actor(), ?action, "denied");
            AppError::new(StatusCode::FORBIDDEN, "forbidden")
        }
    }
}

/// Every route's first step after the router matched it: identify the caller, ask the
/// policy whether they may ever perform the route's action, and hand the caller to the
/// handler. Actions that do not care who calls skip identification altogether.
pub(crate) async fn guard(
    kind: RouteKind,
    action: Action,
    absent: Option<(Action, &'static str)>,
    mut req: Request,
    next: Next,
) -> Response {
    if !action.identifies_caller() {
        return next.run(req).await;
    }
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        return AppError::internal("guard ran without the application state").into_response();
    };
    let (principal, token) = match identify(&state, req.headers(), kind).await {
        Ok(found) => found,
        // Where only agencies' systems are admitted, say which credential is wanted.
        Err(e) if e.status == StatusCode::UNAUTHORIZED && action == Action::ReadRegistry => {
            return refuse(
                kind,
                &req,
                denied(&Principal::Anonymous, action, Denial::Unauthenticated).bearer_invalid(),
            )
        }
        Err(e) => return refuse(kind, &req, e),
    };
    if let Err(d) = policy::admits(&principal, action) {
        let err = match (denied(&principal, action, d), absent) {
            (e, Some((read, code)))
                if e.status == StatusCode::FORBIDDEN
                    && policy::admits(&principal, read).is_err() =>
            {
                AppError::not_found(code)
            }
            (e, _) => e,
        };
        return refuse(kind, &req, err);
    }
    req.extensions_mut().insert(principal);
    if let Some(token) = token {
        req.extensions_mut().insert(token);
    }
    next.run(req).await
}

/// Pages send people who have not signed in to the sign-in page, and back afterwards.
fn refuse(kind: RouteKind, req: &Request, err: AppError) -> Response {
    if kind != RouteKind::Page {
        return err.into_response();
    }
    if err.status == StatusCode::UNAUTHORIZED {
        let back = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let to = format!(
            "/login?next={}",
            form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
        );
        return Redirect::to(&to).into_response();
    }
    let lang = crate::i18n::Lang::negotiate(req.uri().query(), req.headers());
    crate::html::error_page(err, lang)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Identifies the caller from the `Authorization` header (agency API keys `sohoa_…`,
/// session tokens `ss_…`, or the bootstrap token) or, on pages, the session cookie.
/// Credentials that are presented but wrong are an error, never silently anonymous.
pub async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    kind: RouteKind,
) -> Result<(Principal, Option<SessionToken>), AppError> {
    if let Some(token) = bearer(headers) {
        // Any token presented that is not valid, whatever its kind, is one answer
        // (RFC 6750 §3.1): it tells a prober nothing of how the server is set up.
        return bearer_principal(state, headers, token).await.map_err(|e| {
            if e.status == StatusCode::UNAUTHORIZED {
                AppError::new(StatusCode::UNAUTHORIZED, "invalid_token").bearer_invalid()
            } else {
                e
            }
        });
    }
    if kind == RouteKind::Page {
        if let Some(token) = cookie(headers, SESSION_COOKIE) {
            // An expired or revoked cookie is simply no session: the page asks to sign in.
            return Ok(session(state, token)
                .await?
                .unwrap_or((Principal::Anonymous, None)));
        }
    }
    Ok((Principal::Anonymous, None))
}

/// The principal behind a bearer token; 401 for one of no kind we issue, or not valid.
async fn bearer_principal(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
) -> Result<(Principal, Option<SessionToken>), AppError> {
    let unauthenticated = || AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated");
    // Data consumers: an agency's key, an enterprise's key, or an access token issued
    // for either at /oauth/token.
    if let Some(p) = identity::consumer_of(state, token, officer(headers)).await? {
        return Ok((p, None));
    }
    if token.starts_with(identity::SESSION_PREFIX) {
        return session(state, token).await?.ok_or_else(unauthenticated);
    }
    let bootstrap = state
        .config
        .admin_token_sha256
        .is_some_and(|expected| identity::digests_equal(&identity::token_digest(token), &expected));
    if bootstrap {
        return Ok((Principal::Bootstrap, None));
    }
    tracing::warn!(target: "security", "bearer token of no valid kind presented");
    Err(unauthenticated())
}

/// The officer an agency's system says acts through it (`Sohoa-Officer`).
pub(crate) fn officer(headers: &HeaderMap) -> Option<&str> {
    headers.get("sohoa-officer").and_then(|v| v.to_str().ok())
}

/// An agency's system by its key `<key_id>_<secret>` (the part after `sohoa_`).
pub(crate) async fn agency_system(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
) -> Result<Principal, AppError> {
    let owner = identity::key_owner(state, KeyKind::Agency, key).await?;
    Ok(identity::consumer(
        KeyKind::Agency,
        &owner,
        officer(headers),
    )?)
}

async fn session(
    state: &AppState,
    token: &str,
) -> Result<Option<(Principal, Option<SessionToken>)>, AppError> {
    let found = identity::session(state, token).await?;
    Ok(found.map(|(p, digest)| (p, Some(SessionToken(digest)))))
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    Ok(sohoa_app::random_bytes()?)
}

/// Signs in a citizen (by CCCD) or a member of staff (by username) with a password: one
/// client address gets a limited number of attempts a minute whatever the accounts.
pub async fn sign_in(
    state: &AppState,
    login: &str,
    password: String,
    totp: Option<&str>,
    addr: Option<String>,
) -> Result<SignedIn, AppError> {
    let ip = addr.as_deref().and_then(|a| a.parse::<IpAddr>().ok());
    let throttled = ip
        .and_then(|ip| state.login_limiter.check(&ip).err())
        .map(crate::limit::retry_after_secs);
    let attempt = identity::SignIn {
        login,
        password,
        totp,
        addr: addr.as_deref(),
        throttled,
    };
    Ok(identity::sign_in(state, attempt).await?)
}

/// `Set-Cookie` for a new session; the cookie lives as long as the session.
pub fn session_cookie(signed: &SignedIn) -> HeaderValue {
    let secs = identity::SESSION.as_secs();
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={}; Path=/; Max-Age={secs}; Secure; HttpOnly; SameSite=Lax",
        signed.token
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-sohoa_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
    )
}

/// The CSRF token a form must carry: the browser's CSRF cookie (double submit), created
/// when missing. The cookie is `__Host-` prefixed, so no other site — not even a sibling
/// subdomain — can plant one. Returns the token and, if new, the cookie to set.
pub fn csrf_token(headers: &HeaderMap) -> Result<(String, Option<HeaderValue>), AppError> {
    if let Some(v) = cookie(headers, CSRF_COOKIE).filter(|v| is_token(v)) {
        return Ok((v.to_owned(), None));
    }
    let token = hex::encode(random_bytes::<32>()?);
    let set = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .map_err(AppError::internal)?;
    Ok((token, Some(set)))
}

fn is_token(v: &str) -> bool {
    v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks a submitted form's CSRF token against the cookie, and the `Origin` header (sent
/// by every current browser with a POST) against the host.
pub fn check_csrf(headers: &HeaderMap, submitted: &str) -> Result<(), AppError> {
    let refuse = || {
        tracing::warn!(target: "security", "form refused: CSRF check failed");
        AppError::new(StatusCode::FORBIDDEN, "csrf_failed")
    };
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
        if origin_host != host {
            return Err(refuse());
        }
    }
    let Some(expected) = cookie(headers, CSRF_COOKIE).filter(|v| is_token(v)) else {
        return Err(refuse());
    };
    if !crate::digests_equal(
        &crate::token_digest(expected),
        &crate::token_digest(submitted),
    ) {
        return Err(refuse());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn cookies_are_found_among_others() {
        let h = headers(&[("cookie", "a=1; __Host-sohoa_session=ss_x; lang=vi")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("ss_x"));
        assert_eq!(cookie(&h, "lang"), Some("vi"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn csrf_needs_the_cookie_the_same_token_and_our_origin() {
        let t = "ab".repeat(32);
        let ok = headers(&[
            ("cookie", &format!("{CSRF_COOKIE}={t}")),
            ("host", "city.example"),
            ("origin", "https://city.example"),
        ]);
        assert!(check_csrf(&ok, &t).is_ok());
        assert!(check_csrf(&ok, &"cd".repeat(32)).is_err());
        assert!(check_csrf(&ok, "").is_err());
        let foreign = headers(&[
            ("cookie", &format!("{CSRF_COOKIE}={t}")),
            ("host", "city.example"),
            ("origin", "https://evil.example"),
        ]);
        assert!(check_csrf(&foreign, &t).is_err());
        let no_cookie = headers(&[("host", "city.example")]);
        assert!(check_csrf(&no_cookie, &t).is_err());
        // A fresh token comes with its cookie; an existing one is reused.
        let (fresh, set) = csrf_token(&no_cookie).unwrap();
        assert!(is_token(&fresh) && set.is_some());
        let (same, set) = csrf_token(&ok).unwrap();
        assert_eq!((same, set), (t, None));
    }
}
