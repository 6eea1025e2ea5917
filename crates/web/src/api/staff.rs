//! Staff accounts: opened by a city administrator (any role) or an agency's administrator
//! (officers and leaders of their own agency), listed, and disabled.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::agency::{AgencyCode, AgencyLevel};
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::identity::{check_password, hash_password, Username};
use sohoa_domain::policy::{Action, Requirement, Role, Target};
use sohoa_domain::units::UnitLevel;
use sohoa_domain::UnitCode;
use sohoa_storage::accounts::{self, NewStaff, StaffAccount};
use sohoa_storage::{agencies, units, StorageError};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{self, Caller};
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
            role: s.role,
            agency_code: s.agency_code,
            unit_code: s.unit_code,
            created_at: s.created_at,
            created_by: s.created_by,
            disabled_at: s.disabled_at,
        }
    }
}

/// The scope a new account gets: its agency, and the unit it is confined to (a commune
/// agency's unit, or a digital team's ward).
async fn scope_of(
    state: &AppState,
    role: Role,
    body: &NewStaffBody,
) -> Result<(Option<AgencyCode>, Option<UnitCode>), AppError> {
    let scope_err = |field: &str| AppError::unprocessable("role_scope").field(field);
    let agency_code = body.agency_code.as_deref().filter(|a| !a.trim().is_empty());
    let agency = match (role.agency_rule(), agency_code) {
        (Requirement::Required, None) | (Requirement::Forbidden, Some(_)) => {
            return Err(scope_err("agency_code"))
        }
        (_, None) => None,
        (_, Some(code)) => {
            let code = AgencyCode::parse(code)
                .map_err(|_| AppError::unprocessable("invalid_agency_code").field("agency_code"))?;
            let agency = agencies::get(&state.db, &code)
                .await?
                .ok_or_else(|| AppError::unprocessable("agency_not_found").field("agency_code"))?;
            Some(agency)
        }
    };
    let unit_code = body.unit_code.as_deref().filter(|u| !u.trim().is_empty());
    match (role, unit_code) {
        (Role::DigitalTeam, Some(u)) => {
            let unit = UnitCode::parse(u)
                .map_err(|_| AppError::unprocessable("invalid_unit_code").field("unit_code"))?;
            let found = units::get(&state.db, &unit, super::today()).await?;
            if !found.is_some_and(|f| f.kind.level() == UnitLevel::Commune) {
                return Err(AppError::unprocessable("unknown_unit")
                    .arg("code", &unit)
                    .field("unit_code"));
            }
            Ok((None, Some(unit)))
        }
        (Role::DigitalTeam, None) | (_, Some(_)) => Err(scope_err("unit_code")),
        (_, None) => {
            let unit = agency
                .as_ref()
                .filter(|a| a.level == AgencyLevel::Commune)
                .map(|a| a.unit_code.clone());
            Ok((agency.map(|a| a.code), unit))
        }
    }
}

