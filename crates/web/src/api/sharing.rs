//! Once-only sharing: agencies' keys and grants, enterprises' keys (administrators), and the
//! share endpoint data consumers call. Every read of personal data, granted or denied, is in
//! the audit log before the answer leaves.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::{AuditRecord, Outcome};
use sohoa_domain::sharing::{parse_fields, Consumer, Grant, Purpose, RegistryName, SharingError};
use sohoa_domain::{CitizenId, TaxCode};
use sohoa_storage::registry::{citizens, enterprises, parcels};
use sohoa_storage::sharing::KeyKind;
use sohoa_storage::{agencies, sharing, StorageError};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, AppError};
use sohoa_domain::policy::{Action, Target};

use crate::auth::Caller;
use crate::extract::{ApiJson, ApiQuery, ClientAddr, ConsumerCaller};
use crate::AppState;

fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(AppError::internal)?;
    Ok(hex::encode(buf))
}

async fn existing_agency(state: &AppState, code: &str) -> Result<AgencyCode, AppError> {
    let code = AgencyCode::parse(code)
        .map_err(|_| AppError::bad_request("invalid_agency_code").field("code"))?;
    if agencies::get(&state.db, &code).await?.is_none() {
        return Err(AppError::not_found("agency_not_found"));
    }
    Ok(code)
}

/// Parses field names of a registry; the error (with `status`) names the first unknown one.
pub(crate) fn field_list<S: AsRef<str>>(
    registry: RegistryName,
    names: &[S],
    status: StatusCode,
) -> Result<Vec<&'static str>, AppError> {
    parse_fields(registry, names).map_err(|e| {
        let name = match e {
            SharingError::UnknownField(i) => names.get(i).map_or("", AsRef::as_ref),
            _ => "",
        };
        AppError::new(status, "invalid_field")
            .arg("field", name)
            .field("fields")
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewKey {
    /// Public identifier of the key, for revoking it.
    pub key_id: String,
    /// The key itself, shown this once: present it as `Authorization: Bearer <api_key>`.
    pub api_key: String,
}

/// Issues an API key to an agency (administrators only). Only a digest is stored.
#[utoipa::path(post, path = "/api/v1/agencies/{code}/keys", tag = "sharing", security(("bearer" = [])),
    params(("code" = sohoa_domain::agency::AgencyCode, Path, description = "Agency code")),
    responses(
        (status = 201, body = NewKey),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let code = existing_agency(&state, &code).await?;
    caller.authorize(Action::ManageAgencyAccess, &Target::agency(&code))?;
    let record = |key_id: &str| {
        AuditRecord::new(caller.actor(), "agency_key.create", "agency_key", key_id)
            .actor_unit(Some(code.to_string()))
            .client_addr(addr)
    };
    issue_key(&state, KeyKind::Agency, code.as_str(), record).await
}

/// Makes a key for an agency or enterprise, stores its digest with the audit entry that
/// `record` makes of the key's id, and shows the key this once.
async fn issue_key(
    state: &AppState,
    kind: KeyKind,
    owner: &str,
    record: impl FnOnce(&str) -> AuditRecord,
) -> ApiResult<(StatusCode, Json<NewKey>)> {
    let key_id = random_hex(8)?;
    let secret = random_hex(32)?;
    let digest = hex::encode(crate::token_digest(&secret));
    let record = record(&key_id);
    let mut tx = state.db.begin().await?;
    sharing::create_key(&mut tx, kind, &key_id, owner, &digest, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    let api_key = format!("{}{key_id}_{secret}", crate::auth::key_prefix(kind));
    Ok((StatusCode::CREATED, Json(NewKey { key_id, api_key })))
}

/// Why an enterprise may not hold keys or be named in a consent (an error code), or `None`
/// when it may: it is in the registry and still trading.
pub(crate) async fn enterprise_refusal(
    state: &AppState,
    tax_code: &TaxCode,
) -> Result<Option<&'static str>, AppError> {
    Ok(match enterprises::get(&state.db, tax_code).await? {
        None => Some("enterprise_not_found"),
        Some(e) if e.enterprise.status != "active" => Some("enterprise_not_trading"),
        Some(_) => None,
    })
}

/// Issues an API key to an enterprise of the registry (city administrators only). With it
/// the enterprise reads citizens' fields where, and only where, a citizen consented to it.
/// Only a digest is stored; the key is `sohoe_<key_id>_<secret>`.
#[utoipa::path(post, path = "/api/v1/enterprise-consumers/{tax_code}/keys", tag = "sharing", security(("bearer" = [])),
    params(("tax_code" = sohoa_domain::TaxCode, Path, description = "The enterprise's tax code (MST)")),
    responses(
        (status = 201, body = NewKey),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, description = "No such enterprise in the registry", body = crate::error::ErrorBody),
        (status = 422, description = "The enterprise is not trading", body = crate::error::ErrorBody)))]
