//! Once-only sharing: agencies' keys and grants, enterprises' keys (administrators), and the
//! share endpoint data consumers call. Every read of personal data, granted or denied, is in
//! the audit log before the answer leaves.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::sharing as uc;
use sohoa_app::Acting;
use sohoa_domain::sharing::{Grant, RegistryName};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, AppError};

use crate::auth::Caller;
use crate::extract::{ApiJson, ApiQuery, ClientAddr, ConsumerCaller};
use crate::AppState;

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
    let who = Acting::new(&caller.0, addr.as_deref());
    Ok(new_key(uc::issue_agency_key(&state, who, &code).await?))
}

/// A key just issued, shown this once.
fn new_key(k: uc::NewKey) -> (StatusCode, Json<NewKey>) {
    let key = NewKey {
        key_id: k.key_id,
        api_key: k.api_key,
    };
    (StatusCode::CREATED, Json(key))
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
    let who = Acting::new(&caller.0, addr.as_deref());
    Ok(new_key(
        uc::issue_enterprise_key(&state, who, &tax_code).await?,
    ))
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
    let who = Acting::new(&caller.0, addr.as_deref());
    uc::revoke_enterprise_key(&state, who, &tax_code, &key_id).await?;
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
    let who = Acting::new(&caller.0, addr.as_deref());
    uc::revoke_agency_key(&state, who, &code, &key_id).await?;
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
            agency_code: g.agency_code.to_string(),
            registry: g.registry,
            purpose: g.purpose.as_str().to_owned(),
            fields: g.fields,
            legal_basis: g.legal_basis,
            created_at: g.created_at.to_string(),
            revoked_at: g.revoked_at.map(|t| t.to_string()),
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
    let grant = uc::NewGrant {
        registry: body.registry,
        purpose: &body.purpose,
        fields: &body.fields,
        legal_basis: &body.legal_basis,
    };
    let who = Acting::new(&caller.0, addr.as_deref());
    let grant = uc::create_grant(&state, who, &code, grant).await?;
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
    let grants = uc::grants(&state, &caller.0, &code).await?;
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
    let who = Acting::new(&caller.0, addr.as_deref());
    uc::revoke_grant(&state, who, &grant_id).await?;
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
    let who = Acting::new(caller.principal(), addr.as_deref());
    let asked = uc::ShareRequest {
        registry,
        id: &id,
        purpose: params.purpose.as_deref().unwrap_or_default(),
        fields: params.fields.as_deref(),
    };
    let shared = uc::share(&state, who, &caller.consumer, asked).await?;
    Ok(Json(Shared {
        registry,
        purpose: shared.purpose.as_str().to_owned(),
        id,
        version: shared.version,
        fields: shared.fields,
    }))
}

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
    let officer = crate::auth::officer(&headers);
    let issued = uc::issue_token(&state, &client_id, &secret, officer, addr.as_deref()).await;
    let token = match issued {
        Ok(t) => t,
        Err(e) if e.kind == sohoa_app::Kind::Unauthenticated => {
            return Ok(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client, wrong secret or revoked key",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    Ok((
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(AccessToken {
            access_token: token.token,
            token_type: "Bearer",
            expires_in: token.expires_in.as_secs(),
        }),
    )
        .into_response())
}
