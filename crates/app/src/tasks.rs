//! Strategic tasks the People's Committee assigns to agencies, their progress reports, and
//! the per-agency scorecard leaders assess units with: tasks done on time, the on-time
//! rate of applications, and satisfaction.

use std::collections::BTreeMap;

use serde::Serialize;
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::feedback::evaluation::ratio;
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::registry::date_text;
use sohoa_domain::tasks::{after_report, Progress, TaskStatus};
use sohoa_storage::indicators::{self as store, Task};
use time::Date;

use crate::evaluation::Span;
use crate::{authorize, Acting, App, Error, Result};

/// Whether the task is still open past its due day.
pub fn overdue(t: &Task, today: Date) -> bool {
    !t.status.is_closed() && t.due_on < today
}

/// A task as the city's leaders write it.
#[derive(Debug)]
pub struct NewTask {
    pub title: String,
    /// What counts as done, measurably.
    pub target: String,
    pub agency: AgencyCode,
    pub due_on: Date,
}

fn text_field(s: &str, field: &'static str, max: usize) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(Error::unprocessable("invalid_task").field(field));
    }
    Ok(s.to_owned())
}

/// Assigns a strategic task to an agency (the city's leaders).
pub async fn assign(app: &App, who: Acting<'_>, t: NewTask) -> Result<Task> {
    authorize(who.principal, Action::AssignTasks, &Target::default())?;
    let title = text_field(&t.title, "title", 300)?;
    let target = text_field(&t.target, "target", 1000)?;
    if sohoa_storage::agencies::get(&app.db, &t.agency)
        .await?
        .is_none()
    {
        return Err(Error::unprocessable("agency_not_found").field("agency_code"));
    }
    if t.due_on < crate::today() {
        return Err(Error::unprocessable("invalid_task").field("due_on"));
    }
    let id: [u8; 6] = crate::random_bytes()?;
    let now = sohoa_domain::Timestamp::now();
    let task = Task {
        id: format!("NV{}", hex::encode_upper(id)),
        title,
        target,
        agency_code: t.agency,
        due_on: t.due_on,
        status: TaskStatus::Assigned,
        progress: 0,
        assigned_by: who.actor(),
        created_at: now,
        completed_on: None,
        updated_at: now,
    };
    let record = AuditRecord::new(who.actor(), "task.assign", "task", task.id.as_str())
        .client_addr(who.addr());
    store::create_task(&app.db, &task, record).await?;
    Ok(task)
}

/// The caller's own agency, when they are bound to one.
fn own_agency(who: &Principal) -> Option<AgencyCode> {
    match who {
        Principal::Staff(s) => s.agency.clone(),
        _ => None,
    }
}

/// Strategic tasks, soonest due first: the agency asked for (checked), else the caller's
/// own agency's, else (the city's leaders) all.
pub async fn list(app: &App, who: &Principal, asked: Option<AgencyCode>) -> Result<Vec<Task>> {
    let agency = asked.or_else(|| own_agency(who));
    let target = agency.as_ref().map(Target::agency).unwrap_or_default();
    authorize(who, Action::ReadDashboard, &target)
        .or_else(|_| authorize(who, Action::ReportTaskProgress, &target))?;
    if agency.is_none() {
        // Only the city's leaders see every agency's tasks.
        authorize(who, Action::AssignTasks, &Target::default())?;
    }
    Ok(store::tasks(&app.db, agency.as_ref().map(AgencyCode::as_str)).await?)
}

