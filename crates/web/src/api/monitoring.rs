//! Live procedure monitoring for leaders: received, in progress, overdue now, decided on
//! time or late, mean and median processing days, by city, agency, commune, procedure or
//! month. Read from counters kept in the applications' own transactions (storage's
//! `monitoring`), so a dashboard costs what it shows. The drill-down to the overdue
//! applications themselves is the applications list with `overdue=true&unit=`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sohoa_app::monitoring::{self as uc, By, Filter, Monitoring};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::UnitCode;
use utoipa::IntoParams;

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

impl MonitorParams {
    /// The applications to count, as asked.
    pub(crate) fn filter(&self) -> Result<Filter, AppError> {
        let bad = |field: &'static str| AppError::bad_request("invalid_query").field(field);
        fn nonempty(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let agency = match nonempty(&self.agency) {
            Some(a) => Some(AgencyCode::parse(a).map_err(|_| bad("agency"))?),
            None => None,
        };
        let unit = match nonempty(&self.unit) {
            Some(u) => Some(UnitCode::parse(u).map_err(|_| bad("unit"))?),
            None => None,
        };
        let procedure = match nonempty(&self.procedure) {
            Some(c) => Some(ProcedureCode::parse(c).ok_or_else(|| bad("procedure"))?),
            None => None,
        };
        let span = super::evaluation::Period {
            from: self.from.clone(),
            to: self.to.clone(),
            by: None,
        }
        .span()?;
        Ok(Filter {
            agency,
            unit,
            procedure,
            span,
        })
    }
}

/// The table as CSV: one line per row, with the period and the "as of" time repeated
/// on each line so a copied line keeps its context.
pub(crate) fn csv(m: &Monitoring) -> String {
    let mut out = crate::csv::Writer::new(&[
        "key",
        "received",
        "received_online",
        "online_rate",
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
    for r in &m.rows {
        out.row(&[
            r.key.clone(),
            r.received.to_string(),
            r.received_online.to_string(),
            optf(r.online_rate),
            opt(r.in_progress),
            opt(r.overdue),
            r.decided.to_string(),
            r.decided_on_time.to_string(),
            r.decided_late.to_string(),
            optf(r.on_time_rate),
            optf(r.mean_days),
            optf(r.median_days),
            m.from.clone(),
            m.to.clone(),
            m.as_of.clone(),
        ]);
    }
    out.finish()
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
    let m = uc::read(&state, &caller.0, by, &p.filter()?).await?;
    match p.format.as_deref() {
        None | Some("" | "json") => Ok(Json(m).into_response()),
        Some("csv") => Ok(crate::csv::response(
            &format!("monitoring-{}-{}-{}.csv", m.by, m.from, m.to),
            csv(&m),
        )),
        Some(_) => Err(AppError::bad_request("invalid_query").field("format")),
    }
}
