//! Administrative units: list, look up by code and day, history of a code.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::units as uc;
use sohoa_domain::paging::{Page, PageRequest};
use sohoa_domain::units::{Unit, UnitKind, UnitLevel};
use sohoa_domain::UnitCode;
use sohoa_storage::units::UnitQuery;
use utoipa::{IntoParams, ToSchema};

use super::{date_text, parse_day};
use crate::error::{ApiResult, AppError};
use crate::extract::ApiQuery;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitView {
    #[schema(example = "26734")]
    pub code: String,
    #[schema(example = "Phường Bến Thành")]
    pub name: String,
    pub kind: UnitKind,
    pub level: UnitLevel,
    #[schema(example = "79")]
    pub parent_code: Option<String>,
    /// First day in force (YYYY-MM-DD); null when it predates the reference data.
    #[schema(example = "2025-07-01")]
    pub valid_from: Option<String>,
    /// First day no longer in force; null while in force.
    pub valid_to: Option<String>,
}

impl From<Unit> for UnitView {
    fn from(u: Unit) -> Self {
        Self {
            code: u.code.to_string(),
            level: u.kind.level(),
            name: u.name,
            kind: u.kind,
            parent_code: u.parent_code.map(|c| c.to_string()),
            valid_from: u.valid_from.map(date_text),
            valid_to: u.valid_to.map(date_text),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitPage {
    pub items: Vec<UnitView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

impl From<Page<Unit>> for UnitPage {
    fn from(p: Page<Unit>) -> Self {
        let p = p.map(UnitView::from);
        Self {
            items: p.items,
            total: p.total,
            page: p.page,
            per_page: p.per_page,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitListParams {
    /// Units in force on this day (YYYY-MM-DD); default today.
    #[param(format = Date)]
    pub as_of: Option<String>,
    /// ward, commune, special_zone, township, urban_district, rural_district, district_city,
    /// town, province or municipality.
    #[param(value_type = Option<sohoa_domain::units::UnitKind>)]
    pub kind: Option<String>,
    /// province, district or commune.
    #[param(value_type = Option<sohoa_domain::units::UnitLevel>)]
    pub level: Option<String>,
    /// Code of the parent unit.
    #[param(value_type = Option<sohoa_domain::UnitCode>)]
    pub parent: Option<String>,
    /// Name or code; diacritics and case are ignored.
    pub q: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

impl UnitListParams {
    /// Parses the parameters into a query: every value checked, each error naming its field.
    pub fn parse(&self) -> Result<UnitQuery, AppError> {
        let blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let kind = blank(&self.kind)
            .map(|k| {
                UnitKind::parse(&k)
                    .ok_or_else(|| AppError::bad_request("invalid_unit_kind").field("kind"))
            })
            .transpose()?;
        let level = blank(&self.level)
            .map(|l| match l.as_str() {
                "province" => Ok(UnitLevel::Province),
                "district" => Ok(UnitLevel::District),
                "commune" => Ok(UnitLevel::Commune),
                _ => Err(AppError::bad_request("invalid_unit_kind").field("level")),
            })
            .transpose()?;
        let parent = blank(&self.parent)
            .map(|p| {
                UnitCode::parse(&p)
                    .map_err(|_| AppError::bad_request("invalid_unit_code").field("parent"))
            })
            .transpose()?;
        Ok(UnitQuery {
            as_of: parse_day(self.as_of.as_deref(), "as_of")?,
            level,
            kind,
            parent,
            search: blank(&self.q),
            page: PageRequest::parse(self.page, self.per_page)
                .map_err(|_| AppError::bad_request("invalid_page"))?,
        })
    }
}

/// Units in force on a day, filtered and paged.
#[utoipa::path(get, path = "/api/v1/units", tag = "units", params(UnitListParams), responses(
    (status = 200, body = UnitPage),
    (status = 400, description = "A parameter is not valid", body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<UnitListParams>,
) -> ApiResult<Json<UnitPage>> {
    let query = params.parse()?;
    Ok(Json(uc::list(&state, &query).await?.into()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// The day (YYYY-MM-DD); default today.
    #[param(format = Date)]
    pub as_of: Option<String>,
}

pub fn parse_code(code: &str) -> Result<UnitCode, AppError> {
    UnitCode::parse(code).map_err(|_| AppError::bad_request("invalid_unit_code").field("code"))
}

/// The unit a code named on a day. Codes were reused in 2025: the day matters.
#[utoipa::path(get, path = "/api/v1/units/{code}", tag = "units",
    params(("code" = sohoa_domain::UnitCode, Path, description = "Unit code (2, 3 or 5 digits)"), AsOfParams),
    responses(
        (status = 200, body = UnitView),
        (status = 400, description = "Malformed code or date", body = crate::error::ErrorBody),
        (status = 404, description = "No unit had this code on that day", body = crate::error::ErrorBody)))]
pub async fn get_unit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(params): ApiQuery<AsOfParams>,
) -> ApiResult<Json<UnitView>> {
    let code = parse_code(&code)?;
    let day = parse_day(params.as_of.as_deref(), "as_of")?;
    Ok(Json(uc::get(&state, &code, day).await?.into()))
}

/// Every unit a code has named, oldest first.
#[utoipa::path(get, path = "/api/v1/units/{code}/history", tag = "units",
    params(("code" = sohoa_domain::UnitCode, Path, description = "Unit code (2, 3 or 5 digits)")),
    responses(
        (status = 200, body = Vec<UnitView>),
        (status = 400, description = "Malformed code", body = crate::error::ErrorBody),
        (status = 404, description = "The code never named a unit", body = crate::error::ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<UnitView>>> {
    let code = parse_code(&code)?;
    let units = uc::history(&state, &code).await?;
    Ok(Json(units.into_iter().map(UnitView::from).collect()))
}
