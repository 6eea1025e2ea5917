//! Agencies: list, look up, register.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::agencies as uc;
use sohoa_app::Acting;
use sohoa_domain::agency::{Agency, AgencyLevel};
use sohoa_domain::paging::PageRequest;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyView {
    #[schema(example = "SO-TU-PHAP")]
    pub code: String,
    #[schema(example = "Sở Tư pháp")]
    pub name_vi: String,
    #[schema(example = "Department of Justice")]
    pub name_en: String,
    pub level: AgencyLevel,
    #[schema(example = "79")]
    pub unit_code: String,
}

impl From<Agency> for AgencyView {
    fn from(a: Agency) -> Self {
        Self {
            code: a.code.to_string(),
            name_vi: a.name_vi,
            name_en: a.name_en,
            level: a.level,
            unit_code: a.unit_code.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyPage {
    pub items: Vec<AgencyView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgencyListParams {
    /// Code or name (vi or en); diacritics and case are ignored.
    pub q: Option<String>,
    /// city or commune.
    #[param(value_type = Option<sohoa_domain::agency::AgencyLevel>)]
    pub level: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

pub async fn list_page(
    state: &AppState,
    params: &AgencyListParams,
) -> Result<AgencyPage, AppError> {
    let level = params
        .level
        .as_deref()
        .filter(|l| !l.is_empty())
        .map(|l| {
            AgencyLevel::parse(l).ok_or_else(|| {
                AppError::bad_request("invalid_query")
                    .arg("detail", "level")
                    .field("level")
            })
        })
        .transpose()?;
    let page = PageRequest::parse(params.page, params.per_page)
        .map_err(|_| AppError::bad_request("invalid_page"))?;
    let p = uc::list(state, params.q.as_deref(), level, page)
        .await?
        .map(AgencyView::from);
    Ok(AgencyPage {
        items: p.items,
        total: p.total,
        page: p.page,
        per_page: p.per_page,
    })
}

/// Agencies, filtered and paged.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "agencies", params(AgencyListParams), responses(
    (status = 200, body = AgencyPage),
    (status = 400, description = "A parameter is not valid", body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AgencyListParams>,
) -> ApiResult<Json<AgencyPage>> {
    Ok(Json(list_page(&state, &params).await?))
}

/// One agency.
#[utoipa::path(get, path = "/api/v1/agencies/{code}", tag = "agencies",
    params(("code" = sohoa_domain::agency::AgencyCode, Path, description = "Agency code")),
    responses(
        (status = 200, body = AgencyView),
        (status = 400, description = "Malformed code", body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_agency(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<AgencyView>> {
    Ok(Json(uc::get(&state, &code).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "SO-VH-TT", "name_vi": "Sở Văn hóa và Thể thao",
    "name_en": "Department of Culture and Sports", "level": "city", "unit_code": "79"}))]
pub struct NewAgency {
    #[schema(value_type = sohoa_domain::agency::AgencyCode)]
    pub code: String,
    #[schema(example = "Sở Xây dựng", max_length = 200)]
    pub name_vi: String,
    #[schema(example = "Department of Construction", max_length = 200)]
    pub name_en: String,
    pub level: AgencyLevel,
    /// 79 for a city-level agency; the commune's code for a People's Committee.
    #[schema(value_type = sohoa_domain::UnitCode)]
    pub unit_code: String,
}

/// Registers an agency (administrators only). The agency and its audit entry are stored
/// in one transaction.
#[utoipa::path(post, path = "/api/v1/agencies", tag = "agencies", request_body = NewAgency,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AgencyView),
        (status = 400, description = "Malformed JSON", body = crate::error::ErrorBody),
        (status = 401, description = "No or wrong token", body = crate::error::ErrorBody),
        (status = 403, description = "Administration disabled", body = crate::error::ErrorBody),
        (status = 409, description = "Code taken", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
        (status = 422, description = "A field breaks a rule", body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<NewAgency>,
) -> ApiResult<impl IntoResponse> {
    let proposed = uc::Proposed {
        code: &body.code,
        name_vi: &body.name_vi,
        name_en: &body.name_en,
        level: body.level,
        unit_code: &body.unit_code,
    };
    let who = Acting::new(&caller.0, addr.as_deref());
    let agency = uc::register(&state, who, proposed).await?;
    let location = format!("/api/v1/agencies/{}", agency.code);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(AgencyView::from(agency)),
    ))
}
