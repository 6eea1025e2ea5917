//! Sessions over the API: sign in (citizens with their CCCD, staff with their username),
//! sign out, and who the session belongs to.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Principal, Role};
use sohoa_storage::accounts::{self, Holder};
use sohoa_storage::StorageError;
use utoipa::ToSchema;

use crate::auth::{self, Caller, SessionToken};
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ClientAddr};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"citizen_id": "079185001234", "password": "sohoa-demo-2025"}))]
pub struct Login {
    /// A citizen signs in with their CCCD...
    #[schema(value_type = Option<sohoa_domain::CitizenId>)]
    pub citizen_id: Option<String>,
    /// ...a member of staff with their username.
    #[schema(example = "nguyen.an")]
    pub username: Option<String>,
    pub password: String,
    /// The 6-digit code of an authenticator app, for accounts with two-step verification.
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// Present as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
    pub whoami: WhoAmI,
}

/// Who a session belongs to, and what scope they act in.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// `citizen`, `staff`, `agency_system`, `enterprise_system` or `admin`.
    pub kind: &'static str,
    /// The audit log's name for this caller.
    pub actor: String,
    pub citizen_id: Option<String>,
    pub username: Option<String>,
    pub role: Option<Role>,
    pub agency_code: Option<String>,
    pub unit_code: Option<String>,
}

impl From<&Principal> for WhoAmI {
    fn from(p: &Principal) -> Self {
        let mut w = WhoAmI {
            kind: "anonymous",
            actor: p.actor(),
            citizen_id: None,
            username: None,
            role: None,
            agency_code: p.agency().map(ToString::to_string),
            unit_code: None,
        };
        match p {
            Principal::Anonymous => {}
            Principal::Citizen(id) => {
                w.kind = "citizen";
                w.citizen_id = Some(id.to_string());
            }
            Principal::Staff(s) => {
                w.kind = "staff";
                w.username = Some(s.username.clone());
                w.role = Some(s.role);
                w.unit_code = s.unit.as_ref().map(ToString::to_string);
            }
            Principal::AgencySystem { .. } => w.kind = "agency_system",
            Principal::EnterpriseSystem(_) => w.kind = "enterprise_system",
            Principal::Bootstrap => {
                w.kind = "admin";
                w.role = Some(Role::CityAdmin);
            }
        }
        w
    }
}

