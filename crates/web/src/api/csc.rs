//! The Cloud Signature Consortium API v2 (`/csc/v2/...`), as sohoa's own remote signing
//! service answers it; the bearer token is the person's session. Refusals are CSC's
//! `{"error", "error_description"}` with status 400. Also the enrolment that gives a person
//! their key, and the client side: an applicant signs their form through the configured
//! provider.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use sohoa_app::csc::{self as uc, CscError};
use sohoa_app::Acting;
use sohoa_storage::credentials::Credential;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ClientAddr};
use crate::AppState;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// ECDSA with SHA-256, and the curve's key: what sohoa's keys are.
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";

fn csc_error(e: CscError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": e.error, "error_description": e.description})),
    )
        .into_response()
}

/// What the service is (CSC v2 `info`).
#[utoipa::path(post, path = "/csc/v2/info", tag = "signatures",
    responses((status = 200, description = "The service's description")))]
pub async fn info(State(state): State<AppState>) -> Json<serde_json::Value> {
    let base = state.config.public_url.clone().unwrap_or_default();
    Json(json!({
        "specs": "2.0.0.2",
        "name": "sohoa remote signing",
        "logo": format!("{base}/static/logo.svg"),
        "region": "VN",
        "lang": "vi",
        "description": "Ký số từ xa của thành phố / The city's remote signing service",
        "authType": ["external"],
        "methods": ["credentials/list", "credentials/info", "credentials/authorize", "signatures/signHash"],
        "signAlgorithms": {"algos": [ECDSA_SHA256]}
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"maxResults": 10}))]
pub struct ListRequest {
    #[serde(default, rename = "userID")]
    pub user_id: Option<String>,
    #[serde(default)]
    pub max_results: Option<u32>,
}

/// The signed-in person's credentials that can sign.
#[utoipa::path(post, path = "/csc/v2/credentials/list", tag = "signatures", security(("bearer" = [])),
    request_body = ListRequest,
    responses((status = 200, description = "`credentialIDs`"), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(_req): ApiJson<ListRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let found = uc::list(&state, &caller.0).await?;
    let ids: Vec<String> = found.into_iter().map(|c| c.id).collect();
    Ok(Json(json!({"credentialIDs": ids})))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"credentialID": "cred_0123456789abcdef01234567", "certificates": "chain",
    "certInfo": true, "authInfo": true}))]
pub struct InfoRequest {
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// `none`, `single` or `chain`.
    #[serde(default)]
    pub certificates: Option<String>,
    #[serde(default)]
    pub cert_info: Option<bool>,
    #[serde(default)]
    pub auth_info: Option<bool>,
}

fn credential_json(c: &Credential, certificates: &str) -> serde_json::Value {
    let der = sohoa_sign::x509::pem_certificates(&c.cert_pem)
        .into_iter()
        .next()
        .unwrap_or_default();
    let parsed = sohoa_sign::x509::Certificate::parse(&der).ok();
    let status = if c.revoked {
        "revoked"
    } else if c.not_after <= sohoa_domain::Timestamp::now() {
        "expired"
    } else {
        "valid"
    };
    let certs: Vec<String> = match certificates {
        "none" => Vec::new(),
        _ => vec![B64.encode(&der)],
    };
    json!({
        "key": {"status": if status == "valid" { "enabled" } else { "disabled" },
                "algo": ["1.2.840.10045.2.1", ECDSA_SHA256], "len": 256,
                "curve": "1.2.840.10045.3.1.7"},
        "cert": {
            "status": status,
            "certificates": certs,
            "serialNumber": c.serial.to_string(),
            "subjectDN": parsed.as_ref().map(|p| p.subject_name().full).unwrap_or_default(),
            "issuerDN": parsed.as_ref().map(|p| p.issuer_name().full).unwrap_or_default(),
            "validTo": c.not_after.to_string(),
        },
        "authMode": "explicit",
        "PIN": {"presence": "true", "format": "A", "label": "Mật khẩu / Password"},
        "OTP": {"presence": "true", "type": "offline", "ID": "totp", "format": "N",
                "label": "Mã một lần / One-time code"},
        "multisign": uc::MAX_HASHES,
        "lang": "vi"
    })
}

