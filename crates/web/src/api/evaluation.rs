//! The service evaluation: applicants rate decided applications; leaders read, per commune
//! and agency over a span of months, satisfaction, applications' on-time rate, and how many
//! reports were resolved and how fast. The public reads the same per commune over whole
//! months that have ended, each figure as published from at least five cases and
//! published again only after five more changes (see `publishable`): no reading, and no
//! difference of two readings, points at fewer than five people.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::feedback::evaluation::{
    median_hours, publishable, ratio, Basis, Month, PublicFigure, MIN_PUBLIC_CELL,
};
use sohoa_domain::policy::{Action, Target};
use sohoa_storage::feedback::{self as store, Cell, GroupBy};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRating {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    #[schema(minimum = 1, maximum = 5, example = 5)]
    pub satisfaction: i64,
    /// Whether the applicant got the result when promised.
    pub on_time: bool,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationRatingView {
    pub number: String,
    pub satisfaction: i64,
    pub on_time: bool,
    pub comment: Option<String>,
    pub rated_at: String,
}

/// The applicant rates a decided application, once.
#[utoipa::path(post, path = "/api/v1/applications/{number}/rating", tag = "feedback", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")), request_body = ApplicationRating,
    responses((status = 201, body = ApplicationRatingView), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn rate_application(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<ApplicationRating>,
) -> ApiResult<(StatusCode, Json<ApplicationRatingView>)> {
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    let r = sohoa_app::applications::rate(
        &state,
        who,
        &number,
        body.satisfaction,
        body.on_time,
        body.comment.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApplicationRatingView {
            number: r.number,
            satisfaction: r.satisfaction,
            on_time: r.on_time,
            comment: r.comment,
            rated_at: r.rated_at,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// First month, `YYYY-MM` (default: eleven months before `to`).
    #[param(value_type = Option<sohoa_domain::feedback::evaluation::Month>)]
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (default: this month).
    #[param(value_type = Option<sohoa_domain::feedback::evaluation::Month>)]
    pub to: Option<String>,
    /// `unit` (default), `agency`, or `unit_agency` (leaders only).
    #[param(pattern = "^(unit|agency|unit_agency)$")]
    pub by: Option<String>,
}

/// One row of the evaluation. Rates are 0-1; a figure is `null` when nothing was counted
/// (or, publicly, fewer than five cases).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    pub unit_code: Option<String>,
    pub agency_code: Option<String>,
    /// Average of applicants' and reporters' ratings (1-5).
    pub satisfaction: Option<f64>,
    pub ratings: i64,
    /// Share of applications decided by their due day.
    pub on_time_rate: Option<f64>,
    pub applications_decided: i64,
    /// Share of reports filed in the period that are resolved.
    pub resolution_rate: Option<f64>,
    pub reports_received: i64,
    pub reports_resolved: i64,
    /// Median hours from filing to resolution (read from hour buckets: exact to a bucket).
    pub median_resolution_hours: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub from: String,
    pub to: String,
    /// When the figures were read: they are live.
    pub as_of: String,
    pub rows: Vec<Figures>,
}

pub(crate) fn figures(c: &Cell, public: bool) -> Figures {
    let ratings = c.app_ratings + c.report_ratings;
    let small = |n: i64| public && n < MIN_PUBLIC_CELL;
    let hide = |n: i64, v: Option<f64>| if small(n) { None } else { v };
    let round = |v: Option<f64>| v.map(|x| (x * 1000.0).round() / 1000.0);
    Figures {
        unit_code: c.unit_code.clone(),
        agency_code: c.agency_code.clone(),
        satisfaction: round(hide(
            ratings,
            ratio(c.app_score_sum + c.report_score_sum, ratings),
        )),
        ratings,
        on_time_rate: round(hide(c.apps_decided, ratio(c.apps_on_time, c.apps_decided))),
        applications_decided: c.apps_decided,
        resolution_rate: round(hide(
            c.reports_received,
            ratio(c.reports_resolved, c.reports_received),
        )),
        reports_received: c.reports_received,
        reports_resolved: c.reports_resolved,
        median_resolution_hours: round(hide(c.reports_resolved, median_hours(&c.resolution))),
    }
}

pub(crate) fn period(p: &Period) -> Result<(Month, Month), AppError> {
    let month = |s: &str, field: &'static str| {
        Month::parse(s).map_err(|_| AppError::bad_request("invalid_month").field(field))
    };
    let to = match p.to.as_deref() {
        Some(s) => month(s, "to")?,
        None => Month::of(sohoa_domain::timestamp::today()),
    };
    let from = match p.from.as_deref() {
        Some(s) => month(s, "from")?,
        None => to.minus(11),
    };
    if from > to {
        return Err(AppError::bad_request("invalid_month").field("from"));
    }
    Ok((from, to))
}

/// What a public figure rests on in a cell of counters.
fn basis(figure: PublicFigure, c: &Cell) -> Basis {
    match figure {
        PublicFigure::Satisfaction => {
            let n = c.app_ratings + c.report_ratings;
            Basis {
                cases: n,
                changes: n,
            }
        }
        PublicFigure::OnTime => Basis {
            cases: c.apps_decided,
            changes: c.apps_decided,
        },
        PublicFigure::Resolution => Basis {
            cases: c.reports_received,
            changes: c.reports_received + c.reports_resolved,
        },
        PublicFigure::ResolutionTime => Basis {
            cases: c.reports_resolved,
            changes: c.reports_resolved,
        },
    }
}

/// The public evaluation: per commune, summed over the closed months of the period, each
/// month's figure as last published (publishing anew those whose live counters allow it).
/// A range sums published months only, so two ranges one month apart differ by a month
/// that was itself published from at least five cases.
async fn evaluate_public(state: &AppState, p: &Period) -> Result<Evaluation, AppError> {
    let (from, to) = period(p)?;
    if !matches!(p.by.as_deref(), None | Some("unit")) {
        return Err(AppError::bad_request("invalid_query").field("by"));
    }
    // The month under way changes with every case: only ended months are published.
    let to = to.min(Month::of(sohoa_domain::timestamp::today()).minus(1));
    let mut rows: std::collections::BTreeMap<String, [Cell; 4]> = Default::default();
    if from <= to {
        let live = store::cells_by_month(&state.db, from, to).await?;
        let mut last: std::collections::HashMap<(Month, String, PublicFigure), Cell> =
            Default::default();
        for (month, figure, cell) in store::published(&state.db, from, to).await? {
            last.insert(
                (month, cell.unit_code.clone().unwrap_or_default(), figure),
                cell,
            );
        }
        let mut fresh = Vec::new();
        for (month, cell) in &live {
            let unit = cell.unit_code.clone().unwrap_or_default();
            for (i, figure) in PublicFigure::ALL.into_iter().enumerate() {
                let before = last.get(&(*month, unit.clone(), figure));
                let shown = if publishable(before.map(|c| basis(figure, c)), basis(figure, cell)) {
                    fresh.push((*month, figure, cell.clone()));
                    Some(cell)
                } else {
                    before
                };
                if let Some(c) = shown {
                    rows.entry(unit.clone())
                        .or_insert_with(|| std::array::from_fn(|_| Cell::of_unit(&unit)))[i]
                        .merge(c);
                }
            }
        }
        store::publish(&state.db, &fresh).await?;
    }
    Ok(Evaluation {
        from: from.to_string(),
        to: to.to_string(),
        as_of: sohoa_domain::Timestamp::now().to_string(),
        rows: rows
            .values()
            .map(|[sat, on_time, resolution, time]| {
                let (s, o, r, t) = (
                    figures(sat, true),
                    figures(on_time, true),
                    figures(resolution, true),
                    figures(time, true),
                );
                Figures {
                    unit_code: s.unit_code,
                    agency_code: None,
                    satisfaction: s.satisfaction,
                    ratings: s.ratings,
                    on_time_rate: o.on_time_rate,
                    applications_decided: o.applications_decided,
                    resolution_rate: r.resolution_rate,
                    reports_received: r.reports_received,
                    reports_resolved: r.reports_resolved,
                    median_resolution_hours: t.median_resolution_hours,
                }
            })
            .collect(),
    })
}

pub(crate) async fn evaluate(
    state: &AppState,
    p: &Period,
    public: bool,
) -> Result<Evaluation, AppError> {
    if public {
        return evaluate_public(state, p).await;
    }
    let (from, to) = period(p)?;
    let by = match (p.by.as_deref(), public) {
        (None | Some("unit"), _) => GroupBy::Unit,
        (Some("agency"), false) => GroupBy::Agency,
        (Some("unit_agency"), false) => GroupBy::UnitAndAgency,
        _ => return Err(AppError::bad_request("invalid_query").field("by")),
    };
    let cells = store::cells(&state.db, from, to, by).await?;
    Ok(Evaluation {
        from: from.to_string(),
        to: to.to_string(),
        as_of: sohoa_domain::Timestamp::now().to_string(),
        rows: cells.iter().map(|c| figures(c, public)).collect(),
    })
}

/// The full evaluation for leaders and city administrators, by commune, agency or both.
#[utoipa::path(get, path = "/api/v1/evaluation", tag = "feedback", security(("bearer" = [])), params(Period),
    responses((status = 200, body = Evaluation), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn full(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Period>,
) -> ApiResult<Json<Evaluation>> {
    caller.authorize(Action::ReadEvaluation, &Target::default())?;
    Ok(Json(evaluate(&state, &p, false).await?))
}

/// The public evaluation: per commune over the months of the period that have ended, no
/// figure (nor any difference of two readings) from fewer than five cases.
#[utoipa::path(get, path = "/api/v1/evaluation/public", tag = "feedback", params(Period),
    responses((status = 200, body = Evaluation), (status = 400, body = crate::error::ErrorBody)))]
pub async fn public(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<Period>,
) -> ApiResult<Json<Evaluation>> {
    Ok(Json(evaluate(&state, &p, true).await?))
}
