//! Who is calling, and whether they may: the caller is identified from their credentials,
//! every route passes the [`guard`] with the [`Action`] it declared (the policy lives in
//! `sohoa_domain::policy`), and people's sessions are started and ended here, for the API
//! (bearer tokens) and the pages (cookies, with CSRF tokens on every form).
//!
//! Cookies identify a caller only on pages: the JSON API takes credentials from the
//! `Authorization` header alone, so no other site can make a browser call it with the
//! user's session.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::{AuditRecord, Outcome};
use sohoa_domain::identity::{verify_password, Username};
use sohoa_domain::policy::{self, Action, Denial, Principal, Role, Staff, Target};
use sohoa_domain::{CitizenId, Timestamp, UnitCode};
use sohoa_storage::accounts::{self, Holder, SessionOwner, StaffAccount};
use sohoa_storage::sharing::KeyKind;
use sohoa_storage::{audit, StorageError};

use crate::error::AppError;
use crate::{AppState, RouteKind};

pub const SESSION_COOKIE: &str = "__Host-sohoa_session";
pub const CSRF_COOKIE: &str = "__Host-sohoa_csrf";
/// Consecutive failed sign-ins that lock an account, and for how long.
pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// How long a session lasts.
pub const SESSION: Duration = Duration::from_secs(8 * 3600);

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
    {
        // Data consumers: an agency's key, an enterprise's key, or an access token issued
        // for either at /oauth/token.
        if let Some((kind, key)) = split_key_prefix(token) {
            let owner = key_owner(state, kind, key).await?;
            return Ok((consumer(kind, &owner, headers)?, None));
        }
        if token.starts_with(TOKEN_PREFIX) {
            let (kind, owner) = token_owner(state, token).await?;
            return Ok((consumer(kind, &owner, headers)?, None));
        }
        if token.starts_with("ss_") {
            return session(state, token).await?.ok_or_else(unauthenticated);
        }
        let bootstrap = state
            .config
            .admin_token_sha256
            .is_some_and(|expected| crate::digests_equal(&crate::token_digest(token), &expected));
        if bootstrap {
            return Ok((Principal::Bootstrap, None));
        }
        tracing::warn!(target: "security", "bearer token of no valid kind presented");
        Err(unauthenticated())
    }
}

/// How each kind of data consumer's API key begins: `<prefix><key_id>_<secret>`.
pub(crate) fn key_prefix(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Agency => "sohoa_",
        KeyKind::Enterprise => "sohoe_",
    }
}

/// The kind of consumer key `s` begins as, and the rest of it.
pub(crate) fn split_key_prefix(s: &str) -> Option<(KeyKind, &str)> {
    [KeyKind::Agency, KeyKind::Enterprise]
        .into_iter()
        .find_map(|kind| Some((kind, s.strip_prefix(key_prefix(kind))?)))
}

/// How an access token from `/oauth/token` begins.
pub(crate) const TOKEN_PREFIX: &str = "sohoat_";

/// The owner of a data consumer's key `<key_id>_<secret>`, if the key is live and the
/// secret matches; otherwise 401 `unknown_agency`, whichever part was wrong.
pub(crate) async fn key_owner(
    state: &AppState,
    kind: KeyKind,
    key: &str,
) -> Result<String, AppError> {
    let unknown = || AppError::new(StatusCode::UNAUTHORIZED, "unknown_agency");
    let (key_id, secret) = key.split_once('_').ok_or_else(unknown)?;
    let stored = state
        .sharing
        .key(&state.db, kind, key_id)
        .await?
        .ok_or_else(unknown)?;
    let presented = crate::token_digest(secret);
    let expected: Option<[u8; 32]> = hex::decode(&stored.secret_sha256)
        .ok()
        .and_then(|v| v.try_into().ok());
    if stored.revoked || !expected.is_some_and(|e| crate::digests_equal(&e, &presented)) {
        tracing::warn!(target: "security", key_id, ?kind, "data consumer's key refused");
        return Err(unknown());
    }
    Ok(stored.owner)
}

/// The kind and owner of the key an access token (`sohoat_...`, from `/oauth/token`) was
/// issued for, if the token has not expired and the key is still live.
async fn token_owner(state: &AppState, token: &str) -> Result<(KeyKind, String), AppError> {
    let unknown = || AppError::new(StatusCode::UNAUTHORIZED, "unknown_agency");
    let digest = hex::encode(crate::token_digest(token));
    let stored = state
        .sharing
        .token(&state.db, &digest)
        .await?
        .ok_or_else(unknown)?;
    let live = Timestamp::parse(&stored.expires_at).is_ok_and(|t| t > Timestamp::now());
    let key = state
        .sharing
        .key(&state.db, stored.kind, &stored.key_id)
        .await?
        .filter(|k| live && !k.revoked);
    let Some(key) = key else {
        tracing::warn!(target: "security", key_id = stored.key_id, "expired access token, or its key revoked");
        return Err(unknown());
    };
    Ok((stored.kind, key.owner))
}

