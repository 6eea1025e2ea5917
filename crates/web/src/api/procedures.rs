//! The procedure catalog over the API: anyone browses and searches it (without diacritics
//! too); authorised staff save new versions.

use axum::extract::{Path, State};

use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::catalog as uc;
use sohoa_app::Acting;
use sohoa_domain::paging::PageRequest;
use sohoa_domain::services::procedure::{Level, Procedure, ProcedureCode};
use sohoa_storage::procedures as store;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureView {
    pub version: i64,
    pub changed_at: String,
    #[serde(flatten)]
    pub procedure: Procedure,
    /// The fee payable today (0 when free or waived).
    pub fee_today: i64,
    /// The waiver in force today, if any.
    pub waived_today: bool,
}

impl From<store::Versioned> for ProcedureView {
    fn from(v: store::Versioned) -> Self {
        let due = v.procedure.fee_on(super::today());
        Self {
            version: v.version,
            changed_at: v.changed_at.to_string(),
            fee_today: due.as_ref().map_or(0, |d| d.payable().dong()),
            waived_today: due.as_ref().is_some_and(|d| d.waived_by.is_some()),
            procedure: v.procedure,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedurePage {
    pub items: Vec<ProcedureView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProcedureListParams {
    /// Words of the code or the name, with or without diacritics.
    pub q: Option<String>,
    /// `city` or `commune`.
    #[param(value_type = Option<sohoa_domain::services::procedure::Level>)]
    pub level: Option<String>,
    /// The deciding agency's code.
    #[param(value_type = Option<sohoa_domain::agency::AgencyCode>)]
    pub agency: Option<String>,
    #[param(minimum = 1)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

pub async fn list_page(
    state: &AppState,
    p: &ProcedureListParams,
) -> Result<ProcedurePage, AppError> {
    let level = match p.level.as_deref().filter(|l| !l.is_empty()) {
        None => None,
        Some("city") => Some(Level::City),
        Some("commune") => Some(Level::Commune),
        Some(_) => {
            return Err(AppError::bad_request("invalid_query")
                .arg("detail", "level")
                .field("level"))
        }
    };
    let page = PageRequest::parse(p.page, p.per_page)
        .map_err(|_| AppError::bad_request("invalid_page"))?;
    let agency = p.agency.as_deref().filter(|a| !a.is_empty());
    let found = uc::list(state, p.q.as_deref(), level, agency, page)
        .await?
        .map(ProcedureView::from);
    Ok(ProcedurePage {
        items: found.items,
        total: found.total,
        page: found.page,
        per_page: found.per_page,
    })
}

/// The catalog, by code; searchable without diacritics ("dang ky khai sinh").
#[utoipa::path(get, path = "/api/v1/procedures", tag = "services", params(ProcedureListParams),
    responses((status = 200, body = ProcedurePage), (status = 400, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ProcedureListParams>,
) -> ApiResult<Json<ProcedurePage>> {
    Ok(Json(list_page(&state, &p).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParam {
    /// A past version (default: the one in force).
    pub version: Option<i64>,
}

fn parse_code(code: &str) -> Result<ProcedureCode, AppError> {
    ProcedureCode::parse(code)
        .ok_or_else(|| AppError::bad_request("invalid_procedure_code").field("code"))
}

/// One procedure: the version in force, or a past one.
#[utoipa::path(get, path = "/api/v1/procedures/{code}", tag = "services",
    params(("code" = sohoa_domain::services::procedure::ProcedureCode, Path, description = "Procedure code"), VersionParam),
    responses((status = 200, body = ProcedureView), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_procedure(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(v): ApiQuery<VersionParam>,
) -> ApiResult<Json<ProcedureView>> {
    let code = parse_code(&code)?;
    Ok(Json(uc::get(&state, &code, v.version).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Saved {
    pub code: String,
    pub version: i64,
    /// False when the body equalled the version in force (nothing was saved).
    pub changed: bool,
}

/// Saves a procedure (new, or the next version of one). Applications keep the version they
/// were filed under.
#[utoipa::path(put, path = "/api/v1/procedures/{code}", tag = "services", security(("bearer" = [])),
    params(("code" = sohoa_domain::services::procedure::ProcedureCode, Path, description = "Procedure code")), request_body = Procedure,
    responses(
        (status = 200, body = Saved),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn put_procedure(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<Procedure>,
) -> ApiResult<Json<Saved>> {
    let code = parse_code(&code)?;
    if body.code != code {
        return Err(AppError::unprocessable("invalid_procedure_code").field("code"));
    }
    let who = Acting::new(&caller.0, addr.as_deref());
    let saved = uc::save(&state, who, body).await?;
    Ok(Json(Saved {
        code: code.to_string(),
        version: saved.version,
        changed: saved.changed,
    }))
}
