//! Live procedure monitoring for leaders: received, in progress, overdue now, decided on
//! time or late, mean and median processing days, by city, agency, commune, procedure or
//! month. Read from counters kept in the applications' own transactions (storage's
//! `monitoring`), so a dashboard costs what it shows.

use serde::Serialize;
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::feedback::evaluation::ratio;
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::UnitCode;
use sohoa_storage::monitoring::{self as store, Scope};

pub use sohoa_storage::monitoring::By;

use crate::evaluation::Span;
use crate::{authorize, App, Result};

/// Which applications to count: all the caller may see, or narrowed.
#[derive(Debug, Clone)]
pub struct Filter {
    pub agency: Option<AgencyCode>,
    pub unit: Option<UnitCode>,
    pub procedure: Option<ProcedureCode>,
    pub span: Span,
}

/// One row. Flows (`received`, `decided_*`, days) count the months asked for; `in_progress`
/// and `overdue` are now, and absent when grouped by month.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonitorRow {
    /// What the row is: `city`, an agency, a commune, a procedure or a month.
    pub key: String,
    pub received: i64,
    /// Of those received, filed online (not at a counter).
    pub received_online: i64,
    /// The share filed online (0-1): the national digital-transformation index's figure.
    pub online_rate: Option<f64>,
    pub in_progress: Option<i64>,
    /// Waiting past their due day with the clock running.
    pub overdue: Option<i64>,
    pub decided: i64,
    pub decided_on_time: i64,
    pub decided_late: i64,
    /// Share of decisions on or before the due day (0-1).
    pub on_time_rate: Option<f64>,
    /// Calendar days from receipt to decision.
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Monitoring {
    pub by: String,
    pub from: String,
    pub to: String,
    /// The day "overdue" is reckoned on (the city's calendar).
    pub today: String,
    /// When the figures were read: they are live.
    pub as_of: String,
    pub rows: Vec<MonitorRow>,
}

/// The name of a grouping, as queries and CSV files write it.
pub fn by_name(by: By) -> &'static str {
    match by {
        By::City => "city",
        By::Agency => "agency",
        By::Unit => "unit",
        By::Procedure => "procedure",
        By::Month => "month",
    }
}

/// The filter narrowed to the caller's agency when they are bound to one, and checked
/// against the policy.
fn scope_of(who: &Principal, f: &Filter) -> Result<Scope> {
    let own = match who {
        Principal::Staff(s) => s.agency.clone(),
        _ => None,
    };
    let agency = f.agency.clone().or(own);
    let target = agency.as_ref().map_or_else(Target::default, Target::agency);
    authorize(who, Action::ReadDashboard, &target)?;
    Ok(Scope {
        agency: agency.map(|a| a.to_string()),
        unit: f.unit.as_ref().map(ToString::to_string),
        procedure: f.procedure.as_ref().map(ToString::to_string),
        from: f.span.from,
        to: f.span.to,
    })
}

/// The figures, grouped `by`, live (leaders; an agency's leader sees their agency's).
pub async fn read(app: &App, who: &Principal, by: By, f: &Filter) -> Result<Monitoring> {
    let scope = scope_of(who, f)?;
    let today = crate::today().to_string();
    let (within, on) = (&scope, &today);
    let figures = app
        .db
        .read_stale(|db| async move { store::figures(&db, by, within, on).await })
        .await?;
    let round = |v: Option<f64>| v.map(|x| (x * 100.0).round() / 100.0);
    Ok(Monitoring {
        by: by_name(by).to_owned(),
        from: scope.from.to_string(),
        to: scope.to.to_string(),
        today,
        as_of: sohoa_domain::Timestamp::now().to_string(),
        rows: figures
            .iter()
            .map(|f| MonitorRow {
                key: f.key.clone(),
                received: f.received,
                received_online: f.received_online,
                online_rate: ratio(f.received_online, f.received)
                    .map(|r| (r * 1000.0).round() / 1000.0),
                in_progress: f.in_progress,
                overdue: f.overdue,
                decided: f.decided(),
                decided_on_time: f.decided_on_time,
                decided_late: f.decided_late,
                on_time_rate: ratio(f.decided_on_time, f.decided())
                    .map(|r| (r * 1000.0).round() / 1000.0),
                mean_days: round(f.mean_days()),
                median_days: round(f.median_days()),
            })
            .collect(),
    })
}
