//! Strategic tasks the People's Committee assigns to agencies, their progress reports, and
//! the per-agency scorecard leaders assess units with: tasks done on time, the on-time
//! rate of applications, and satisfaction.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::tasks::{self as uc, Scorecard};
use sohoa_app::Acting;
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::registry::{date_text, parse_date};
use sohoa_domain::tasks::TaskStatus;
use sohoa_storage::indicators::Task;
use time::Date;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    pub title: String,
    pub target: String,
    pub agency_code: String,
    pub due_on: String,
    pub status: TaskStatus,
    /// Percent, 0-100.
    pub progress: i64,
    /// Not closed and past its due day.
    pub overdue: bool,
    pub completed_on: Option<String>,
    pub assigned_by: String,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) fn view(t: Task, today: Date) -> TaskView {
    TaskView {
        overdue: uc::overdue(&t, today),
        id: t.id,
        title: t.title,
        target: t.target,
        agency_code: t.agency_code.to_string(),
        due_on: date_text(t.due_on),
        status: t.status,
        progress: t.progress,
        completed_on: t.completed_on.map(date_text),
        assigned_by: t.assigned_by,
        created_at: t.created_at.to_string(),
        updated_at: t.updated_at.to_string(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Số hóa hồ sơ hộ tịch", "target": "100% sổ hộ tịch được số hóa",
    "agency_code": "UBND-26743", "due_on": "2027-06-30"}))]
pub struct NewTask {
    #[schema(max_length = 300)]
    pub title: String,
    /// What counts as done, measurably.
    #[schema(max_length = 1000)]
    pub target: String,
    #[schema(value_type = sohoa_domain::agency::AgencyCode)]
    pub agency_code: String,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub due_on: String,
}

/// Assigns a strategic task to an agency (the city's leaders).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "dashboards", security(("bearer" = [])),
    request_body = NewTask,
    responses((status = 201, body = TaskView), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<NewTask>,
) -> ApiResult<(StatusCode, Json<TaskView>)> {
    let task = uc::NewTask {
        title: body.title,
        target: body.target,
        agency: AgencyCode::parse(&body.agency_code)
            .map_err(|_| AppError::unprocessable("invalid_agency_code").field("agency_code"))?,
        due_on: parse_date("due_on", &body.due_on)
            .map_err(|_| AppError::unprocessable("invalid_date").field("due_on"))?,
    };
    let task = uc::assign(&state, Acting::new(&caller.0, addr.as_deref()), task).await?;
    Ok((StatusCode::CREATED, Json(view(task, super::today()))))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskParams {
    /// One agency's tasks (a bound leader or officer sees only their agency's).
    #[param(value_type = Option<sohoa_domain::agency::AgencyCode>)]
    pub agency: Option<String>,
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)?$")]
    pub format: Option<String>,
}

/// Strategic tasks, soonest due first, with overdue ones flagged.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "dashboards", security(("bearer" = [])),
    params(TaskParams),
    responses((status = 200, body = [TaskView]), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<TaskParams>,
) -> ApiResult<Response> {
    let asked = match p.agency.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(a) => Some(
            AgencyCode::parse(a)
                .map_err(|_| AppError::bad_request("invalid_agency_code").field("agency"))?,
        ),
        None => None,
    };
    let today = super::today();
    let tasks: Vec<TaskView> = uc::list(&state, &caller.0, asked)
        .await?
        .into_iter()
        .map(|t| view(t, today))
        .collect();
    match p.format.as_deref() {
        None | Some("" | "json") => Ok(Json(tasks).into_response()),
        Some("csv") => {
            let mut w = crate::csv::Writer::new(&[
                "id",
                "title",
                "target",
                "agency_code",
                "due_on",
                "status",
                "progress",
                "overdue",
                "completed_on",
            ]);
            for t in &tasks {
                w.row(&[
                    t.id.clone(),
                    t.title.clone(),
                    t.target.clone(),
                    t.agency_code.clone(),
                    t.due_on.clone(),
                    t.status.as_str().to_owned(),
                    t.progress.to_string(),
                    t.overdue.to_string(),
                    t.completed_on.clone().unwrap_or_default(),
                ]);
            }
            Ok(crate::csv::response("tasks.csv", w.finish()))
        }
        Some(_) => Err(AppError::bad_request("invalid_query").field("format")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"progress": 50, "note": "Đã số hóa một nửa số sổ"}))]
pub struct ProgressReport {
    /// Percent, 0-100; 100 closes the task as done.
    #[schema(minimum = 0, maximum = 100)]
    pub progress: i64,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Reports a task's progress (the assigned agency's officers and leaders).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/progress", tag = "dashboards", security(("bearer" = [])),
    params(("id" = String, Path, description = "Task id", example = "tk_0f3a9c")), request_body = ProgressReport,
    responses((status = 200, body = TaskView), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProgressReport>,
) -> ApiResult<Json<TaskView>> {
    let acting = Acting::new(&caller.0, addr.as_deref());
    let task = uc::report(&state, acting, &id, body.progress, body.note.as_deref()).await?;
    Ok(Json(view(task, super::today())))
}

/// Per agency: strategic tasks, applications' on-time rate and satisfaction over months
/// `from..=to` (leaders; an agency's leader sees their agency's row).
#[utoipa::path(get, path = "/api/v1/scorecard", tag = "dashboards", security(("bearer" = [])),
    params(super::evaluation::Period),
    responses((status = 200, body = Scorecard), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn scorecard(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<super::evaluation::Period>,
) -> ApiResult<Json<Scorecard>> {
    Ok(Json(uc::scorecard(&state, &caller.0, p.span()?).await?))
}
