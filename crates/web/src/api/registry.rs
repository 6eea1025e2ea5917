//! Searching the citizen registry (administrators, until staff roles exist). Results are
//! personal data: each citizen returned is an audited read, visible in their access log.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::registry as uc;
use sohoa_app::Acting;
use sohoa_domain::registry::date_text;
use sohoa_storage::registry::citizens::Search;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CitizenSearchParams {
    /// The beginning of the full name; diacritics and case are ignored ("nguyen van an").
    pub q: Option<String>,
    /// Code of the commune-level unit of permanent residence.
    #[param(value_type = Option<sohoa_domain::UnitCode>)]
    pub unit: Option<String>,
    pub birth_year: Option<i32>,
    /// The named legal purpose of the search.
    #[param(value_type = sohoa_domain::sharing::Purpose, required = true)]
    pub purpose: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Results per page, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CitizenHit {
    pub citizen_id: String,
    pub full_name: String,
    pub date_of_birth: String,
    pub permanent_unit: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CitizenSearchPage {
    pub items: Vec<CitizenHit>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Citizens by name prefix, unit and birth year, in name order, keyset-paged.
#[utoipa::path(get, path = "/api/v1/registry/citizens", tag = "registries", security(("bearer" = [])),
    params(CitizenSearchParams),
    responses(
        (status = 200, body = CitizenSearchPage),
        (status = 400, description = "A parameter is not valid", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn search_citizens(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiQuery(p): ApiQuery<CitizenSearchParams>,
) -> ApiResult<Json<CitizenSearchPage>> {
    let unit = p
        .unit
        .as_deref()
        .filter(|u| !u.is_empty())
        .map(|u| {
            sohoa_domain::registry::unit_code("unit", u)
                .map_err(|_| AppError::bad_request("invalid_unit_code").field("unit"))
        })
        .transpose()?;
    let after = match p.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(super::decode_cursor(a).ok_or_else(|| {
            AppError::bad_request("invalid_query")
                .arg("detail", "after")
                .field("after")
        })?),
        None => None,
    };
    let search = Search {
        name: p.q.clone(),
        unit,
        birth_year: p.birth_year,
        after,
        limit: p.limit.unwrap_or(50),
    };
    let who = Acting::new(&caller.0, addr.as_deref());
    let purpose = p.purpose.as_deref().unwrap_or_default();
    let found = uc::search_citizens(&state, who, purpose, &search).await?;
    Ok(Json(CitizenSearchPage {
        next: found.next.as_ref().map(super::encode_cursor),
        items: found
            .items
            .into_iter()
            .map(|s| CitizenHit {
                citizen_id: s.citizen.citizen_id.to_string(),
                full_name: s.citizen.full_name,
                date_of_birth: date_text(s.citizen.date_of_birth),
                permanent_unit: s.citizen.permanent_address.unit_code.to_string(),
            })
            .collect(),
    }))
}