/// An agency's system by its key `<key_id>_<secret>` (the part after `sohoa_`).
pub(crate) async fn agency_system(
    state: &AppState,
    key: &str,
    headers: &HeaderMap,
) -> Result<Principal, AppError> {
    let owner = key_owner(state, KeyKind::Agency, key).await?;
    consumer(KeyKind::Agency, &owner, headers)
}

/// The caller a data consumer's credentials stand for. An officer acting through an
/// agency's system may be named in `Sohoa-Officer`; the audit log records both.
pub(crate) fn consumer(
    kind: KeyKind,
    owner: &str,
    headers: &HeaderMap,
) -> Result<Principal, AppError> {
    if kind == KeyKind::Enterprise {
        let tax_code = sohoa_domain::TaxCode::parse(owner).map_err(AppError::internal)?;
        return Ok(Principal::EnterpriseSystem(tax_code));
    }
    let agency = AgencyCode::parse(owner).map_err(AppError::internal)?;
    let officer = headers
        .get("sohoa-officer")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|o| {
            !o.is_empty()
                && o.len() <= 64
                && o.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .map(str::to_owned);
    Ok(Principal::AgencySystem { agency, officer })
}

async fn session(
    state: &AppState,
    token: &str,
) -> Result<Option<(Principal, Option<SessionToken>)>, AppError> {
    let digest = hex::encode(crate::token_digest(token));
    let now = Timestamp::now().to_string();
    let owner = accounts::session_owner(&state.db, &digest, &now).await?;
    let principal = match owner {
        None => return Ok(None),
        Some(SessionOwner::Citizen(id)) => {
            Principal::Citizen(CitizenId::parse(&id).map_err(AppError::internal)?)
        }
        Some(SessionOwner::Staff(s)) => Principal::Staff(staff_of(&s)?),
    };
    Ok(Some((principal, Some(SessionToken(digest)))))
}

/// The policy's view of a stored staff account.
pub fn staff_of(s: &StaffAccount) -> Result<Staff, AppError> {
    let bad = |what: &str| AppError::internal(format!("staff {}: stored {what}", s.username));
    Ok(Staff {
        username: s.username.clone(),
        role: Role::parse(&s.role).ok_or_else(|| bad("role"))?,
        agency: s
            .agency_code
            .as_deref()
            .map(AgencyCode::parse)
            .transpose()
            .map_err(|_| bad("agency"))?,
        unit: s
            .unit_code
            .as_deref()
            .map(UnitCode::parse)
            .transpose()
            .map_err(|_| bad("unit"))?,
    })
}

pub(crate) fn later(d: Duration) -> Timestamp {
    Timestamp::from_datetime(Timestamp::now().datetime() + d)
}

/// `d` from now, ahead (`true`) or back (`false`).
pub(crate) fn later_by(d: Duration, ahead: bool) -> Timestamp {
    let now = Timestamp::now().datetime();
    Timestamp::from_datetime(if ahead { now + d } else { now - d })
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    Ok(sohoa_app::random_bytes()?)
}

/// Argon2id is deliberately slow: run it off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(AppError::internal)
}

/// A real hash of a password nobody has: verifying against it when the account does not
/// exist makes the answer take as long as for a wrong password.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        sohoa_domain::identity::hash_password("no account has this password", &[0; 16])
            .unwrap_or_default()
    })
    .clone()
}

/// A new session: the token goes to the caller, only its digest is stored.
#[derive(Debug)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: Timestamp,
    pub principal: Principal,
}