/// Reports a task's progress (the assigned agency's officers and leaders); 100 closes it
/// as done.
pub async fn report(
    app: &App,
    who: Acting<'_>,
    id: &str,
    progress: i64,
    note: Option<&str>,
) -> Result<Task> {
    let not_found = || Error::not_found("task_not_found");
    let before = store::task_by_id(&app.db, id)
        .await?
        .ok_or_else(not_found)?;
    let target = Target::agency(&before.agency_code);
    if let Err(e) = authorize(who.principal, Action::ReportTaskProgress, &target) {
        // A task the caller may not even see is one that does not exist, to them.
        let sees = authorize(who.principal, Action::ReadDashboard, &target).is_ok();
        return Err(if sees { e } else { not_found() });
    }
    let progress = Progress::new(progress)
        .ok_or_else(|| Error::unprocessable("invalid_progress").field("progress"))?;
    let note = crate::feedback::reports::note_of(note, "note")?;
    let status =
        after_report(before.status, progress).ok_or_else(|| Error::conflict("task_closed"))?;
    let mut after = before.clone();
    after.progress = i64::from(progress.get());
    after.status = status;
    after.completed_on = (status == TaskStatus::Done).then(crate::today);
    after.updated_at = sohoa_domain::Timestamp::now();
    let record = AuditRecord::new(who.actor(), "task.progress", "task", before.id.as_str())
        .client_addr(who.addr());
    if !store::report_progress(&app.db, &before, &after, note.as_deref(), record).await? {
        return Err(Error::conflict("task_changed"));
    }
    Ok(after)
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl ScoreRow {
    fn new(agency_code: &str) -> Self {
        Self {
            agency_code: agency_code.to_owned(),
            tasks: 0,
            tasks_done_on_time: 0,
            tasks_done_late: 0,
            tasks_overdue: 0,
            applications_on_time_rate: None,
            applications_decided: 0,
            satisfaction: None,
            ratings: 0,
        }
    }

    fn count(&mut self, t: &Task, today: Date) {
        self.tasks += 1;
        match (t.completed_on, t.status) {
            (Some(done), TaskStatus::Done) if done <= t.due_on => self.tasks_done_on_time += 1,
            (Some(_), TaskStatus::Done) => self.tasks_done_late += 1,
            _ if t.due_on < today => self.tasks_overdue += 1,
            _ => {}
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scorecard {
    pub from: String,
    pub to: String,
    pub as_of: String,
    pub rows: Vec<ScoreRow>,
}

/// The rows of a scorecard: one per agency, or only the caller's own.
struct Rows {
    own: Option<AgencyCode>,
    rows: BTreeMap<String, ScoreRow>,
}

impl Rows {
    fn of(&mut self, agency: &str) -> Option<&mut ScoreRow> {
        if self.own.as_ref().is_some_and(|o| o.as_str() != agency) {
            return None;
        }
        Some(
            self.rows
                .entry(agency.to_owned())
                .or_insert_with(|| ScoreRow::new(agency)),
        )
    }
}

/// Per agency: strategic tasks, applications' on-time rate and satisfaction over `span`
/// (leaders; an agency's leader sees their agency's row).
pub async fn scorecard(app: &App, who: &Principal, span: Span) -> Result<Scorecard> {
    let own = own_agency(who);
    let target = own.as_ref().map(Target::agency).unwrap_or_default();
    authorize(who, Action::ReadDashboard, &target)?;
    let today = crate::today();
    let own_code = own.as_ref().map(ToString::to_string);
    let mut rows = Rows {
        own,
        rows: BTreeMap::new(),
    };
    for t in store::tasks(&app.db, own_code.as_deref()).await? {
        if t.status == TaskStatus::Cancelled {
            continue;
        }
        if let Some(r) = rows.of(t.agency_code.as_str()) {
            r.count(&t, today);
        }
    }
    let scope = sohoa_storage::monitoring::Scope {
        agency: own_code,
        unit: None,
        procedure: None,
        from: span.from,
        to: span.to,
    };
    let by = sohoa_storage::monitoring::By::Agency;
    let day = date_text(today);
    for f in sohoa_storage::monitoring::figures(&app.db, by, &scope, &day).await? {
        if let Some(r) = rows.of(&f.key) {
            r.applications_decided = f.decided();
            r.applications_on_time_rate = ratio(f.decided_on_time, f.decided());
        }
    }
    let by = sohoa_storage::feedback::GroupBy::Agency;
    for c in sohoa_storage::feedback::cells(&app.db, span.from, span.to, by).await? {
        let ratings = c.app_ratings + c.report_ratings;
        let row = c.agency_code.as_deref().filter(|_| ratings > 0);
        if let Some(r) = row.and_then(|a| rows.of(a)) {
            r.ratings = ratings;
            r.satisfaction = ratio(c.app_score_sum + c.report_score_sum, ratings);
        }
    }
    Ok(Scorecard {
        from: span.from.to_string(),
        to: span.to.to_string(),
        as_of: sohoa_domain::Timestamp::now().to_string(),
        rows: rows.rows.into_values().collect(),
    })
}
