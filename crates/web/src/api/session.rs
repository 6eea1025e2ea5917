//! Sessions over the API: sign in (citizens with their CCCD, staff with their username),
//! sign out, and who the session belongs to.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::{identity, Acting};
use sohoa_domain::policy::{Principal, Role};
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
    let who = Acting::new(&caller.0, addr.as_deref());
    identity::sign_out(&state, who, &token.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the presented session belongs to.
#[utoipa::path(get, path = "/api/v1/auth/session", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = WhoAmI), (status = 401, body = crate::error::ErrorBody)))]
pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI::from(&caller.0))
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
    let e = identity::totp_enrol(&state, &caller.0).await?;
    Ok(Json(TotpEnrolment {
        secret: e.secret,
        uri: e.uri,
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
    let who = Acting::new(&caller.0, addr.as_deref());
    identity::totp_confirm(&state, who, &body.code, body.current_code.as_deref()).await?;
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
    let who = Acting::new(&caller.0, addr.as_deref());
    identity::totp_disable(&state, who, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}
