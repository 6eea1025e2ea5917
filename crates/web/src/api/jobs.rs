//! The background jobs, for the city's administrators: how many of each kind are in each
//! state, the jobs themselves (never their payloads, which may carry a citizen's message),
//! and the two changes an operator makes, each audited: try a dead job again, cancel one
//! that waits.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::jobs::{self as uc, JobView, KindCounts, ListQuery};
use sohoa_app::Acting;
use sohoa_storage::jobs::JobState;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct KindCountsView {
    /// The kind, e.g. `notification.send`.
    pub kind: String,
    pub ready: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
    pub cancelled: i64,
}

impl From<KindCounts> for KindCountsView {
    fn from(k: KindCounts) -> Self {
        Self {
            kind: k.kind,
            ready: k.ready,
            running: k.running,
            done: k.done,
            dead: k.dead,
            cancelled: k.cancelled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobCounts {
    pub kinds: Vec<KindCountsView>,
}

/// How many jobs of each kind are ready, running, done, dead and cancelled.
#[utoipa::path(get, path = "/api/v1/jobs/counts", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = JobCounts), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn counts(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<JobCounts>> {
    let kinds = uc::counts(&state, &caller.0).await?;
    Ok(Json(JobCounts {
        kinds: kinds.into_iter().map(KindCountsView::from).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobItem {
    pub id: String,
    pub kind: String,
    #[schema(pattern = "^(ready|running|done|dead|cancelled)$")]
    pub state: String,
    /// When it runs (next), RFC 3339.
    pub run_at: String,
    pub attempts: i64,
    pub max_attempts: i64,
    /// Why its last attempt failed.
    pub last_error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl From<JobView> for JobItem {
    fn from(j: JobView) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            state: j.state.as_str().to_owned(),
            run_at: j.run_at.to_string(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            created_at: j.created_at.to_string(),
            finished_at: j.finished_at.map(|t| t.to_string()),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobParams {
    /// Only jobs in this state.
    #[param(pattern = "^(ready|running|done|dead|cancelled)?$")]
    pub state: Option<String>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// The `next` of the previous page.
    pub before: Option<String>,
    /// 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl JobParams {
    pub(crate) fn query(&self) -> Result<ListQuery, AppError> {
        fn nonempty(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let state = match nonempty(&self.state) {
            Some(s) => Some(
                JobState::parse(s)
                    .ok_or_else(|| AppError::bad_request("invalid_query").field("state"))?,
            ),
            None => None,
        };
        Ok(ListQuery {
            state,
            kind: nonempty(&self.kind).map(str::to_owned),
            before: nonempty(&self.before).map(str::to_owned),
            limit: self.limit.unwrap_or(50),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub items: Vec<JobItem>,
    /// Pass as `before` for the next page; absent at the end.
    pub next: Option<String>,
}

/// Jobs, newest first, keyset-paged, by state and kind.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "operations", security(("bearer" = [])), params(JobParams),
    responses((status = 200, body = JobPage), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<JobParams>,
) -> ApiResult<Json<JobPage>> {
    let page = uc::list(&state, &caller.0, &p.query()?).await?;
    Ok(Json(JobPage {
        items: page.items.into_iter().map(JobItem::from).collect(),
        next: page.next,
    }))
}

/// Tries a dead or cancelled job again now, its attempts counted afresh. 409 when the job
/// is in another state.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "operations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id", example = "out_000640a1b2c3d4e5f60718293a4b5c6d")),
    responses((status = 200, body = JobItem), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<Json<JobItem>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    Ok(Json(uc::retry(&state, who, &id).await?.into()))
}

/// Cancels a job that waits to run. 409 when it runs (its attempt finishes) or ended.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "operations", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job's id", example = "out_000640a1b2c3d4e5f60718293a4b5c6d")),
    responses((status = 200, body = JobItem), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<Json<JobItem>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    Ok(Json(uc::cancel(&state, who, &id).await?.into()))
}