/// Signs in a citizen (by CCCD) or a member of staff (by username) with a password.
/// Every attempt is audited; five failures in a row lock the account for 15 minutes, and
/// one client address gets a limited number of attempts a minute whatever the accounts.
pub async fn sign_in(
    state: &AppState,
    login: &str,
    password: String,
    totp: Option<&str>,
    addr: Option<String>,
) -> Result<SignedIn, AppError> {
    let login = login.trim();
    let citizen = CitizenId::parse(login).ok();
    let username = Username::parse(login);
    // Only a well-formed identifier goes into the audit log.
    let (actor, object) = match (&citizen, &username) {
        (Some(id), _) => (format!("citizen:{id}"), id.to_string()),
        (None, Some(u)) => (format!("staff:{u}"), u.to_string()),
        (None, None) => ("anonymous".to_owned(), "malformed".to_owned()),
    };
    let record = |outcome: Outcome| {
        AuditRecord::new(actor.clone(), "auth.login", "account", &object)
            .outcome(outcome)
            .client_addr(addr.clone())
    };
    if let Some(ip) = addr.as_deref().and_then(|a| a.parse::<IpAddr>().ok()) {
        if let Err(wait) = state.login_limiter.check(&ip) {
            state.audit.record(record(Outcome::Denied)).await?;
            tracing::warn!(target: "security", %ip, "sign-in attempts rate limited");
            return Err(AppError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
                .retry_after(crate::limit::retry_after_secs(wait)));
        }
    }
    // (holder, stored hash, locked until)
    let found: Option<(Holder, String, Option<String>)> = match (&citizen, &username) {
        (Some(id), _) => accounts::by_citizen(&state.db, id.as_str())
            .await?
            .map(|a| {
                (
                    Holder::Citizen(a.account_id),
                    a.password_hash,
                    a.locked_until,
                )
            }),
        (None, Some(u)) => accounts::staff_by_username(&state.db, u.as_str())
            .await?
            .filter(|s| s.disabled_at.is_none())
            .map(|s| (Holder::Staff(s.staff_id), s.password_hash, s.locked_until)),
        (None, None) => None,
    };
    let now = Timestamp::now();
    if let Some(until) = found.as_ref().and_then(|f| f.2.as_deref()) {
        if let Ok(until) = Timestamp::parse(until) {
            if until > now {
                state.audit.record(record(Outcome::Denied)).await?;
                let secs = (until.datetime() - now.datetime()).whole_seconds().max(1);
                return Err(
                    AppError::new(StatusCode::TOO_MANY_REQUESTS, "account_locked")
                        .retry_after(secs.unsigned_abs()),
                );
            }
        }
    }
    let phc = found.as_ref().map(|f| f.1.clone());
    let ok = blocking(move || verify_password(&password, &phc.unwrap_or_else(dummy_hash))).await?;
    let holder = found.map(|f| f.0);
    // The second factor, for accounts that enrolled one: asked for only once the password
    // is right, and a wrong code counts as a failed sign-in.
    let mut second = None;
    if let (Some(h), true) = (holder, ok) {
        let enrolled = accounts::totp(&state.db, h).await?;
        if let Some(secret) = enrolled.secret.as_deref().and_then(|s| hex::decode(s).ok()) {
            let Some(code) = totp.filter(|c| !c.trim().is_empty()) else {
                return Err(AppError::new(StatusCode::UNAUTHORIZED, "totp_required").field("totp"));
            };
            let now = Timestamp::now().datetime().unix_timestamp();
            match sohoa_domain::totp::verify(&secret, code, now, enrolled.last_step) {
                Some(step) => second = Some(step),
                None => {
                    let mut tx = state.db.begin().await?;
                    accounts::record_failure(&mut tx, h, MAX_FAILURES, &later(LOCKOUT).to_string())
                        .await?;
                    audit::append(&mut tx, &record(Outcome::Failure)).await?;
                    tx.commit().await.map_err(StorageError::from)?;
                    tracing::warn!(target: "security", "failed sign-in: wrong one-time code");
                    return Err(
                        AppError::new(StatusCode::UNAUTHORIZED, "invalid_totp").field("totp")
                    );
                }
            }
        }
    }
    let Some(holder) = holder.filter(|_| ok) else {
        let mut tx = state.db.begin().await?;
        if let Some(holder) = holder {
            accounts::record_failure(&mut tx, holder, MAX_FAILURES, &later(LOCKOUT).to_string())
                .await?;
        }
        audit::append(&mut tx, &record(Outcome::Failure)).await?;
        tx.commit().await.map_err(StorageError::from)?;
        tracing::warn!(target: "security", "failed sign-in");
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        ));
    };
    let mut tx = state.db.begin().await?;
    if let Some(step) = second {
        // Two requests racing with one code: only one spends it.
        if !accounts::use_totp_step(&mut tx, holder, step).await? {
            return Err(AppError::new(StatusCode::UNAUTHORIZED, "invalid_totp").field("totp"));
        }
    }
    start_session(state, tx, holder, record(Outcome::Success)).await
}

/// Starts a session for `holder` inside `tx` (which may hold other changes of the sign-in),
/// records `record`, commits, and hands back the token.
pub(crate) async fn start_session(
    state: &AppState,
    mut tx: sohoa_storage::Tx,
    holder: Holder,
    record: AuditRecord,
) -> Result<SignedIn, AppError> {
    let token = format!("ss_{}", hex::encode(random_bytes::<32>()?));
    let expires_at = later(SESSION);
    accounts::start_session(
        &mut tx,
        holder,
        &hex::encode(crate::token_digest(&token)),
        &expires_at.to_string(),
    )
    .await?;
    audit::append(&mut tx, &record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    let principal = match session(state, &token).await? {
        Some((p, _)) => p,
        None => return Err(AppError::internal("a session just started was not found")),
    };
    Ok(SignedIn {
        token,
        expires_at,
        principal,
    })
}

/// Ends the session with this token digest (audited).
pub async fn sign_out(
    state: &AppState,
    caller: &Caller,
    token: &SessionToken,
    addr: Option<String>,
) -> Result<(), AppError> {
    let record = AuditRecord::new(caller.actor(), "auth.logout", "account", caller.actor())
        .client_addr(addr);
    let mut tx = state.db.begin().await?;
    if accounts::end_session(&mut tx, &token.0).await? {
        audit::append(&mut tx, &record).await?;
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// `Set-Cookie` for a new session; the cookie lives as long as the session.
pub fn session_cookie(signed: &SignedIn) -> HeaderValue {
    let secs = SESSION.as_secs();
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
