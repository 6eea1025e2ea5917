//! Strategic tasks the People's Committee assigns to agencies, their progress reports, and
//! the per-agency scorecard leaders assess units with: tasks done on time, the on-time
//! rate of applications, and satisfaction.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::feedback::evaluation::ratio;
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::registry::parse_date;
use sohoa_domain::tasks::{after_report, Progress, TaskStatus};
use sohoa_storage::indicators::{self as store, Task};
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

pub(crate) fn view(t: Task, today: &str) -> TaskView {
    TaskView {
        overdue: !t.status.is_closed() && t.due_on.as_str() < today,
        id: t.id,
        title: t.title,
        target: t.target,
        agency_code: t.agency_code,
        due_on: t.due_on,
        status: t.status,
        progress: t.progress,
        completed_on: t.completed_on,
        assigned_by: t.assigned_by,
        created_at: t.created_at,
        updated_at: t.updated_at,
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

fn text_field(s: &str, field: &'static str, max: usize) -> Result<String, AppError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(AppError::unprocessable("invalid_task").field(field));
    }
    Ok(s.to_owned())
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
    caller.authorize(Action::AssignTasks, &Target::default())?;
    let title = text_field(&body.title, "title", 300)?;
    let target = text_field(&body.target, "target", 1000)?;
    let agency = AgencyCode::parse(&body.agency_code)
        .map_err(|_| AppError::unprocessable("invalid_agency_code").field("agency_code"))?;
    if sohoa_storage::agencies::get(&state.db, &agency)
        .await?
        .is_none()
    {
        return Err(AppError::unprocessable("agency_not_found").field("agency_code"));
    }
    let due = parse_date("due_on", &body.due_on)
        .map_err(|_| AppError::unprocessable("invalid_date").field("due_on"))?;
    let today = super::today();
    if due < today {
        return Err(AppError::unprocessable("invalid_task").field("due_on"));
    }
    let mut id = [0u8; 6];
    getrandom::fill(&mut id).map_err(AppError::internal)?;
    let now = sohoa_domain::Timestamp::now().to_string();
    let task = Task {
        id: format!("NV{}", hex::encode_upper(id)),
        title,
        target,
        agency_code: agency.to_string(),
        due_on: super::date_text(due),
        status: TaskStatus::Assigned,
        progress: 0,
        assigned_by: caller.actor(),
        created_at: now.clone(),
        completed_on: None,
        updated_at: now,
    };
    let record =
        AuditRecord::new(caller.actor(), "task.assign", "task", &task.id).client_addr(addr);
    store::create_task(&state.db, &task, record).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(task, &super::date_text(today))),
    ))
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

