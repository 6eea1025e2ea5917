//! The officers' queue on the web: their agency's applications soonest due first, with the
//! filters of the API, the deadline in working days, and one application's page with its
//! answers, documents and history, where an officer moves it or takes it. Every read and
//! move goes through the API's own handlers, so the policy and the audit are the same.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sohoa_domain::policy::Principal;
use sohoa_domain::services::workflow::{Mover, Status};

use super::{render, PageCtx, Shell};
use sohoa_app::applications as uc;
use sohoa_app::Acting;

use crate::api::applications::{ApplicationPage, ApplicationView, ListParams, TransitionRequest};
use crate::auth::{self, Caller};
use crate::error::AppError;
use crate::extract::ClientAddr;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::Tr;
use crate::AppState;

struct Row {
    number: String,
    procedure: String,
    status: String,
    due: String,
    /// "3", "−2" (overdue), or empty when the clock is not running.
    days_left: String,
    overdue: bool,
    assignee: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueueTemplate {
    shell: Shell,
    t: Tr,
    rows: Vec<Row>,
    /// `(value, label, selected)`.
    statuses: Vec<(String, String, bool)>,
    assigned: String,
    overdue: bool,
    procedure: String,
    next_href: Option<String>,
    /// The commune a leader drilled down to, kept by the filters.
    unit: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueParams {
    status: Option<String>,
    assigned: Option<String>,
    overdue: Option<String>,
    procedure: Option<String>,
    /// A commune: the dashboard's drill-down lands here.
    unit: Option<String>,
    agency: Option<String>,
    after: Option<String>,
}

fn staff_only(caller: &Caller) -> Result<(), AppError> {
    match &caller.0 {
        Principal::Staff(_) => Ok(()),
        _ => Err(AppError::new(StatusCode::FORBIDDEN, "forbidden")),
    }
}

fn row(t: Tr, a: ApplicationView, procedure: String) -> Row {
    Row {
        due: a
            .due_on
            .as_deref()
            .and_then(|d| sohoa_domain::registry::parse_date("due_on", d).ok())
            .map(super::display_date)
            .unwrap_or_else(|| "—".into()),
        days_left: a
            .working_days_left
            .map(|d| d.to_string())
            .unwrap_or_default(),
        overdue: a.overdue,
        status: super::applications::status_name(t, a.status),
        assignee: a.assigned_to.unwrap_or_default(),
        procedure,
        number: a.number.to_string(),
    }
}

/// The queue, a page of 50.
fn nonempty(v: &Option<String>) -> Option<String> {
    v.clone().filter(|s| !s.trim().is_empty())
}

/// The status filter's choices, the one asked for selected.
fn status_choices(t: Tr, status: &str) -> Vec<(String, String, bool)> {
    let mut statuses = vec![(String::new(), t.get("queue-any-status"), status.is_empty())];
    statuses.extend(
        Status::ALL
            .iter()
            .filter(|s| **s != Status::Draft)
            .map(|s| {
                (
                    s.as_str().to_owned(),
                    super::applications::status_name(t, *s),
                    s.as_str() == status,
                )
            }),
    );
    statuses
}

/// The link to the page after `after`, keeping the filters.
fn next_page(p: &QueueParams, after: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("status", nonempty(&p.status)),
        ("assigned", nonempty(&p.assigned)),
        ("procedure", nonempty(&p.procedure)),
        ("unit", nonempty(&p.unit)),
        ("agency", nonempty(&p.agency)),
    ] {
        if let Some(v) = v {
            q.append_pair(k, &v);
        }
    }
    if p.overdue.as_deref() == Some("true") {
        q.append_pair("overdue", "true");
    }
    q.append_pair("after", after);
    format!("/queue?{}", q.finish())
}

pub async fn queue(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    params: Result<axum::extract::Query<QueueParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    staff_only(&caller).page(ctx.lang)?;
    let p = params.map(|q| q.0).unwrap_or_default();
    let overdue = p.overdue.as_deref() == Some("true");
    let list = ListParams {
        status: nonempty(&p.status),
        procedure: nonempty(&p.procedure),
        assigned: nonempty(&p.assigned),
        due_by: None,
        overdue: overdue.then_some(true),
        unit: nonempty(&p.unit),
        agency: nonempty(&p.agency),
        after: nonempty(&p.after),
        limit: Some(50),
    };
    let query = list.query().page(ctx.lang)?;
    let listed = uc::list(&state, &caller.0, query)
        .await
        .map_err(AppError::from)
        .page(ctx.lang)?;
    let page = ApplicationPage::of(listed).page(ctx.lang)?;
    let t = ctx.t();
    let mut rows = Vec::with_capacity(page.items.len());
    for a in page.items {
        let name = super::labels::procedure(&state, &a.procedure_code, ctx.lang)
            .await
            .page(ctx.lang)?;
        rows.push(row(t, a, name));
    }
    let status = nonempty(&p.status).unwrap_or_default();
    let statuses = status_choices(t, &status);
    let next_href = page.next.map(|n| next_page(&p, &n));
    let mut res = render(&QueueTemplate {
        shell: ctx.shell("queue", t.get("queue-title")),
        rows,
        statuses,
        assigned: nonempty(&p.assigned).unwrap_or_default(),
        overdue,
        procedure: nonempty(&p.procedure).unwrap_or_default(),
        next_href,
        unit: nonempty(&p.unit).unwrap_or_default(),
        t,
    });
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

struct Fact {
    label: String,
    value: String,
}

#[derive(Template)]
#[template(path = "queue_item.html")]
struct ItemTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    number: String,
    facts: Vec<Fact>,
    /// `(key, value, prefilled)`.
    answers: Vec<(String, String, bool)>,
    /// `(field, note)`.
    flags: Vec<(String, String)>,
    documents: Vec<(String, String)>,
    /// The applicant's checked signature: `(signer, identifier, root, when)`.
    signature: Option<(String, String, String, String)>,
    /// `(when, who, from → to, comment)`.
    events: Vec<(String, String, String, String)>,
    /// Where an officer may move it: `(value, label)`.
    moves: Vec<(String, String)>,
    revision: i64,
    can_take: bool,
    error: Option<String>,
}

/// What the officer sees first: the procedure, status, applicant, deadline and assignee.
async fn facts_of(
    state: &AppState,
    ctx: &PageCtx,
    view: &ApplicationView,
) -> Result<Vec<Fact>, AppError> {
    let t = ctx.t();
    let status = |s: Status| super::applications::status_name(t, s);
    Ok(vec![
        Fact {
            label: t.get("status-procedure"),
            value: format!(
                "{}, v{}",
                super::labels::procedure(state, &view.procedure_code, ctx.lang).await?,
                view.procedure_version
            ),
        },
        Fact {
            label: t.get("me-col-status"),
            value: status(view.status),
        },
        Fact {
            label: t.get("result-applicant"),
            value: view.applicant.clone().unwrap_or_default(),
        },
        Fact {
            label: t.get("me-col-due"),
            value: match (&view.due_on, view.working_days_left) {
                (Some(d), Some(n)) if n < 0 => format!("{d} — {}", t.get("queue-overdue")),
                (Some(d), Some(n)) => format!("{d} — {n} {}", t.get("queue-working-days")),
                (Some(d), None) => d.clone(),
                _ => "—".into(),
            },
        },
        Fact {
            label: t.get("queue-assignee"),
            value: view.assigned_to.clone().unwrap_or_else(|| "—".into()),
        },
    ])
}

/// Every move of the application: when, who, from which status to which, and why.
fn event_rows(t: Tr, view: &ApplicationView) -> Vec<(String, String, String, String)> {
    let status = |s: Status| super::applications::status_name(t, s);
    view.events
        .iter()
        .flatten()
        .map(|e| {
            (
                e.at.local_display(),
                e.actor.clone(),
                format!(
                    "{} → {}",
                    e.from_status.map(status).unwrap_or_else(|| "—".into()),
                    status(e.to_status)
                ),
                e.comment.clone().unwrap_or_default(),
            )
        })
        .collect()
}

async fn item(
    state: &AppState,
    ctx: &PageCtx,
    caller: &Caller,
    addr: Option<String>,
    headers: &HeaderMap,
    number: &str,
    error: Option<String>,
) -> Result<(ItemTemplate, Option<HeaderValue>), AppError> {
    staff_only(caller)?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let view = ApplicationView::full(uc::read(state, who, number).await?, sohoa_app::calendar()?);
    let t = ctx.t();
    let (csrf, cookie) = auth::csrf_token(headers)?;
    let status = |s: Status| super::applications::status_name(t, s);
    let facts = facts_of(state, ctx, &view).await?;
    // Only officers process; a leader or an auditor reads.
    let officer =
        matches!(&caller.0, Principal::Staff(s) if s.role == sohoa_domain::policy::Role::Officer);
    let moves = Status::ALL
        .iter()
        .filter(|to| officer && view.status.mover_to(**to) == Ok(Mover::Officer))
        .map(|to| (to.as_str().to_owned(), status(*to)))
        .collect();
    let me = match &caller.0 {
        Principal::Staff(s) => Some(s.username.clone()),
        _ => None,
    };
    Ok((
        ItemTemplate {
            shell: ctx.shell(
                "queue",
                format!("{} {}", t.get("queue-application"), view.number),
            ),
            csrf,
            number: view.number.to_string(),
            facts,
            answers: view
                .answers
                .iter()
                .flatten()
                .map(|a| {
                    (
                        a.key.clone(),
                        sohoa_domain::services::application::readable(&a.value),
                        a.prefilled,
                    )
                })
                .collect(),
            flags: view
                .flags
                .iter()
                .flatten()
                .map(|f| (f.field.clone(), f.note.clone()))
                .collect(),
            documents: view
                .documents
                .iter()
                .flatten()
                .map(|d| (d.code.clone(), d.document.name.clone()))
                .collect(),
            signature: signature_row(t, &view),
            events: event_rows(t, &view),
            moves,
            revision: view.revision,
            can_take: officer && !view.status.is_closed() && view.assigned_to != me,
            error,
            t,
        },
        cookie,
    ))
}

/// The applicant's checked signature as the officer reads it.
fn signature_row(t: Tr, view: &ApplicationView) -> Option<(String, String, String, String)> {
    view.signature.as_ref().map(|s| {
        let when = sohoa_domain::Timestamp::parse(&s.signed_at)
            .map(|at| at.local_display())
            .unwrap_or_else(|_| s.signed_at.clone());
        let how = if s.time_stamped {
            t.get("queue-signature-stamped")
        } else {
            t.get("queue-signature-received")
        };
        (
            s.signer.clone(),
            s.identifier.clone().unwrap_or_default(),
            s.issuer.clone(),
            format!("{when} ({how})"),
        )
    })
}

/// One application, for the staff who may read it (the reading is audited).
pub async fn queue_item(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> PageResult<Response> {
    let (tpl, cookie) = item(&state, &ctx, &caller, addr, &headers, &number, None)
        .await
        .page(ctx.lang)?;
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    csrf: String,
    /// A status to move to, or `take` to assign it to oneself.
    action: String,
    #[serde(default)]
    comment: String,
    revision: Option<i64>,
}

/// Moves or takes the application; back to its page, with the error there if refused.
pub async fn queue_act(
    State(state): State<AppState>,
    ctx: PageCtx,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(number): Path<String>,
    form: Result<Form<MoveForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let Ok(Form(f)) = form else {
        return Err(AppError::bad_request("invalid_body")).page(ctx.lang);
    };
    auth::check_csrf(&headers, &f.csrf).page(ctx.lang)?;
    staff_only(&caller).page(ctx.lang)?;
    let outcome = if f.action == "take" {
        let me = match &caller.0 {
            Principal::Staff(s) => s.username.clone(),
            _ => String::new(),
        };
        let who = Acting::new(&caller.0, addr.as_deref());
        uc::assign_to(&state, who, &number, Some(&me))
            .await
            .map(drop)
            .map_err(AppError::from)
    } else {
        match Status::parse(&f.action) {
            None => Err(AppError::bad_request("invalid_query").field("action")),
            Some(to) => {
                let body = TransitionRequest {
                    to,
                    comment: Some(f.comment.trim().to_owned()).filter(|c| !c.is_empty()),
                    revision: f.revision,
                };
                let who = Acting::new(&caller.0, addr.as_deref());
                uc::move_to(&state, who, &number, &body.command())
                    .await
                    .map(drop)
                    .map_err(AppError::from)
            }
        }
    };
    match outcome {
        Ok(()) => Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/queue/{number}"))],
        )
            .into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let message = e.message(ctx.lang);
            let (tpl, cookie) = item(
                &state,
                &ctx,
                &caller,
                addr,
                &headers,
                &number,
                Some(message),
            )
            .await
            .page(ctx.lang)?;
            let mut res = render(&tpl);
            *res.status_mut() = e.status;
            Ok(super::account::with_cookie(res, cookie))
        }
        Err(e) => Err(e).page(ctx.lang),
    }
}