pub async fn create_enterprise_key(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(tax_code): Path<String>,
) -> ApiResult<impl IntoResponse> {
    caller.authorize(Action::ManageEnterpriseAccess, &Target::default())?;
    // A malformed tax code names no enterprise of the registry.
    let tax_code =
        TaxCode::parse(&tax_code).map_err(|_| AppError::not_found("enterprise_not_found"))?;
    match enterprise_refusal(&state, &tax_code).await? {
        Some("enterprise_not_found") => return Err(AppError::not_found("enterprise_not_found")),
        Some(refusal) => return Err(AppError::unprocessable(refusal).field("tax_code")),
        None => {}
    }
    let record = |key_id: &str| {
        AuditRecord::new(
            caller.actor(),
            "enterprise_key.create",
            "enterprise_key",
            key_id,
        )
        .fields([format!("tax_code={tax_code}")])
        .client_addr(addr)
    };
    issue_key(&state, KeyKind::Enterprise, tax_code.as_str(), record).await
}

/// Revokes an enterprise's API key (city administrators only); effective on the next request.
#[utoipa::path(delete, path = "/api/v1/enterprise-consumers/{tax_code}/keys/{key_id}", tag = "sharing", security(("bearer" = [])),
    params(("tax_code" = sohoa_domain::TaxCode, Path, description = "The enterprise's tax code (MST)"), ("key_id" = String, Path, description = "Key identifier", example = "k0f3a9c")),
    responses((status = 204, description = "Revoked"), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_enterprise_key(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path((tax_code, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::ManageEnterpriseAccess, &Target::default())?;
    let record = AuditRecord::new(
        caller.actor(),
        "enterprise_key.revoke",
        "enterprise_key",
        &key_id,
    )
    .fields([format!("tax_code={tax_code}")])
    .client_addr(addr);
    let tax_code = TaxCode::parse(&tax_code).map_err(|_| AppError::not_found("key_not_found"))?;
    let mut tx = state.db.begin().await?;
    if !sharing::revoke_key(
        &mut tx,
        KeyKind::Enterprise,
        tax_code.as_str(),
        &key_id,
        record,
    )
    .await?
    {
        return Err(AppError::not_found("key_not_found"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    state.sharing.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes an agency's API key (administrators only); effective on the next request.
#[utoipa::path(delete, path = "/api/v1/agencies/{code}/keys/{key_id}", tag = "sharing", security(("bearer" = [])),
    params(("code" = sohoa_domain::agency::AgencyCode, Path, description = "Agency code"), ("key_id" = String, Path, description = "Key identifier", example = "k0f3a9c")),
    responses((status = 204, description = "Revoked"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path((code, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let code = existing_agency(&state, &code).await?;
    caller.authorize(Action::ManageAgencyAccess, &Target::agency(&code))?;
    let record = AuditRecord::new(caller.actor(), "agency_key.revoke", "agency_key", &key_id)
        .actor_unit(Some(code.to_string()))
        .client_addr(addr);
    let mut tx = state.db.begin().await?;
    if !sharing::revoke_key(&mut tx, KeyKind::Agency, code.as_str(), &key_id, record).await? {
        return Err(AppError::not_found("key_not_found"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    state.sharing.clear();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub grant_id: i64,
    pub agency_code: String,
    pub registry: RegistryName,
    #[schema(example = "building-permit")]
    pub purpose: String,
    pub fields: Vec<String>,
    #[schema(example = "Nghị định 175/2024/NĐ-CP")]
    pub legal_basis: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<Grant> for GrantView {
    fn from(g: Grant) -> Self {
        Self {
            grant_id: g.grant_id,
            agency_code: g.agency_code,
            registry: g.registry,
            purpose: g.purpose.as_str().to_owned(),
            fields: g.fields,
            legal_basis: g.legal_basis,
            created_at: g.created_at,
            revoked_at: g.revoked_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    pub registry: RegistryName,
    /// A named legal purpose: 3-64 lower-case letters, digits, '-' or '_'.
    #[schema(value_type = sohoa_domain::sharing::Purpose)]
    pub purpose: String,
    #[schema(example = json!(["full_name", "permanent_address"]))]
    pub fields: Vec<String>,
    /// The legal document that allows the use.
    #[schema(example = "Nghị định 175/2024/NĐ-CP", max_length = 300)]
    pub legal_basis: String,
}

/// Grants an agency fields of a registry for a purpose (administrators only).
#[utoipa::path(post, path = "/api/v1/agencies/{code}/grants", tag = "sharing", security(("bearer" = [])),
    params(("code" = sohoa_domain::agency::AgencyCode, Path, description = "Agency code")), request_body = NewGrant,
    responses(
        (status = 201, body = GrantView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_grant(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<NewGrant>,
) -> ApiResult<impl IntoResponse> {
    let code = existing_agency(&state, &code).await?;
    caller.authorize(Action::ManageAgencyAccess, &Target::agency(&code))?;
    let purpose = Purpose::parse(&body.purpose)
        .map_err(|_| AppError::unprocessable("invalid_purpose").field("purpose"))?;
    let fields = field_list(
        body.registry,
        &body.fields,
        StatusCode::UNPROCESSABLE_ENTITY,
    )?;
    let legal_basis = sohoa_domain::registry::text_field("legal_basis", &body.legal_basis, 300)
        .map_err(|_| AppError::unprocessable("invalid_legal_basis").field("legal_basis"))?;
    let new = sharing::NewGrant {
        agency_code: code.as_str(),
        registry: body.registry,
        purpose: &purpose,
        fields: &fields,
        legal_basis: &legal_basis,
    };
    let record = AuditRecord::new(caller.actor(), "grant.create", "grant", "")
        .actor_unit(Some(code.to_string()))
        .client_addr(addr);
    let mut tx = state.db.begin().await?;
    let grant = sharing::create_grant(&mut tx, &new, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    state.sharing.clear();
    let location = format!("/api/v1/grants/{}", grant.grant_id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(GrantView::from(grant)),
    ))
}

/// An agency's grants, live and revoked (administrators only).
#[utoipa::path(get, path = "/api/v1/agencies/{code}/grants", tag = "sharing", security(("bearer" = [])),
    params(("code" = sohoa_domain::agency::AgencyCode, Path, description = "Agency code")),
    responses((status = 200, body = Vec<GrantView>), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list_grants(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<GrantView>>> {
    let code = existing_agency(&state, &code).await?;
    caller.authorize(Action::ReadAgencyAccess, &Target::agency(&code))?;
    let grants = sharing::grants_of(&state.db, code.as_str()).await?;
    Ok(Json(grants.into_iter().map(GrantView::from).collect()))
}

/// Revokes a grant (administrators only); effective on the next request.
#[utoipa::path(delete, path = "/api/v1/grants/{grant_id}", tag = "sharing", security(("bearer" = [])),
    params(("grant_id" = i64, Path, description = "Grant identifier", example = 1)),
    responses((status = 204, description = "Revoked"), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(grant_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = grant_id
        .parse()
        .map_err(|_| AppError::not_found("grant_not_found"))?;
    // Someone else's grant answers as a missing one, so ids say nothing across agencies.
    let grant = sharing::grant(&state.db, id)
        .await?
        .ok_or_else(|| AppError::not_found("grant_not_found"))?;
    let agency =
        sohoa_domain::agency::AgencyCode::parse(&grant.agency_code).map_err(AppError::internal)?;
    if caller
        .authorize(Action::ManageAgencyAccess, &Target::agency(&agency))
        .is_err()
    {
        return Err(AppError::not_found("grant_not_found"));
    }
    let record = AuditRecord::new(caller.actor(), "grant.revoke", "grant", id.to_string())
        .actor_unit(Some(grant.agency_code.clone()))
        .client_addr(addr);
    let mut tx = state.db.begin().await?;
    if !sharing::revoke_grant(&mut tx, id, record).await? {
        return Err(AppError::not_found("grant_not_found"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    state.sharing.clear();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShareParams {
    /// The named legal purpose of this read.
    #[param(value_type = sohoa_domain::sharing::Purpose, required = true)]
    pub purpose: Option<String>,
    /// Comma-separated fields wanted; default: every field granted for the purpose.
    pub fields: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Shared {
    pub registry: RegistryName,
    /// The record's identifier: a CCCD, a tax code or a parcel key.
    pub id: String,
    pub purpose: String,
    /// The record's version the fields come from.
    pub version: i64,
    /// Exactly the fields granted (or asked for, within the grant).
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A record's identifier, parsed.
enum RecordKey {
    Citizen(CitizenId),
    Enterprise(TaxCode),
    Parcel(String),
}

impl RecordKey {
    fn parse(registry: RegistryName, id: &str) -> Result<Self, AppError> {
        match registry {
            RegistryName::Citizens => CitizenId::parse(id)
                .map(RecordKey::Citizen)
                .map_err(|_| AppError::bad_request("invalid_citizen_id").field("id")),
            RegistryName::Enterprises => TaxCode::parse(id)
                .map(RecordKey::Enterprise)
                .map_err(|_| AppError::bad_request("invalid_tax_code").field("id")),
            RegistryName::Parcels => sohoa_domain::registry::parcel::parse_key(id)
                .map(RecordKey::Parcel)
                .ok_or_else(|| AppError::bad_request("invalid_parcel_key").field("id")),
        }
    }
}

/// Checks the purpose, the grant and the record, audits the outcome through the batched
/// writer, and answers only once the entry is durable.
async fn share(
    state: &AppState,
    caller: &ConsumerCaller,
    addr: Option<String>,
    registry: RegistryName,
    id: String,
    params: &ShareParams,
) -> ApiResult<Json<Shared>> {
    // The identifier is checked first: a malformed one reads nothing and is not worth an
    // audit entry (nor lets arbitrary text into the log).
    let key = RecordKey::parse(registry, &id)?;
    let purpose = Purpose::parse(params.purpose.as_deref().unwrap_or_default())
        .map_err(|_| AppError::bad_request("invalid_purpose").field("purpose"))?;
    let requested: Option<Vec<&'static str>> =
        match params.fields.as_deref().filter(|f| !f.trim().is_empty()) {
            None => None,
            Some(list) => {
                let names: Vec<&str> = list.split(',').collect();
                Some(field_list(registry, &names, StatusCode::BAD_REQUEST)?)
            }
        };
    let audit = |outcome: Outcome, fields: Vec<String>| {
        AuditRecord::new(
            caller.actor(),
            format!("{}.share", registry.object_type()),
            registry.object_type(),
            &id,
        )
        .actor_unit(caller.consumer.agency().map(ToString::to_string))
        .purpose(purpose.as_str())
        .fields(fields)
        .outcome(outcome)
        .client_addr(addr.clone())
    };
    // What the consumer may read: an agency's grants, and for a citizen's record the
    // citizen's own live consents (never cached, so a revocation counts from the next
    // request). Consents are looked up only when the grants do not answer the request by
    // themselves: with a grant and no `fields`, the answer is the granted fields. An
    // enterprise holds no grants.
    let granted = match &caller.consumer {
        Consumer::Agency(a) => {
            state
                .sharing
                .granted(&state.db, a.as_str(), registry, &purpose)
                .await?
        }
        Consumer::Enterprise(_) => Vec::new(),
    };
    let grants_suffice = match &requested {
        Some(r) => r.iter().all(|f| granted.iter().any(|g| g == f)),
        None => !granted.is_empty(),
    };
    let consents = match &key {
        RecordKey::Citizen(id) if !grants_suffice => {
            let now = sohoa_domain::Timestamp::now().to_string();
            sharing::live_consents(&state.db, id.as_str(), &caller.consumer, &purpose, &now).await?
        }
        _ => Vec::new(),
    };
    let mut allowed = granted.clone();
    for c in &consents {
        for f in &c.fields {
            if !allowed.contains(f) {
                allowed.push(f.clone());
            }
        }
    }
    let asked: Vec<String> = match &requested {
        Some(r) => r.iter().map(|f| (*f).to_owned()).collect(),
        None => allowed.clone(),
    };
    if allowed.is_empty() {
        state.audit.record(audit(Outcome::Denied, asked)).await?;
        return Err(AppError::new(StatusCode::FORBIDDEN, "no_grant"));
    }
    if let Some(f) = asked.iter().find(|f| !allowed.contains(f)) {
        let f = f.clone();
        state.audit.record(audit(Outcome::Denied, asked)).await?;
        return Err(AppError::new(StatusCode::FORBIDDEN, "field_not_granted")
            .arg("field", &f)
            .field("fields"));
    }
    // One-off consents this read relies on (fields no grant covers).
    let one_off: Vec<i64> = consents
        .iter()
        .filter(|c| {
            c.one_off
                && c.fields
                    .iter()
                    .any(|f| asked.contains(f) && !granted.contains(f))
        })
        .map(|c| c.consent_id)
        .collect();
    let found: Option<(serde_json::Value, i64)> = match &key {
        RecordKey::Citizen(id) => citizens::get(&state.db, id).await?.map(|s| {
            (
                serde_json::to_value(&s.citizen).unwrap_or_default(),
                s.version,
            )
        }),
        RecordKey::Enterprise(code) => enterprises::get(&state.db, code).await?.map(|s| {
            (
                serde_json::to_value(&s.enterprise).unwrap_or_default(),
                s.version,
            )
        }),
        RecordKey::Parcel(k) => parcels::get(&state.db, k).await?.map(|s| {
            (
                serde_json::to_value(&s.parcel).unwrap_or_default(),
                s.version,
            )
        }),
    };
    let Some((value, version)) = found else {
        state.audit.record(audit(Outcome::Failure, asked)).await?;
        return Err(AppError::not_found("record_not_found"));
    };
    let mut fields = serde_json::Map::new();
    if let serde_json::Value::Object(all) = value {
        for (k, v) in all {
            if asked.contains(&k) {
                fields.insert(k, v);
            }
        }
    }
    if one_off.is_empty() {
        state.audit.record(audit(Outcome::Success, asked)).await?;
    } else if !sharing::use_consents(&state.db, &one_off, &audit(Outcome::Success, asked.clone()))
        .await?
    {
        // Spent by a concurrent read (or revoked) after it was looked up: refused.
        state.audit.record(audit(Outcome::Denied, asked)).await?;
        return Err(AppError::new(StatusCode::FORBIDDEN, "no_grant"));
    }
    Ok(Json(Shared {
        registry,
        id,
        purpose: purpose.as_str().to_owned(),
        version,
        fields,
    }))
}

/// A record's granted or consented fields, for a stated purpose (agencies and enterprises,
/// with their API key; an enterprise reads only what citizens consented to). The registry is `citizens` (id: a CCCD), `enterprises` (a tax code) or `parcels`
/// (`unit-sheet-parcel`, e.g. 26743-12-345).
#[utoipa::path(get, path = "/api/v1/share/{registry}/{id}", tag = "sharing", security(("bearer" = [])),
    params(
        ("registry" = RegistryName, Path, description = "citizens, enterprises or parcels"),
        ("id" = String, Path, description = "CCCD, tax code or parcel key", example = "079185001234"),
        ShareParams),
    responses(
        (status = 200, body = Shared),
        (status = 400, description = "Malformed identifier, purpose or field", body = crate::error::ErrorBody),
        (status = 401, description = "Unknown agency or enterprise key", body = crate::error::ErrorBody),
        (status = 403, description = "No grant or consent for the purpose or a field (audited)", body = crate::error::ErrorBody),
        (status = 404, description = "No such registry, or no such record (audited)", body = crate::error::ErrorBody)))]
pub async fn share_record(
    State(state): State<AppState>,
    caller: ConsumerCaller,
    ClientAddr(addr): ClientAddr,
    Path((registry, id)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<ShareParams>,
) -> ApiResult<Json<Shared>> {
    let registry =
        RegistryName::parse(&registry).ok_or_else(|| AppError::not_found("not_found"))?;
    share(&state, &caller, addr, registry, id, &params).await
}

/// How long an access token from `/oauth/token` is good for.
const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

/// The form of a token request (RFC 6749 §4.4.2). The client may instead authenticate with
/// HTTP Basic (`client_id:client_secret`), but not both ways at once.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"grant_type": "client_credentials", "client_id": "sohoa_k0f3a9c",
    "client_secret": "not-the-secret"}))]
pub struct TokenRequest {
    /// `client_credentials`.
    pub grant_type: String,
    /// The key's public part: `sohoa_<key_id>` for an agency, `sohoe_<key_id>` for an
    /// enterprise.
    pub client_id: Option<String>,
    /// The key's secret: what follows `<client_id>_` in the API key.
    pub client_secret: Option<String>,
    /// Ignored: a token carries its key's grants and consents, no more and no less.
    pub scope: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessToken {
    /// Present it as `Authorization: Bearer <access_token>` wherever the key is accepted.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// An error as RFC 6749 §5.2 shapes it, which OAuth client libraries read.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client` or `unsupported_grant_type`.
    pub error: &'static str,
    pub error_description: &'static str,
}

fn oauth_error(status: StatusCode, error: &'static str, description: &'static str) -> Response {
    let mut res = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(OAuthError {
            error,
            error_description: description,
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"sohoa\""),
        );
    }
    res
}

/// The client's id and secret from an `Authorization: Basic` header, if there is one.
fn basic_credentials(headers: &HeaderMap) -> Option<Option<(String, String)>> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    Some(decoded.and_then(|d| {
        let (id, secret) = d.split_once(':')?;
        Some((id.to_owned(), secret.to_owned()))
    }))
}

/// OAuth 2.0 client credentials grant (RFC 6749 §4.4): an agency's or enterprise's system
/// trades its API key for a bearer token good for an hour. The token reads exactly what the
/// key reads, and stops working when the key is revoked. Every token issued is audited.
#[utoipa::path(post, path = "/oauth/token", tag = "sharing",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = AccessToken),
        (status = 400, description = "invalid_request or unsupported_grant_type", body = OAuthError),
        (status = 401, description = "invalid_client", body = OAuthError)))]
pub async fn token(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let bad = |description| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description);
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return Ok(bad("send the request as application/x-www-form-urlencoded"));
    }
    let mut form: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (k, v) in form_urlencoded::parse(&body) {
        // A parameter sent twice is refused (RFC 6749 §3.2).
        if form.insert(k.into_owned(), v.into_owned()).is_some() {
            return Ok(bad("a parameter is repeated"));
        }
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(_) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            ))
        }
        None => return Ok(bad("grant_type is required")),
    }
    let in_form = (form.get("client_id"), form.get("client_secret"));
    let (client_id, secret) = match (basic_credentials(&headers), in_form) {
        (Some(Some(pair)), (None, None)) => pair,
        (None, (Some(id), Some(secret))) => (id.clone(), secret.clone()),
        (Some(_), (Some(_), _) | (_, Some(_))) => {
            return Ok(bad(
                "authenticate either with HTTP Basic or in the form, not both",
            ))
        }
        _ => {
            return Ok(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client_id and client_secret are required",
            ))
        }
    };
    let invalid_client = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client, wrong secret or revoked key",
        )
    };
    let parsed = crate::auth::split_key_prefix(&client_id);
    let Some((kind, key_id)) = parsed.filter(|(_, id)| !id.is_empty() && !id.contains('_')) else {
        return Ok(invalid_client());
    };
    let owner = match crate::auth::key_owner(&state, kind, &format!("{key_id}_{secret}")).await {
        Ok(owner) => owner,
        Err(e) if e.status == StatusCode::UNAUTHORIZED => return Ok(invalid_client()),
        Err(e) => return Err(e),
    };
    let token = format!("{}{}", crate::auth::TOKEN_PREFIX, random_hex(32)?);
    let digest = hex::encode(crate::token_digest(&token));
    let expires_at = crate::auth::later(TOKEN_LIFETIME);
    let who = crate::auth::consumer(kind, &owner, &headers)?;
    let object_type = match kind {
        KeyKind::Agency => "agency_key",
        KeyKind::Enterprise => "enterprise_key",
    };
    let record = AuditRecord::new(who.actor(), "oauth_token.issue", object_type, key_id)
        .actor_unit(who.agency().map(ToString::to_string))
        .client_addr(addr);
    let mut tx = state.db.begin().await?;
    sharing::create_token(
        &mut tx,
        &digest,
        kind,
        key_id,
        &expires_at.to_string(),
        record,
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok((
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(AccessToken {
            access_token: token,
            token_type: "Bearer",
            expires_in: TOKEN_LIFETIME.as_secs(),
        }),
    )
        .into_response())
}
