//! Citizens' own accounts and data: opening an account, "who looked at my data" (after
//! Estonia's data tracker: every audited access to the citizen's records, newest first),
//! and consents.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::{accounts, consents, Acting};
use sohoa_domain::audit::Outcome;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, CitizenSession, ClientAddr};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(value_type = sohoa_domain::CitizenId)]
    pub citizen_id: String,
    /// 10 to 128 characters.
    #[schema(min_length = 10, max_length = 128, example = "mật khẩu đủ dài 2025")]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountCreated {
    pub citizen_id: String,
}

/// Opens a local account for a citizen in the registry, with a password of the caller's
/// choosing: city administrators only. Anyone helping a resident starts an activation
/// instead (`/api/v1/accounts/citizens/activations`).
#[utoipa::path(post, path = "/api/v1/accounts/citizens", tag = "identity", security(("bearer" = [])), request_body = NewAccount,
    responses(
        (status = 201, body = AccountCreated),
        (status = 401, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, Json<AccountCreated>)> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let id = accounts::open(&state, who, &body.citizen_id, body.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountCreated {
            citizen_id: id.to_string(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivation {
    #[schema(value_type = sohoa_domain::CitizenId)]
    pub citizen_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationStarted {
    /// Minutes the code stays valid, if one was sent.
    pub valid_minutes: i64,
}

/// Starts a resident's account: if the CCCD is of a resident the caller may help (a
/// digital team: its own ward) who has no account yet and a phone or e-mail in the
/// registry, a one-time code goes there, and the resident sets their own password with it
/// (`/api/v1/accounts/citizens/activate`). The answer is the same whatever the case, so it
/// tells nobody who lives where or who has an account; the attempt is in the audit log,
/// and in the resident's access log.
#[utoipa::path(post, path = "/api/v1/accounts/citizens/activations", tag = "identity", security(("bearer" = [])), request_body = NewActivation,
    responses(
        (status = 202, body = ActivationStarted),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn start_activation(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<NewActivation>,
) -> ApiResult<(StatusCode, Json<ActivationStarted>)> {
    let who = Acting::new(&caller.0, addr.as_deref());
    accounts::start_activation(&state, who, &body.citizen_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ActivationStarted {
            valid_minutes: accounts::ACTIVATION_MINUTES,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    #[schema(value_type = sohoa_domain::CitizenId)]
    pub citizen_id: String,
    /// The code sent to the resident's phone or e-mail.
    #[schema(value_type = sohoa_domain::services::application::LookupCode)]
    pub code: String,
    /// The resident's own password: 10 to 128 characters.
    #[schema(min_length = 10, max_length = 128, example = "mật khẩu của tôi 2026")]
    pub password: String,
}

/// The resident opens their account with the code they were sent, and their own password.
/// A wrong, expired or used code is refused alike; five wrong codes void the activation.
#[utoipa::path(post, path = "/api/v1/accounts/citizens/activate", tag = "identity", request_body = Activate,
    responses(
        (status = 201, body = AccountCreated),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn activate(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<Activate>,
) -> ApiResult<(StatusCode, Json<AccountCreated>)> {
    let addr = addr.as_deref();
    let id = accounts::activate(&state, addr, &body.citizen_id, &body.code, body.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountCreated {
            citizen_id: id.to_string(),
        }),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessLogParams {
    /// The `next_before` of the previous page.
    pub before: Option<i64>,
    /// Entries per page, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
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
    caller: Caller,
    _session: CitizenSession,
    ApiQuery(p): ApiQuery<AccessLogParams>,
) -> ApiResult<Json<AccessLog>> {
    let limit = p.limit.unwrap_or(50);
    let page = accounts::access_log(&state, &caller.0, p.before, limit).await?;
    let items: Vec<Access> = page
        .entries
        .into_iter()
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
    let next_before = items.last().map(|a| a.seq).filter(|_| page.more);
    Ok(Json(AccessLog { next_before, items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"agency_code": "SO-Y-TE", "purpose": "health-insurance", "fields": ["date_of_birth"], "one_off": true}))]
pub struct NewConsent {
    /// The agency allowed to read; name either this or `enterprise_tax_code`.
    #[schema(value_type = Option<sohoa_domain::agency::AgencyCode>)]
    pub agency_code: Option<String>,
    /// The enterprise allowed to read (a trading enterprise of the registry, which holds an
    /// API key); name either this or `agency_code`.
    #[schema(value_type = Option<sohoa_domain::TaxCode>)]
    pub enterprise_tax_code: Option<String>,
    #[schema(value_type = sohoa_domain::sharing::Purpose)]
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
    /// The agency it lets read, if the grantee is an agency.
    pub agency_code: Option<String>,
    /// The enterprise it lets read, if the grantee is an enterprise.
    pub enterprise_tax_code: Option<String>,
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
            agency_code: c.grantee.agency().map(ToString::to_string),
            enterprise_tax_code: c.grantee.enterprise().map(ToString::to_string),
            purpose: c.purpose.as_str().to_owned(),
            fields: c.fields,
            one_off: c.one_off,
            valid_until: c.valid_until.map(|t| t.to_string()),
            created_at: c.created_at.to_string(),
            used_at: c.used_at.map(|t| t.to_string()),
            revoked_at: c.revoked_at.map(|t| t.to_string()),
        }
    }
}

/// The signed-in citizen lets an agency or an enterprise read named fields of their record
/// for a purpose, once or until a time.
#[utoipa::path(post, path = "/api/v1/me/consents", tag = "identity", security(("bearer" = [])), request_body = NewConsent,
    responses(
        (status = 201, body = ConsentView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_consent(
    State(state): State<AppState>,
    caller: Caller,
    _session: CitizenSession,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<NewConsent>,
) -> ApiResult<(StatusCode, Json<ConsentView>)> {
    let grantee = match (&body.agency_code, &body.enterprise_tax_code) {
        (Some(code), None) => consents::Grantee::Agency(code),
        (None, Some(tax_code)) => consents::Grantee::Enterprise(tax_code),
        _ => return Err(AppError::unprocessable("invalid_grantee").field("agency_code")),
    };
    let consent = consents::NewConsent {
        grantee,
        purpose: &body.purpose,
        fields: &body.fields,
        one_off: body.one_off,
        valid_until: body.valid_until.as_deref(),
    };
    let who = Acting::new(&caller.0, addr.as_deref());
    let consent = consents::give(&state, who, consent).await?;
    Ok((StatusCode::CREATED, Json(consent.into())))
}

/// The signed-in citizen's consents, newest first, live or not.
#[utoipa::path(get, path = "/api/v1/me/consents", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = Vec<ConsentView>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list_consents(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ConsentView>>> {
    let consents = sohoa_app::consents::list(&state, &caller.0).await?;
    Ok(Json(consents.into_iter().map(ConsentView::from).collect()))
}

/// Revokes one of the signed-in citizen's consents: the next read relying on it is refused.
#[utoipa::path(delete, path = "/api/v1/me/consents/{consent_id}", tag = "identity", security(("bearer" = [])),
    params(("consent_id" = i64, Path, description = "Consent identifier", example = 1)),
    responses((status = 204, description = "Revoked"), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_consent(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    axum::extract::Path(consent_id): axum::extract::Path<String>,
) -> ApiResult<StatusCode> {
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    sohoa_app::consents::revoke(&state, who, &consent_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    /// The application it is about.
    pub number: String,
    /// The status the application moved to.
    pub status: sohoa_domain::services::workflow::Status,
    pub created_at: String,
    pub read_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    pub unread: i64,
    /// Newest first, the latest 100.
    pub items: Vec<NotificationView>,
}

/// The signed-in citizen's inbox: a notification for every status change of their
/// applications.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = Inbox), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn notifications(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Inbox>> {
    let (items, unread) = accounts::notifications(&state, &caller.0).await?;
    Ok(Json(Inbox {
        unread,
        items: items
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                number: n.number.to_string(),
                status: n.status,
                created_at: n.created_at.to_string(),
                read_at: n.read_at.map(|t| t.to_string()),
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    pub marked: u64,
}

/// Marks every notification read.
#[utoipa::path(post, path = "/api/v1/me/notifications/read", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = MarkedRead), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn mark_notifications_read(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<MarkedRead>> {
    let marked = accounts::mark_notifications_read(&state, &caller.0).await?;
    Ok(Json(MarkedRead { marked }))
}
