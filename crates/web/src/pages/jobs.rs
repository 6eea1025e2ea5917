//! The background jobs for the city's administrators: how many of each kind wait, run,
//! ended or died, the jobs themselves with their last error, and the two buttons an
//! operator needs (try a dead job again, cancel one that waits), through the same use
//! cases as the API, so the policy and the audit are the same.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sohoa_app::jobs as uc;
use sohoa_app::Acting;
use sohoa_storage::jobs::JobState;

use super::{render, PageCtx, Shell};
use crate::api::jobs::JobParams;
use crate::auth::{self, Caller};
use crate::error::AppError;
use crate::extract::ClientAddr;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::Tr;
use crate::AppState;

struct CountRow {
    kind: String,
    /// `(state, count)` in the order of the table's columns.
    cells: Vec<(&'static str, i64)>,
}

struct JobRow {
    id: String,
    kind: String,
    state: &'static str,
    state_label: String,
    run_at: String,
    attempts: String,
    last_error: String,
    can_retry: bool,
    can_cancel: bool,
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    /// `(state, label)` of the table's columns.
    states: Vec<(&'static str, String)>,
    counts: Vec<CountRow>,
    rows: Vec<JobRow>,
    state: String,
    kind: String,
    next_href: Option<String>,
    error: Option<String>,
}

/// The page's own address with its filters, for the pager and for coming back after a
/// button.
fn href(state: &str, kind: &str, before: Option<&str>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if !state.is_empty() {
        q.append_pair("state", state);
    }
    if !kind.is_empty() {
        q.append_pair("kind", kind);
    }
    if let Some(b) = before {
        q.append_pair("before", b);
    }
    let q = q.finish();
    if q.is_empty() {
        "/admin/jobs".to_owned()
    } else {
        format!("/admin/jobs?{q}")
    }
}

fn state_label(t: Tr, s: JobState) -> String {
    t.get(&format!("jobs-state-{}", s.as_str()))
}

async fn page(
    state: &AppState,
    ctx: &PageCtx,
    caller: &Caller,
    headers: &HeaderMap,
    p: &JobParams,
    error: Option<String>,
) -> Result<Response, AppError> {
    let query = p.query()?;
    let counts = uc::counts(state, &caller.0).await?;
    let listed = uc::list(state, &caller.0, &query).await?;
    let t = ctx.t();
    let (csrf, cookie) = auth::csrf_token(headers)?;
    let filter_state = query.state.map(JobState::as_str).unwrap_or_default();
    let filter_kind = query.kind.clone().unwrap_or_default();
    let tpl = JobsTemplate {
        shell: ctx.shell("jobs", t.get("jobs-title")),
        csrf,
        states: JobState::ALL
            .iter()
            .map(|s| (s.as_str(), state_label(t, *s)))
            .collect(),
        counts: counts
            .into_iter()
            .map(|k| CountRow {
                cells: JobState::ALL
                    .iter()
                    .map(|s| (s.as_str(), k.of(*s)))
                    .collect(),
                kind: k.kind,
            })
            .collect(),
        rows: listed
            .items
            .into_iter()
            .map(|j| JobRow {
                state: j.state.as_str(),
                state_label: state_label(t, j.state),
                run_at: j.run_at.local_display(),
                attempts: format!("{}/{}", j.attempts, j.max_attempts),
                last_error: j.last_error.unwrap_or_default(),
                can_retry: matches!(j.state, JobState::Dead | JobState::Cancelled),
                can_cancel: j.state == JobState::Ready,
                id: j.id,
                kind: j.kind,
            })
            .collect(),
        next_href: listed
            .next
            .map(|n| href(filter_state, &filter_kind, Some(&n))),
        state: filter_state.to_owned(),
        kind: filter_kind,
        error,
        t,
    };
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    headers: HeaderMap,
    params: Result<axum::extract::Query<JobParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let p = params.map(|q| q.0).unwrap_or_default();
    page(&state, &ctx, &caller, &headers, &p, None)
        .await
        .page(ctx.lang)
}

#[derive(Debug, Deserialize)]
pub struct JobForm {
    csrf: String,
    /// `retry` or `cancel`.
    action: String,
    /// The filters of the page the button was on, to go back to.
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
}

/// Retries or cancels the job; back to the list, with the error there if refused.
pub async fn act(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<JobForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let Ok(Form(f)) = form else {
        return Err(AppError::bad_request("invalid_body")).page(ctx.lang);
    };
    auth::check_csrf(&headers, &f.csrf).page(ctx.lang)?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let outcome = match f.action.as_str() {
        "retry" => uc::retry(&state, who, &id).await.map_err(AppError::from),
        "cancel" => uc::cancel(&state, who, &id).await.map_err(AppError::from),
        _ => Err(AppError::bad_request("invalid_query").field("action")),
    };
    match outcome {
        Ok(_) => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, href(&f.state, &f.kind, None))],
        )
            .into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            let p = JobParams {
                state: Some(f.state),
                kind: Some(f.kind),
                ..JobParams::default()
            };
            let mut res = page(
                &state,
                &ctx,
                &caller,
                &headers,
                &p,
                Some(e.message(ctx.lang)),
            )
            .await
            .page(ctx.lang)?;
            *res.status_mut() = e.status;
            Ok(res)
        }
        Err(e) => Err(e).page(ctx.lang),
    }
}
