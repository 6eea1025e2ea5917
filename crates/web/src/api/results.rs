//! Results signed by the deciding agency, verifiable by anyone: with this API, or with
//! `openssl` and the city CA's certificate (`/api/v1/pki/ca.pem`), nothing of ours needed.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::policy::Action;
use sohoa_domain::services::procedure::Procedure;
use sohoa_storage::applications::Application;
use sohoa_storage::pki::{self, SignedResult};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ClientAddr};
use crate::AppState;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What a result says. Serialized once; the exact bytes are what is signed and kept.
#[derive(Debug, Serialize, Deserialize)]
struct ResultDocument {
    #[serde(rename = "type")]
    kind: String,
    number: String,
    procedure_code: String,
    procedure_version: i64,
    procedure_name_vi: String,
    procedure_name_en: String,
    applicant: String,
    agency_code: String,
    agency_name: String,
    decision: String,
    decided_at: Option<String>,
    issued_at: String,
}

/// Signs the result of `app` (approved or rejected) with its agency's key.
pub(crate) async fn sign(
    state: &AppState,
    app: &Application,
    procedure: &Procedure,
    issued_at: &str,
) -> Result<SignedResult, AppError> {
    let code = AgencyCode::parse(&app.agency_code)
        .map_err(|_| AppError::internal("a stored agency code does not parse"))?;
    let agency = sohoa_storage::agencies::get(&state.db, &code)
        .await?
        .ok_or_else(|| AppError::internal("the deciding agency vanished"))?;
    let doc = ResultDocument {
        kind: "sohoa-result/1".into(),
        number: app.number.clone(),
        procedure_code: app.procedure_code.clone(),
        procedure_version: app.procedure_version,
        procedure_name_vi: procedure.name_vi.clone(),
        procedure_name_en: procedure.name_en.clone(),
        applicant: app.applicant.clone(),
        agency_code: app.agency_code.clone(),
        agency_name: agency.name_vi.clone(),
        decision: app.status.as_str().to_owned(),
        decided_at: app.decided_at.clone(),
        issued_at: issued_at.to_owned(),
    };
    let document = serde_json::to_string(&doc).map_err(AppError::internal)?;
    let key = pki::agency_key(&state.db, &app.agency_code, &agency.name_vi).await?;
    let signature = key.sign(document.as_bytes())?;
    Ok(SignedResult {
        number: app.number.clone(),
        document,
        signature: B64.encode(signature),
        signer: app.agency_code.clone(),
        issued_at: issued_at.to_owned(),
    })
}

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
    let app =
        super::applications::load_for(&state, &caller, &number, Action::ReadApplication).await?;
    let r = pki::result(&state.db, &app.number)
        .await?
        .ok_or_else(|| AppError::not_found("result_not_found"))?;
    // The result names the applicant: staff reading it is a read of personal data.
    super::applications::audit_read(&state, &caller, addr, &app).await?;
    let key = pki::existing(&state.db, &r.signer)
        .await?
        .ok_or_else(|| AppError::internal("a result's signing key is missing"))?;
    let ca = pki::city_ca(&state.db).await?;
    Ok(Json(ResultView {
        document: r.document,
        signature: r.signature,
        certificate: key.cert_pem,
        ca_certificate: ca.cert_pem,
        issued_at: r.issued_at,
    }))
}

/// The city CA's certificate: the root to check agencies' certificates against.
#[utoipa::path(get, path = "/api/v1/pki/ca.pem", tag = "services",
    responses((status = 200, description = "PEM certificate", content_type = "application/x-pem-file")))]
pub async fn ca_pem(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let ca = pki::city_ca(&state.db).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        ca.cert_pem,
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
    let invalid = Verification {
        valid: false,
        number: None,
        agency_code: None,
        decision: None,
        issued_at: None,
    };
    let Ok(signature) = B64.decode(req.signature.trim()) else {
        return Ok(Json(invalid));
    };
    let Ok(doc) = serde_json::from_str::<ResultDocument>(&req.document) else {
        return Ok(Json(invalid));
    };
    let Some(key) = pki::existing(&state.db, &doc.agency_code).await? else {
        return Ok(Json(invalid));
    };
    let issued = pki::result(&state.db, &doc.number)
        .await?
        .is_some_and(|r| r.document == req.document);
    if !issued || !key.verifies(req.document.as_bytes(), &signature) {
        return Ok(Json(invalid));
    }
    Ok(Json(Verification {
        valid: true,
        number: Some(doc.number),
        agency_code: Some(doc.agency_code),
        decision: Some(doc.decision),
        issued_at: Some(doc.issued_at),
    }))
}