/// Signs in with a CCCD (citizens) or a username (staff) and a password. Five failures in
/// a row lock the account for 15 minutes; one address gets 30 attempts a minute (by default); every
/// attempt is audited.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "identity", request_body = Login,
    responses(
        (status = 200, body = Session),
        (status = 401, description = "Wrong identifier, password or one-time code; or a code is required (totp_required)", body = crate::error::ErrorBody),
        (status = 422, description = "Neither or both of citizen_id and username", body = crate::error::ErrorBody),
        (status = 429, description = "Locked after repeated failures, or too many attempts from this address; see Retry-After", body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<Json<Session>> {
    let who = match (&body.citizen_id, &body.username) {
        (Some(c), None) => c,
        (None, Some(u)) => u,
        _ => return Err(AppError::unprocessable("invalid_body").field("username")),
    };
    let signed = auth::sign_in(&state, who, body.password, body.totp.as_deref(), addr).await?;
    Ok(Json(Session {
        whoami: WhoAmI::from(&signed.principal),
        token: signed.token,
        expires_at: signed.expires_at.to_string(),
    }))
}

/// Ends the session whose token is presented.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "identity", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    token: SessionToken,
    ClientAddr(addr): ClientAddr,
) -> ApiResult<StatusCode> {
    auth::sign_out(&state, &caller, &token, addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the presented session belongs to.
#[utoipa::path(get, path = "/api/v1/auth/session", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = WhoAmI), (status = 401, body = crate::error::ErrorBody)))]
pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI::from(&caller.0))
}

/// The local account behind the caller's session.
async fn holder(state: &AppState, caller: &Caller) -> Result<Holder, AppError> {
    let found = match &caller.0 {
        Principal::Citizen(id) => accounts::by_citizen(&state.db, id.as_str())
            .await?
            .map(|a| Holder::Citizen(a.account_id)),
        Principal::Staff(s) => accounts::staff_by_username(&state.db, &s.username)
            .await?
            .map(|a| Holder::Staff(a.staff_id)),
        _ => None,
    };
    found.ok_or_else(|| AppError::new(StatusCode::FORBIDDEN, "forbidden"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub uri: String,
}

/// Starts two-step verification: a new secret for an authenticator app. It takes effect
/// once a code from the app confirms it (`/api/v1/auth/totp/confirm`).
#[utoipa::path(post, path = "/api/v1/auth/totp", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrolment), (status = 401, body = crate::error::ErrorBody)))]
pub async fn totp_enrol(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<TotpEnrolment>> {
    let holder = holder(&state, &caller).await?;
    let secret = auth::random_bytes::<20>()?;
    let mut tx = state.db.begin().await?;
    let keys = state.db.keyring()?;
    accounts::set_totp_pending(&mut tx, &keys, holder, &hex::encode(secret)).await?;
    tx.commit().await.map_err(StorageError::from)?;
    let account = caller.actor();
    let account = account.split_once(':').map_or(account.as_str(), |(_, a)| a);
    Ok(Json(TotpEnrolment {
        secret: sohoa_domain::totp::base32(&secret),
        uri: sohoa_domain::totp::uri("sohoa", account, &secret),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    #[schema(example = "492039", pattern = "^[0-9]{6}$")]
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    /// A code of the new secret (from `/api/v1/auth/totp`).
    #[schema(example = "492039", pattern = "^[0-9]{6}$")]
    pub code: String,
    /// When two-step verification is on already: a current code of the secret in force.
    /// A session alone never replaces a second factor.
    #[schema(example = "118027", pattern = "^[0-9]{6}$")]
    pub current_code: Option<String>,
}

/// Confirms enrolment with a code from the app; from then on sign-in asks for a code.
/// Replacing a secret in force also takes a current code of it (`current_code`).
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "identity", security(("bearer" = [])), request_body = TotpConfirm,
    responses((status = 204, description = "Two-step verification is on"), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn totp_confirm(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<TotpConfirm>,
) -> ApiResult<StatusCode> {
    let holder = holder(&state, &caller).await?;
    let t = accounts::totp(&state.db, holder).await?;
    let invalid = || AppError::unprocessable("invalid_totp").field("code");
    let secret = t
        .pending
        .as_deref()
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(invalid)?;
    let now = sohoa_domain::Timestamp::now().datetime().unix_timestamp();
    let step = sohoa_domain::totp::verify(&secret, &body.code, now, None).ok_or_else(invalid)?;
    // With a secret in force, a current code of it: whoever holds a session (a borrowed
    // phone, a stolen cookie) must not be able to move the second factor to their app.
    let current = match t.secret.as_deref().and_then(|s| hex::decode(s).ok()) {
        None => None,
        Some(in_force) => {
            let wrong = || AppError::unprocessable("invalid_totp").field("current_code");
            let code = body.current_code.as_deref().ok_or_else(wrong)?;
            Some(sohoa_domain::totp::verify(&in_force, code, now, t.last_step).ok_or_else(wrong)?)
        }
    };
    let action = if current.is_some() {
        "auth.totp_replace"
    } else {
        "auth.totp_enable"
    };
    let record =
        AuditRecord::new(caller.actor(), action, "account", caller.actor()).client_addr(addr);
    let mut tx = state.db.begin().await?;
    if let Some(step) = current {
        // Spent, so the code cannot be replayed by a second request racing this one.
        if !accounts::use_totp_step(&mut tx, holder, step).await? {
            return Err(AppError::unprocessable("invalid_totp").field("current_code"));
        }
    }
    accounts::confirm_totp(&mut tx, holder, step, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns two-step verification off; a current code proves the app is still at hand.
#[utoipa::path(post, path = "/api/v1/auth/totp/disable", tag = "identity", security(("bearer" = [])), request_body = TotpCode,
    responses((status = 204, description = "Two-step verification is off"), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn totp_disable(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<TotpCode>,
) -> ApiResult<StatusCode> {
    let holder = holder(&state, &caller).await?;
    let t = accounts::totp(&state.db, holder).await?;
    let invalid = || AppError::unprocessable("invalid_totp").field("code");
    let secret = t
        .secret
        .as_deref()
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(invalid)?;
    let now = sohoa_domain::Timestamp::now().datetime().unix_timestamp();
    let step =
        sohoa_domain::totp::verify(&secret, &body.code, now, t.last_step).ok_or_else(invalid)?;
    let record = AuditRecord::new(
        caller.actor(),
        "auth.totp_disable",
        "account",
        caller.actor(),
    )
    .client_addr(addr);
    let mut tx = state.db.begin().await?;
    if !accounts::use_totp_step(&mut tx, holder, step).await? {
        return Err(invalid());
    }
    accounts::disable_totp(&mut tx, holder, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
