//! Staff accounts: opened by a city administrator (any role) or an agency's administrator
//! (officers and leaders of their own agency), listed, and disabled.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::staff as uc;
use sohoa_app::Acting;
use sohoa_domain::agency::AgencyCode;
use sohoa_storage::accounts::StaffAccount;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "tran.binh", "display_name": "Trần Thị Bình", "role": "officer",
    "agency_code": "UBND-26743", "password": "mật khẩu đủ dài 2025"}))]
pub struct NewStaffBody {
    /// 3-32 lower-case letters, digits, '.', '-' or '_', starting with a letter.
    #[schema(example = "tran.binh", value_type = sohoa_domain::identity::Username)]
    pub username: String,
    #[schema(example = "Trần Thị Bình", max_length = 200)]
    pub display_name: String,
    #[schema(value_type = sohoa_domain::policy::Role)]
    pub role: String,
    /// Required for officers and agency administrators; optional for leaders and auditors
    /// (none means city-wide); not allowed for city administrators and digital teams.
    #[schema(value_type = Option<sohoa_domain::agency::AgencyCode>)]
    pub agency_code: Option<String>,
    /// The ward a digital team serves (required for them, and only for them).
    #[schema(value_type = Option<sohoa_domain::UnitCode>)]
    pub unit_code: Option<String>,
    /// 10 to 128 characters.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub agency_code: Option<String>,
    pub unit_code: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub disabled_at: Option<String>,
}

impl From<StaffAccount> for StaffView {
    fn from(s: StaffAccount) -> Self {
        Self {
            username: s.username,
            display_name: s.display_name,
            role: s.role.as_str().to_owned(),
            agency_code: s.agency_code.map(|a| a.to_string()),
            unit_code: s.unit_code.map(|u| u.to_string()),
            created_at: s.created_at.to_string(),
            created_by: s.created_by,
            disabled_at: s.disabled_at.map(|t| t.to_string()),
        }
    }
}

/// The scope a new account gets: its agency, and the unit it is confined to (a commune
/// agency's unit, or a digital team's ward).
/// Opens a staff account. City administrators open any; an agency's administrator opens
/// officers and leaders of their own agency.
#[utoipa::path(post, path = "/api/v1/staff", tag = "identity", security(("bearer" = [])), request_body = NewStaffBody,
    responses(
        (status = 201, body = StaffView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<NewStaffBody>,
) -> ApiResult<impl IntoResponse> {
    let member = uc::NewMember {
        username: &body.username,
        display_name: &body.display_name,
        role: &body.role,
        agency_code: body.agency_code.as_deref(),
        unit_code: body.unit_code.as_deref(),
        password: body.password,
    };
    let who = Acting::new(&caller.0, addr.as_deref());
    let created = uc::open(&state, who, member).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/staff/{}", created.username),
        )],
        Json(StaffView::from(created)),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffParams {
    /// Only this agency's staff (required for an agency's administrator or auditor).
    #[param(value_type = Option<sohoa_domain::agency::AgencyCode>)]
    pub agency: Option<String>,
    /// The last username of the previous page.
    pub after: Option<String>,
    /// 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffPage {
    pub items: Vec<StaffView>,
    /// Pass as `after` for the next page; absent at the end.
    pub next: Option<String>,
}

/// Staff accounts in username order, keyset-paged; of one agency or all.
#[utoipa::path(get, path = "/api/v1/staff", tag = "identity", security(("bearer" = [])), params(StaffParams),
    responses((status = 200, body = StaffPage), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<StaffParams>,
) -> ApiResult<Json<StaffPage>> {
    let agency = p
        .agency
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| {
            AgencyCode::parse(a)
                .map_err(|_| AppError::bad_request("invalid_agency_code").field("agency"))
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(50);
    let page = uc::list(&state, &caller.0, agency, p.after.as_deref(), limit).await?;
    let items: Vec<StaffView> = page.items.into_iter().map(StaffView::from).collect();
    let next = items
        .last()
        .map(|s| s.username.clone())
        .filter(|_| page.more);
    Ok(Json(StaffPage { items, next }))
}

#[utoipa::path(delete, path = "/api/v1/staff/{username}", tag = "identity", security(("bearer" = [])),
    params(("username" = sohoa_domain::identity::Username, Path, description = "Username")),
    responses((status = 204, description = "Disabled"), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    let who = Acting::new(&caller.0, addr.as_deref());
    uc::disable(&state, who, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}