/// Usernames are one city-wide namespace, divided among agencies by suffix: an agency's
/// administrator names accounts `….{agency code}`, and a name ending in an agency's code
/// belongs to that agency's staff alone. So the names an agency's administrator can try
/// are their own agency's, and a taken one tells them nothing of another agency.
async fn in_namespace(
    state: &AppState,
    caller: &Caller,
    username: &Username,
    agency: Option<&AgencyCode>,
) -> Result<(), AppError> {
    let named = match username.agency_part() {
        Some(code) => agencies::get(&state.db, &code).await?.map(|a| a.code),
        None => None,
    };
    if let Some(own) = caller
        .0
        .agency()
        .filter(|_| caller.0.role() == Some(Role::AgencyAdmin))
    {
        if named.as_ref() != Some(own) {
            return Err(AppError::unprocessable("username_outside_agency")
                .arg("suffix", Username::suffix_of(own))
                .field("username"));
        }
    }
    if let Some(named) = named.filter(|n| Some(n) != agency) {
        return Err(AppError::unprocessable("username_of_another_agency")
            .arg("agency", named)
            .field("username"));
    }
    Ok(())
}

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
    let username = Username::parse(&body.username)
        .ok_or_else(|| AppError::unprocessable("invalid_username").field("username"))?;
    let display_name = sohoa_domain::registry::text_field("display_name", &body.display_name, 200)
        .map_err(|_| AppError::unprocessable("invalid_display_name").field("display_name"))?;
    let role = Role::parse(&body.role)
        .ok_or_else(|| AppError::unprocessable("invalid_role").field("role"))?;
    let (agency, unit) = scope_of(&state, role, &body).await?;
    caller.authorize(
        Action::ManageStaff,
        &Target {
            agency: agency.as_ref(),
            unit: unit.as_ref(),
            role: Some(role),
            ..Target::default()
        },
    )?;
    in_namespace(&state, &caller, &username, agency.as_ref()).await?;
    check_password(&body.password)
        .map_err(|_| AppError::unprocessable("invalid_password").field("password"))?;
    let salt = auth::random_bytes::<16>()?;
    let password = body.password;
    let hash = auth::blocking(move || hash_password(&password, &salt))
        .await?
        .map_err(AppError::internal)?;
    let actor = caller.actor();
    let new = NewStaff {
        username: username.as_str(),
        display_name: &display_name,
        role: role.as_str(),
        agency_code: agency.as_ref().map(AgencyCode::as_str),
        unit_code: unit.as_ref().map(UnitCode::as_str),
        password_hash: &hash,
        created_by: &actor,
    };
    let record = AuditRecord::new(actor.clone(), "staff.create", "staff", username.as_str())
        .actor_unit(agency.as_ref().map(ToString::to_string))
        .fields([format!("role={}", role.as_str())])
        .client_addr(addr);
    let mut tx = state.db.begin().await?;
    let created = match accounts::create_staff(&mut tx, &new, record).await {
        Err(StorageError::Conflict(_)) => {
            return Err(AppError::conflict("staff_exists").field("username"))
        }
        other => other?,
    };
    tx.commit().await.map_err(StorageError::from)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/staff/{username}"))],
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
    // No agency named means all of them, which only a city-wide reader may ask for.
    caller.authorize(
        Action::ReadStaff,
        &Target {
            agency: agency.as_ref(),
            ..Target::default()
        },
    )?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::bad_request("invalid_page"));
    }
    let rows = accounts::list_staff(
        &state.db,
        agency.as_ref().map(AgencyCode::as_str),
        p.after.as_deref(),
        limit + 1,
    )
    .await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<StaffView> = rows
        .into_iter()
        .take(limit as usize)
        .map(StaffView::from)
        .collect();
    Ok(Json(StaffPage {
        next: if more {
            items.last().map(|s| s.username.clone())
        } else {
            None
        },
        items,
    }))
}

/// Disables a staff account and ends its sessions at once.
#[utoipa::path(delete, path = "/api/v1/staff/{username}", tag = "identity", security(("bearer" = [])),
    params(("username" = sohoa_domain::identity::Username, Path, description = "Username")),
    responses((status = 204, description = "Disabled"), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    let not_found = || AppError::not_found("staff_not_found");
    let account = accounts::staff_by_username(&state.db, &username)
        .await?
        .filter(|s| s.disabled_at.is_none())
        .ok_or_else(not_found)?;
    let staff = auth::staff_of(&account)?;
    // Accounts outside the caller's reach answer as missing: usernames of other agencies
    // are none of their business.
    caller
        .authorize(
            Action::ManageStaff,
            &Target {
                agency: staff.agency.as_ref(),
                unit: staff.unit.as_ref(),
                role: Some(staff.role),
                ..Target::default()
            },
        )
        .map_err(|_| not_found())?;
    let record = AuditRecord::new(caller.actor(), "staff.disable", "staff", &account.username)
        .actor_unit(account.agency_code.clone())
        .client_addr(addr);
    let mut tx = state.db.begin().await?;
    if !accounts::disable_staff(&mut tx, &account.username, record).await? {
        return Err(not_found());
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
