//! Citizens' own accounts: sign in, sign out, and "who looked at my data" (after Estonia's
//! data tracker): every audited access to the citizen's records, newest first.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::audit::{AuditRecord, Outcome};
use sohoa_domain::identity::{check_password, hash_password, verify_password};
use sohoa_domain::{CitizenId, Timestamp};
use sohoa_storage::{accounts, audit, registry, StorageError};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, AppError};
use crate::extract::{Admin, ApiJson, ApiQuery, CitizenSession, ClientAddr};
use crate::AppState;

/// Consecutive failed sign-ins that lock an account, and for how long.
pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// How long a session lasts.
pub const SESSION: Duration = Duration::from_secs(8 * 3600);

fn later(d: Duration) -> Timestamp {
    Timestamp::from_datetime(Timestamp::now().datetime() + d)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(AppError::internal)?;
    Ok(b)
}

/// Argon2id is deliberately slow: run it off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(AppError::internal)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(example = "079185001234")]
    pub citizen_id: String,
    /// 10 to 128 characters.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountCreated {
    pub citizen_id: String,
}

/// Opens a local account for a citizen in the registry (administrators only).
#[utoipa::path(post, path = "/api/v1/accounts/citizens", tag = "identity", security(("bearer" = [])), request_body = NewAccount,
    responses(
        (status = 201, body = AccountCreated),
        (status = 401, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_account(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, Json<AccountCreated>)> {
    let id = CitizenId::parse(&body.citizen_id)
        .map_err(|_| AppError::unprocessable("invalid_citizen_id").field("citizen_id"))?;
    check_password(&body.password)
        .map_err(|_| AppError::unprocessable("invalid_password").field("password"))?;
    if registry::citizens::get(&state.db, &id).await?.is_none() {
        return Err(AppError::unprocessable("unknown_citizen").field("citizen_id"));
    }
    let salt = random_bytes::<16>()?;
    let password = body.password;
    let hash = blocking(move || hash_password(&password, &salt))
        .await?
        .map_err(AppError::internal)?;
    let record =
        AuditRecord::new("admin", "account.create", "citizen", id.as_str()).client_addr(addr);
    let mut tx = state.db.begin().await?;
    match accounts::create(&mut tx, id.as_str(), &hash, record).await {
        Err(StorageError::Conflict(_)) => {
            return Err(AppError::conflict("account_exists").field("citizen_id"))
        }
        other => other?,
    };
    tx.commit().await.map_err(StorageError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(AccountCreated {
            citizen_id: id.to_string(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[schema(example = "079185001234")]
    pub citizen_id: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// Present as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
}

/// A real hash of a password nobody has: verifying against it when the account does not
/// exist makes the answer take as long as for a wrong password.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no account has this password", &[0; 16]).unwrap_or_default())
        .clone()
}

/// Signs a citizen in with CCCD and password. Five failures in a row lock the account for
/// 15 minutes; every attempt is audited.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "identity", request_body = Login,
    responses(
        (status = 200, body = Session),
        (status = 401, description = "Wrong CCCD or password", body = crate::error::ErrorBody),
        (status = 429, description = "Locked after repeated failures; see Retry-After", body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<Response> {
    let wrong = || AppError::new(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let id = body.citizen_id.trim().to_owned();
    // Only a well-formed CCCD goes into the audit log; anything else is recorded as such.
    let logged_id = if CitizenId::parse(&id).is_ok() {
        id.clone()
    } else {
        "malformed".to_owned()
    };
    let record = |outcome: Outcome| {
        AuditRecord::new(
            format!("citizen:{logged_id}"),
            "auth.login",
            "account",
            &logged_id,
        )
        .outcome(outcome)
        .client_addr(addr.clone())
    };
    let account = match CitizenId::parse(&id) {
        Ok(_) => accounts::by_citizen(&state.db, &id).await?,
        Err(_) => None,
    };
    let now = Timestamp::now();
    if let Some(until) = account.as_ref().and_then(|a| a.locked_until.clone()) {
        if let Ok(until) = Timestamp::parse(&until) {
            if until > now {
                state.audit.record(record(Outcome::Denied)).await?;
                let secs = (until.datetime() - now.datetime()).whole_seconds().max(1);
                let mut res =
                    AppError::new(StatusCode::TOO_MANY_REQUESTS, "account_locked").into_response();
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return Ok(res);
            }
        }
    }
    let phc = account.as_ref().map(|a| a.password_hash.clone());
    let password = body.password;
    let ok = blocking(move || verify_password(&password, &phc.unwrap_or_else(dummy_hash))).await?;
    let known = account.as_ref().map(|a| a.account_id);
    let Some(account) = account.filter(|_| ok) else {
        let mut tx = state.db.begin().await?;
        if let Some(account_id) = known {
            accounts::record_failure(
                &mut tx,
                account_id,
                MAX_FAILURES,
                &later(LOCKOUT).to_string(),
            )
            .await?;
        }
        audit::append(&mut tx, &record(Outcome::Failure)).await?;
        tx.commit().await.map_err(StorageError::from)?;
        tracing::warn!(target: "security", "failed sign-in");
        return Err(wrong());
    };
    let token = format!("ss_{}", hex::encode(random_bytes::<32>()?));
    let expires_at = later(SESSION).to_string();
    let mut tx = state.db.begin().await?;
    accounts::start_session(
        &mut tx,
        account.account_id,
        &hex::encode(crate::token_digest(&token)),
        &expires_at,
    )
    .await?;
    audit::append(&mut tx, &record(Outcome::Success)).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(Json(Session { token, expires_at }).into_response())
}

/// Ends the session whose token is presented.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "identity", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    session: CitizenSession,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    accounts::end_session(&mut tx, &session.token_sha256).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessLogParams {
    /// The `next_before` of the previous page.
    pub before: Option<i64>,
    /// Entries per page, 1-200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Access {
    pub seq: i64,
    /// When, in UTC.
    pub at: String,
    /// Who: `agency:CODE`, `agency:CODE/officer:ID`, `admin`, ...
    pub actor: String,
    /// The agency the reader acted for.
    pub agency: Option<String>,
    pub action: String,
    pub purpose: Option<String>,
    pub fields: Vec<String>,
    pub outcome: Outcome,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLog {
    pub items: Vec<Access>,
    /// Pass as `before` for older entries; absent at the end.
    pub next_before: Option<i64>,
}

/// Every recorded access to the signed-in citizen's records, newest first.
#[utoipa::path(get, path = "/api/v1/me/access-log", tag = "identity", security(("bearer" = [])), params(AccessLogParams),
    responses((status = 200, body = AccessLog), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn access_log(
    State(state): State<AppState>,
    session: CitizenSession,
    ApiQuery(p): ApiQuery<AccessLogParams>,
) -> ApiResult<Json<AccessLog>> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::bad_request("invalid_page"));
    }
    let entries = audit::entries_for_object_before(
        &state.db,
        "citizen",
        &session.citizen_id,
        p.before,
        limit + 1,
    )
    .await?;
    let more = entries.len() as i64 > limit;
    let items: Vec<Access> = entries
        .into_iter()
        .take(limit as usize)
        .map(|e| Access {
            seq: e.seq,
            at: e.record.at,
            actor: e.record.actor,
            agency: e.record.actor_unit,
            action: e.record.action,
            purpose: e.record.purpose,
            fields: e.record.fields,
            outcome: e.record.outcome,
        })
        .collect();
    Ok(Json(AccessLog {
        next_before: if more {
            items.last().map(|a| a.seq)
        } else {
            None
        },
        items,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    /// The agency allowed to read.
    #[schema(example = "SO-Y-TE")]
    pub agency_code: String,
    #[schema(example = "health-insurance")]
    pub purpose: String,
    #[schema(example = json!(["phone"]))]
    pub fields: Vec<String>,
    /// Allow a single read.
    #[serde(default)]
    pub one_off: bool,
    /// Allow reads until this time (RFC 3339); required unless `one_off`, at most a year ahead.
    pub valid_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    pub consent_id: i64,
    pub agency_code: String,
    pub purpose: String,
    pub fields: Vec<String>,
    pub one_off: bool,
    pub valid_until: Option<String>,
    pub created_at: String,
    pub used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<sohoa_storage::sharing::Consent> for ConsentView {
    fn from(c: sohoa_storage::sharing::Consent) -> Self {
        Self {
            consent_id: c.consent_id,
            agency_code: c.agency_code,
            purpose: c.purpose,
            fields: c.fields,
            one_off: c.one_off,
            valid_until: c.valid_until,
            created_at: c.created_at,
            used_at: c.used_at,
            revoked_at: c.revoked_at,
        }
    }
}

/// The signed-in citizen lets an agency read named fields of their record for a purpose,
/// once or until a time.
#[utoipa::path(post, path = "/api/v1/me/consents", tag = "identity", security(("bearer" = [])), request_body = NewConsent,
    responses(
        (status = 201, body = ConsentView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_consent(
    State(state): State<AppState>,
    session: CitizenSession,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<NewConsent>,
) -> ApiResult<(StatusCode, Json<ConsentView>)> {
    use sohoa_domain::sharing::{Purpose, RegistryName};
    let agency = sohoa_domain::agency::AgencyCode::parse(&body.agency_code)
        .map_err(|_| AppError::unprocessable("invalid_agency_code").field("agency_code"))?;
    if sohoa_storage::agencies::get(&state.db, &agency)
        .await?
        .is_none()
    {
        return Err(AppError::unprocessable("agency_not_found").field("agency_code"));
    }
    let purpose = Purpose::parse(&body.purpose)
        .map_err(|_| AppError::unprocessable("invalid_purpose").field("purpose"))?;
    let fields = super::sharing::field_list(
        RegistryName::Citizens,
        &body.fields,
        StatusCode::UNPROCESSABLE_ENTITY,
    )?;
    let valid_until = match (&body.valid_until, body.one_off) {
        (None, true) => None,
        (None, false) => {
            return Err(AppError::unprocessable("invalid_valid_until").field("valid_until"))
        }
        (Some(t), _) => {
            let t = Timestamp::parse(t)
                .map_err(|_| AppError::unprocessable("invalid_valid_until").field("valid_until"))?;
            let now = Timestamp::now();
            if t <= now || t > later(Duration::from_secs(366 * 24 * 3600)) {
                return Err(AppError::unprocessable("invalid_valid_until").field("valid_until"));
            }
            Some(t.to_string())
        }
    };
    let new = sohoa_storage::sharing::NewConsent {
        citizen_id: &session.citizen_id,
        agency_code: agency.as_str(),
        purpose: &purpose,
        fields: &fields,
        one_off: body.one_off,
        valid_until: valid_until.as_deref(),
    };
    let record = AuditRecord::new(
        format!("citizen:{}", session.citizen_id),
        "consent.create",
        "citizen",
        &session.citizen_id,
    )
    .actor_unit(Some(agency.to_string()))
    .client_addr(addr);
    let mut tx = state.db.begin().await?;
    let consent = sohoa_storage::sharing::create_consent(&mut tx, &new, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok((StatusCode::CREATED, Json(consent.into())))
}

/// The signed-in citizen's consents, newest first, live or not.
#[utoipa::path(get, path = "/api/v1/me/consents", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = Vec<ConsentView>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list_consents(
    State(state): State<AppState>,
    session: CitizenSession,
) -> ApiResult<Json<Vec<ConsentView>>> {
    let consents = sohoa_storage::sharing::consents_of(&state.db, &session.citizen_id).await?;
    Ok(Json(consents.into_iter().map(ConsentView::from).collect()))
}

/// Revokes one of the signed-in citizen's consents: the next read relying on it is refused.
#[utoipa::path(delete, path = "/api/v1/me/consents/{consent_id}", tag = "identity", security(("bearer" = [])),
    params(("consent_id" = i64, Path, description = "Consent identifier")),
    responses((status = 204, description = "Revoked"), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_consent(
    State(state): State<AppState>,
    session: CitizenSession,
    ClientAddr(addr): ClientAddr,
    axum::extract::Path(consent_id): axum::extract::Path<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = consent_id
        .parse()
        .map_err(|_| AppError::not_found("consent_not_found"))?;
    let record = AuditRecord::new(
        format!("citizen:{}", session.citizen_id),
        "consent.revoke",
        "citizen",
        &session.citizen_id,
    )
    .fields([format!("consent={id}")])
    .client_addr(addr);
    let mut tx = state.db.begin().await?;
    // Someone else's consent is "not found": its existence is none of this citizen's business.
    if !sohoa_storage::sharing::revoke_consent(&mut tx, &session.citizen_id, id, record).await? {
        return Err(AppError::not_found("consent_not_found"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