/// Whose tasks the caller may list: a given agency's (checked), else their own agency's,
/// else (city leaders) all.
fn scope(caller: &Caller, asked: Option<&str>) -> Result<Option<AgencyCode>, AppError> {
    let agency = match asked.map(str::trim).filter(|s| !s.is_empty()) {
        Some(a) => Some(
            AgencyCode::parse(a)
                .map_err(|_| AppError::bad_request("invalid_agency_code").field("agency"))?,
        ),
        None => match &caller.0 {
            Principal::Staff(s) => s.agency.clone(),
            _ => None,
        },
    };
    let target = agency.as_ref().map(Target::agency).unwrap_or_default();
    caller
        .authorize(Action::ReadDashboard, &target)
        .or_else(|_| caller.authorize(Action::ReportTaskProgress, &target))?;
    if agency.is_none() {
        // Only the city's leaders see every agency's tasks.
        caller.authorize(Action::AssignTasks, &Target::default())?;
    }
    Ok(agency)
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
    let agency = scope(&caller, p.agency.as_deref())?;
    let today = super::date_text(super::today());
    let tasks: Vec<TaskView> = store::tasks(&state.db, agency.as_ref().map(AgencyCode::as_str))
        .await?
        .into_iter()
        .map(|t| view(t, &today))
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
    let before = store::task_by_id(&state.db, &id)
        .await?
        .ok_or_else(|| AppError::not_found("task_not_found"))?;
    let agency = AgencyCode::parse(&before.agency_code)
        .map_err(|_| AppError::internal("a stored task names an invalid agency"))?;
    let target = Target::agency(&agency);
    if let Err(e) = caller.authorize(Action::ReportTaskProgress, &target) {
        // A task the caller may not even see is one that does not exist, to them.
        return Err(
            if caller.authorize(Action::ReadDashboard, &target).is_ok() {
                e
            } else {
                AppError::not_found("task_not_found")
            },
        );
    }
    let progress = Progress::new(body.progress)
        .ok_or_else(|| AppError::unprocessable("invalid_progress").field("progress"))?;
    let note = super::reports::note_of(body.note.as_deref(), "note")?;
    let status =
        after_report(before.status, progress).ok_or_else(|| AppError::conflict("task_closed"))?;
    let today = super::date_text(super::today());
    let mut after = before.clone();
    after.progress = i64::from(progress.get());
    after.status = status;
    after.completed_on = (status == TaskStatus::Done).then(|| today.clone());
    after.updated_at = sohoa_domain::Timestamp::now().to_string();
    let record =
        AuditRecord::new(caller.actor(), "task.progress", "task", &before.id).client_addr(addr);
    if !store::report_progress(&state.db, &before, &after, note.as_deref(), record).await? {
        return Err(AppError::conflict("task_changed"));
    }
    Ok(Json(view(after, &today)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreRow {
    pub agency_code: String,
    pub tasks: i64,
    pub tasks_done_on_time: i64,
    pub tasks_done_late: i64,
    pub tasks_overdue: i64,
    /// Share of the applications decided in the period that were on time (0-1).
    pub applications_on_time_rate: Option<f64>,
    pub applications_decided: i64,
    /// Average rating (1-5) by applicants and reporters in the period.
    pub satisfaction: Option<f64>,
    pub ratings: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Scorecard {
    pub from: String,
    pub to: String,
    pub as_of: String,
    pub rows: Vec<ScoreRow>,
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
    Ok(Json(score(&state, &caller, &p).await?))
}

pub(crate) async fn score(
    state: &AppState,
    caller: &Caller,
    p: &super::evaluation::Period,
) -> Result<Scorecard, AppError> {
    let own = match &caller.0 {
        Principal::Staff(s) => s.agency.clone(),
        _ => None,
    };
    let target = own.as_ref().map(Target::agency).unwrap_or_default();
    caller.authorize(Action::ReadDashboard, &target)?;
    let (from, to) = super::evaluation::period(p)?;
    let today = super::date_text(super::today());
    let mut rows: BTreeMap<String, ScoreRow> = BTreeMap::new();
    let row = |rows: &mut BTreeMap<String, ScoreRow>, a: &str| -> bool {
        if own.as_ref().is_some_and(|o| o.as_str() != a) {
            return false;
        }
        rows.entry(a.to_owned()).or_insert_with(|| ScoreRow {
            agency_code: a.to_owned(),
            tasks: 0,
            tasks_done_on_time: 0,
            tasks_done_late: 0,
            tasks_overdue: 0,
            applications_on_time_rate: None,
            applications_decided: 0,
            satisfaction: None,
            ratings: 0,
        });
        true
    };
    for t in store::tasks(&state.db, own.as_ref().map(AgencyCode::as_str)).await? {
        if t.status == TaskStatus::Cancelled || !row(&mut rows, &t.agency_code) {
            continue;
        }
        let Some(r) = rows.get_mut(&t.agency_code) else {
            continue;
        };
        r.tasks += 1;
        match (&t.completed_on, t.status) {
            (Some(done), TaskStatus::Done) if *done <= t.due_on => r.tasks_done_on_time += 1,
            (Some(_), TaskStatus::Done) => r.tasks_done_late += 1,
            _ if t.due_on < today => r.tasks_overdue += 1,
            _ => {}
        }
    }
    let scope = sohoa_storage::monitoring::Scope {
        agency: own.as_ref().map(ToString::to_string),
        unit: None,
        procedure: None,
        from,
        to,
    };
    for f in sohoa_storage::monitoring::figures(
        &state.db,
        sohoa_storage::monitoring::By::Agency,
        &scope,
        &today,
    )
    .await?
    {
        if row(&mut rows, &f.key) {
            if let Some(r) = rows.get_mut(&f.key) {
                r.applications_decided = f.decided();
                r.applications_on_time_rate = ratio(f.decided_on_time, f.decided());
            }
        }
    }
    let cells = sohoa_storage::feedback::cells(
        &state.db,
        from,
        to,
        sohoa_storage::feedback::GroupBy::Agency,
    )
    .await?;
    for c in cells {
        let Some(a) = c.agency_code.as_deref() else {
            continue;
        };
        let ratings = c.app_ratings + c.report_ratings;
        if ratings > 0 && row(&mut rows, a) {
            if let Some(r) = rows.get_mut(a) {
                r.ratings = ratings;
                r.satisfaction = ratio(c.app_score_sum + c.report_score_sum, ratings);
            }
        }
    }
    Ok(Scorecard {
        from: from.to_string(),
        to: to.to_string(),
        as_of: sohoa_domain::Timestamp::now().to_string(),
        rows: rows.into_values().collect(),
    })
}