/// One credential: its key, certificate and how it is authorized.
#[utoipa::path(post, path = "/csc/v2/credentials/info", tag = "signatures", security(("bearer" = [])),
    request_body = InfoRequest,
    responses((status = 200, description = "The credential"), (status = 400, description = "CSC error"),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn credential_info(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<InfoRequest>,
) -> ApiResult<Response> {
    Ok(
        match uc::info(&state, &caller.0, &req.credential_id).await? {
            Some(c) => Json(credential_json(
                &c,
                req.certificates.as_deref().unwrap_or("single"),
            ))
            .into_response(),
            None => csc_error(CscError {
                error: "invalid_request",
                description: "Invalid parameter credentialID",
            }),
        },
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"credentialID": "cred_0123456789abcdef01234567", "numSignatures": 1,
    "hashes": ["sTOgwOm+474gFj0q0x1iSNspKqbcse4IeiqlDg/HWuI="],
    "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "PIN": "mat-khau-cua-ban", "OTP": "123456"}))]
pub struct AuthorizeRequest {
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    pub num_signatures: u32,
    /// Base64 of each SHA-256 digest to be signed.
    pub hashes: Vec<String>,
    #[serde(default, rename = "hashAlgorithmOID")]
    pub hash_algorithm_oid: Option<String>,
    /// The person's password.
    #[serde(rename = "PIN")]
    pub pin: String,
    /// A current one-time code of their authenticator app.
    #[serde(rename = "OTP")]
    pub otp: String,
}

/// Authorizes the signature of the hashes named, with the person's password and one-time
/// code: the SAD, good for five minutes and those hashes, once.
#[utoipa::path(post, path = "/csc/v2/credentials/authorize", tag = "signatures", security(("bearer" = [])),
    request_body = AuthorizeRequest,
    responses((status = 200, description = "`SAD` and `expiresIn`"), (status = 400, description = "CSC error"),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn authorize(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<AuthorizeRequest>,
) -> ApiResult<Response> {
    if req
        .hash_algorithm_oid
        .as_deref()
        .is_some_and(|o| o != SHA256)
        || usize::try_from(req.num_signatures).ok() != Some(req.hashes.len())
    {
        return Ok(csc_error(CscError {
            error: "invalid_request",
            description: "Invalid parameter hashAlgorithmOID or numSignatures",
        }));
    }
    let who = Acting::new(&caller.0, addr.as_deref());
    Ok(
        match uc::authorize(
            &state,
            who,
            &req.credential_id,
            &req.hashes,
            &req.pin,
            &req.otp,
        )
        .await?
        {
            Ok((sad, expires)) => Json(json!({"SAD": sad, "expiresIn": expires})).into_response(),
            Err(e) => csc_error(e),
        },
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"credentialID": "cred_0123456789abcdef01234567",
    "SAD": "0f3a9c0f3a9c0f3a9c0f3a9c0f3a9c0f3a9c0f3a9c0f3a9c0f3a9c0f3a9c0f3a",
    "hashes": ["sTOgwOm+474gFj0q0x1iSNspKqbcse4IeiqlDg/HWuI="],
    "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2"}))]
pub struct SignHashRequest {
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    #[serde(rename = "SAD")]
    pub sad: String,
    pub hashes: Vec<String>,
    #[serde(default, rename = "hashAlgorithmOID")]
    pub hash_algorithm_oid: Option<String>,
    pub sign_algo: String,
}

/// Signs the hashes an authorization named: ECDSA P-256 signatures, DER, base64, in order.
#[utoipa::path(post, path = "/csc/v2/signatures/signHash", tag = "signatures", security(("bearer" = [])),
    request_body = SignHashRequest,
    responses((status = 200, description = "`signatures`"), (status = 400, description = "CSC error"),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn sign_hash(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<SignHashRequest>,
) -> ApiResult<Response> {
    if req.sign_algo != ECDSA_SHA256
        || req
            .hash_algorithm_oid
            .as_deref()
            .is_some_and(|o| o != SHA256)
    {
        return Ok(csc_error(CscError {
            error: "invalid_request",
            description: "Invalid parameter signAlgo",
        }));
    }
    let who = Acting::new(&caller.0, addr.as_deref());
    Ok(
        match uc::sign_hash(&state, who, &req.credential_id, &req.sad, &req.hashes).await? {
            Ok(sigs) => Json(json!({"signatures": sigs})).into_response(),
            Err(e) => csc_error(e),
        },
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "mat-khau-cua-ban", "totp": "123456"}))]
pub struct EnrolRequest {
    /// The account's password: the key is wrapped under it.
    pub password: String,
    /// A current one-time code (two-step verification must be on).
    pub totp: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialView {
    pub credential_id: String,
    pub serial: String,
    /// The certificate the city CA issued, PEM.
    pub certificate_pem: String,
    pub not_after: String,
}

/// The signed-in citizen gets a remote signing key and certificate (confirmed with their
/// password and a one-time code); they sign with it through the CSC API.
#[utoipa::path(post, path = "/api/v1/me/signing-credentials", tag = "signatures", security(("bearer" = [])),
    request_body = EnrolRequest,
    responses((status = 201, body = CredentialView), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn enrol(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> ApiResult<(StatusCode, Json<CredentialView>)> {
    let who = Acting::new(&caller.0, addr.as_deref());
    match uc::enrol(&state, who, &req.password, &req.totp).await? {
        Ok(c) => Ok((
            StatusCode::CREATED,
            Json(CredentialView {
                credential_id: c.id,
                serial: c.serial.to_string(),
                certificate_pem: c.cert_pem,
                not_after: c.not_after.to_string(),
            }),
        )),
        Err(e) => Err(AppError::unprocessable("remote_signing_refused").detail(e.description)),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"provider_token": "the bearer token of the provider", "pin": "mat-khau", "otp": "123456"}))]
pub struct RemoteSignRequest {
    /// The applicant's authorization at the signing provider (its bearer token).
    pub provider_token: String,
    /// Which of their credentials; the first that can sign when absent.
    #[serde(default)]
    pub credential_id: Option<String>,
    /// Their password (PIN) at the provider.
    pub pin: String,
    /// A current one-time code for the provider.
    pub otp: String,
}

/// The applicant signs their form through the city's configured remote signing provider
/// (CSC API v2): the provider signs the form's hash after their password and one-time code;
/// the signed form is time-stamped, checked and kept like an uploaded one.
#[utoipa::path(post, path = "/api/v1/applications/{number}/signature/remote", tag = "signatures", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    request_body = RemoteSignRequest,
    responses((status = 201, body = super::signatures::FormSignatureView),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody), (status = 502, body = crate::error::ErrorBody)))]
pub async fn sign_remotely(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
    ApiJson(req): ApiJson<RemoteSignRequest>,
) -> ApiResult<(StatusCode, Json<super::signatures::FormSignatureView>)> {
    let Some(base) = state.config.csc_url.clone() else {
        return Err(AppError::conflict("remote_signing_unavailable"));
    };
    let provider = crate::csc_client::Provider::new(&base, &req.provider_token)?;
    let credential = provider.credential(req.credential_id.as_deref()).await?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let form = sohoa_app::applications::signing::prepare_remote(
        &state,
        who,
        &number,
        credential.certificate.clone(),
        credential.chain.clone(),
    )
    .await?;
    let signature = provider
        .sign(&credential.id, &form.hash(), &req.pin, &req.otp)
        .await?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let sig = sohoa_app::applications::signing::finish_remote(&state, who, form, signature).await?;
    Ok((StatusCode::CREATED, Json(sig.into())))
}
