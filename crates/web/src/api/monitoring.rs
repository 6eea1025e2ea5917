//! Live procedure monitoring for leaders: received, in progress, overdue now, decided on
//! time or late, mean and median processing days, by city, agency, commune, procedure or
//! month. Read from counters kept in the applications' own transactions (storage's
//! `monitoring`), so a dashboard costs what it shows. The drill-down to the overdue
//! applications themselves is the applications list with `overdue=true&unit=`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::feedback::evaluation::ratio;
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::UnitCode;
use sohoa_storage::monitoring::{self as store, By, Scope};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::ApiQuery;
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonitorParams {
    /// `city` (default), `agency`, `unit`, `procedure` or `month`.
    #[param(pattern = "^(city|agency|unit|procedure|month)?$")]
    pub by: Option<String>,
    /// First month of the flows, `YYYY-MM` (default: eleven months before `to`).
    #[param(value_type = Option<sohoa_domain::feedback::evaluation::Month>)]
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (default: this month).
    #[param(value_type = Option<sohoa_domain::feedback::evaluation::Month>)]
    pub to: Option<String>,
    #[param(value_type = Option<sohoa_domain::agency::AgencyCode>)]
    pub agency: Option<String>,
    /// A commune's code.
    #[param(value_type = Option<sohoa_domain::UnitCode>)]
    pub unit: Option<String>,
    #[param(value_type = Option<sohoa_domain::services::procedure::ProcedureCode>)]
    pub procedure: Option<String>,
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)?$")]
    pub format: Option<String>,
}

/// One row. Flows (`received`, `decided_*`, days) count the months asked for; `in_progress`
/// and `overdue` are now, and absent when grouped by month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonitorRow {
    /// What the row is: `city`, an agency, a commune, a procedure or a month.
    pub key: String,
    pub received: i64,
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

#[derive(Debug, Serialize, ToSchema)]
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

pub(crate) fn by_of(s: Option<&str>) -> Result<By, AppError> {
    Ok(match s.unwrap_or("city") {
        "city" | "" => By::City,
        "agency" => By::Agency,
        "unit" => By::Unit,
        "procedure" => By::Procedure,
        "month" => By::Month,
        _ => return Err(AppError::bad_request("invalid_query").field("by")),
    })
}

fn by_name(by: By) -> &'static str {
    match by {
        By::City => "city",
        By::Agency => "agency",
        By::Unit => "unit",
        By::Procedure => "procedure",
        By::Month => "month",
    }
}

/// The scope asked for, narrowed to the caller's agency when they are bound to one, and
/// checked against the policy.
pub(crate) fn scope_of(caller: &Caller, p: &MonitorParams) -> Result<Scope, AppError> {
    let bad = |field: &'static str| AppError::bad_request("invalid_query").field(field);
    fn nonempty(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let mut agency = match nonempty(&p.agency) {
        Some(a) => Some(AgencyCode::parse(a).map_err(|_| bad("agency"))?),
        None => None,
    };
    if agency.is_none() {
        if let Principal::Staff(s) = &caller.0 {
            agency = s.agency.clone();
        }
    }
    match &agency {
        Some(a) => caller.authorize(Action::ReadDashboard, &Target::agency(a))?,
        None => caller.authorize(Action::ReadDashboard, &Target::default())?,
    }
    let unit = match nonempty(&p.unit) {
        Some(u) => Some(UnitCode::parse(u).map_err(|_| bad("unit"))?.to_string()),
        None => None,
    };
    let procedure = match nonempty(&p.procedure) {
        Some(c) => Some(
            ProcedureCode::parse(c)
                .ok_or_else(|| bad("procedure"))?
                .to_string(),
        ),
        None => None,
    };
    let (from, to) = super::evaluation::period(&super::evaluation::Period {
        from: p.from.clone(),
        to: p.to.clone(),
        by: None,
    })?;
    Ok(Scope {
        agency: agency.map(|a| a.to_string()),
        unit,
        procedure,
        from,
        to,
    })
}

pub(crate) async fn read(state: &AppState, by: By, scope: &Scope) -> Result<Monitoring, AppError> {
    let today = super::today().to_string();
    let figures = store::figures(&state.db, by, scope, &today).await?;
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

impl Monitoring {
    /// The table as CSV: one line per row, with the period and the "as of" time repeated
    /// on each line so a copied line keeps its context.
    pub fn csv(&self) -> String {
        let mut out = crate::csv::Writer::new(&[
            "key",
            "received",
            "in_progress",
            "overdue",
            "decided",
            "decided_on_time",
            "decided_late",
            "on_time_rate",
            "mean_days",
            "median_days",
            "from",
            "to",
            "as_of",
        ]);
        let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        let optf = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        for r in &self.rows {
            out.row(&[
                r.key.clone(),
                r.received.to_string(),
                opt(r.in_progress),
                opt(r.overdue),
                r.decided.to_string(),
                r.decided_on_time.to_string(),
                r.decided_late.to_string(),
                optf(r.on_time_rate),
                optf(r.mean_days),
                optf(r.median_days),
                self.from.clone(),
                self.to.clone(),
                self.as_of.clone(),
            ]);
        }
        out.finish()
    }
}

/// Procedure monitoring, live (leaders; an agency's leader sees their agency's).
#[utoipa::path(get, path = "/api/v1/monitoring", tag = "dashboards", security(("bearer" = [])),
    params(MonitorParams),
    responses((status = 200, body = Monitoring, content_type = "application/json"),
        (status = 200, description = "The same table as CSV (`format=csv`)", content_type = "text/csv"),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn monitoring(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<MonitorParams>,
) -> ApiResult<Response> {
    let by = by_of(p.by.as_deref())?;
    let scope = scope_of(&caller, &p)?;
    let m = read(&state, by, &scope).await?;
    match p.format.as_deref() {
        None | Some("" | "json") => Ok(Json(m).into_response()),
        Some("csv") => Ok(crate::csv::response(
            &format!("monitoring-{}-{}-{}.csv", m.by, m.from, m.to),
            m.csv(),
        )),
        Some(_) => Err(AppError::bad_request("invalid_query").field("format")),
    }
}
