//! Results signed by the deciding agency, verifiable by anyone: with this API, or with
//! `openssl` and the city CA's certificate (`/api/v1/pki/ca.pem`), nothing of ours needed.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use sohoa_app::applications::results as uc;
use sohoa_app::Acting;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ClientAddr};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultView {
    /// The result, exactly as signed (save it byte for byte to verify it).
    pub document: String,
    /// ECDSA P-256 with SHA-256, DER, base64.
    pub signature: String,
    /// The agency's certificate (PEM), issued by the city CA.
    pub certificate: String,
    /// The city CA's certificate (PEM).
    pub ca_certificate: String,
    pub issued_at: String,
}

/// The signed result of an application: for its applicant and the deciding staff.
#[utoipa::path(get, path = "/api/v1/applications/{number}/result", tag = "services", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    responses((status = 200, body = ResultView), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_result(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
) -> ApiResult<Json<ResultView>> {
    let r = uc::read(&state, Acting::new(&caller.0, addr.as_deref()), &number).await?;
    Ok(Json(ResultView {
        document: r.document,
        signature: r.signature,
        certificate: r.certificate,
        ca_certificate: r.ca_certificate,
        issued_at: r.issued_at.to_string(),
    }))
}

/// The city CA's certificate: the root to check agencies' certificates against.
#[utoipa::path(get, path = "/api/v1/pki/ca.pem", tag = "services",
    responses((status = 200, description = "PEM certificate", content_type = "application/x-pem-file")))]
pub async fn ca_pem(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok((
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        uc::ca_pem(&state).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"document": "{\"type\":\"sohoa-result/1\",\"number\":\"HS0A1B2C3D4E\"}",
    "signature": "MEUCIQDx"}))]
pub struct VerifyRequest {
    /// The document, byte for byte as issued.
    pub document: String,
    /// Its signature, base64 (DER).
    pub signature: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// The signature is the named agency's over exactly this document, and the platform
    /// issued it.
    pub valid: bool,
    pub number: Option<String>,
    pub agency_code: Option<String>,
    pub decision: Option<String>,
    pub issued_at: Option<String>,
}

/// Checks a result for anyone: is this document signed by the agency it names, and was it
/// issued here?
#[utoipa::path(post, path = "/api/v1/results/verify", tag = "services",
    request_body = VerifyRequest,
    responses((status = 200, body = Verification), (status = 400, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> ApiResult<Json<Verification>> {
    let verified = uc::verify(&state, &req.document, &req.signature).await?;
    Ok(Json(match verified {
        Some(v) => Verification {
            valid: true,
            number: Some(v.number),
            agency_code: Some(v.agency_code),
            decision: Some(v.decision),
            issued_at: Some(v.issued_at),
        },
        None => Verification {
            valid: false,
            number: None,
            agency_code: None,
            decision: None,
            issued_at: None,
        },
    }))
}
