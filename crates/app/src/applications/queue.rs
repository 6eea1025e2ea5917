//! Lists of applications: a citizen's own, and staff's queues.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::policy::{Action, Principal, Role, Target};
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::services::workflow::Status;
use sohoa_domain::UnitCode;
use sohoa_storage::applications::{self as store, Application, QueueCursor};

use crate::{App, Error, Result};

/// Whose applications, of the staff's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    Nobody,
    Me,
    Officer(String),
}

/// What to list; every filter narrows what the caller may see, none widens it.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub procedure: Option<ProcedureCode>,
    /// Staff only.
    pub assigned: Option<Assigned>,
    pub due_by: Option<time::Date>,
    pub overdue: bool,
    /// Staff only: a commune within their reach (the dashboard's drill-down).
    pub unit: Option<UnitCode>,
    /// Staff only: an agency within their reach.
    pub agency: Option<AgencyCode>,
    pub after: Option<QueueCursor>,
    pub limit: u32,
}

/// A page of a list.
#[derive(Debug)]
pub struct Listed {
    pub items: Vec<Application>,
    pub next: Option<QueueCursor>,
    /// The caller's own applications (a citizen's list). Anyone else's list is not a read
    /// of each applicant's personal data, and is shown without it.
    pub own: bool,
}

/// A citizen's own applications, or a member of staff's queue: their agency's (and
/// unit's) applications, soonest due first; a city-wide leader sees every agency's.
pub async fn list(app: &App, who: &Principal, l: ListQuery) -> Result<Listed> {
    let mut q = store::Query::default();
    match who {
        Principal::Citizen(me) => q.applicant = Some(me.clone()),
        Principal::Staff(s) if matches!(s.role, Role::Officer | Role::Leader) => {
            q.agency = s.agency.clone();
            q.unit = s.unit.clone();
            q.submitted_only = true;
            if s.role == Role::Officer && q.agency.is_none() {
                return Err(Error::forbidden("forbidden"));
            }
            q.assigned_to = l.assigned.map(|a| match a {
                Assigned::Nobody => String::new(),
                Assigned::Me => s.username.clone(),
                Assigned::Officer(u) => u,
            });
        }
        _ => return Err(Error::forbidden("forbidden")),
    }
    // Narrowing only: a bound member of staff asking for another unit or agency sees none
    // of it, which the policy's answer for the target makes a refusal.
    if matches!(who, Principal::Staff(_)) {
        if let Some(unit) = l.unit {
            if q.unit.as_ref().is_some_and(|mine| *mine != unit) {
                return Err(Error::forbidden("forbidden"));
            }
            q.unit = Some(unit);
        }
        if let Some(agency) = l.agency {
            crate::authorize(who, Action::ReadApplication, &Target::agency(&agency))?;
            q.agency = Some(agency);
        }
    }
    q.status = l.status;
    q.procedure = l.procedure;
    q.due_by = l.due_by;
    q.overdue_on = l.overdue.then(crate::today);
    if !(1..=200).contains(&l.limit) {
        return Err(Error::bad_request("invalid_page"));
    }
    let (items, next) = store::list(&app.db, &q, l.after.as_ref(), l.limit).await?;
    Ok(Listed {
        items,
        next,
        own: matches!(who, Principal::Citizen(_)),
    })
}
