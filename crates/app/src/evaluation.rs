//! The service evaluation: per commune and agency over a span of months, satisfaction,
//! applications' on-time rate, and how many reports were resolved and how fast. Leaders
//! read it in full; the public reads it per commune over whole months that have ended,
//! each figure as published from at least five cases and published again only after five
//! more changes (see `publishable`): no reading, and no difference of two readings, points
//! at fewer than five people.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sohoa_domain::feedback::evaluation::{
    median_hours, publishable, ratio, Basis, Month, PublicFigure, MIN_PUBLIC_CELL,
};
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_storage::feedback::{self as store, Cell};

pub use sohoa_storage::feedback::GroupBy;

use crate::{authorize, App, Error, Result};

/// Months `from..=to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: Month,
    pub to: Month,
}

impl Span {
    /// The months asked for; by default the twelve months to this one.
    pub fn new(from: Option<Month>, to: Option<Month>) -> Result<Self> {
        let to = to.unwrap_or_else(|| Month::of(crate::today()));
        let from = from.unwrap_or_else(|| to.minus(11));
        if from > to {
            return Err(Error::bad_request("invalid_month").field("from"));
        }
        Ok(Self { from, to })
    }
}

/// One row's figures: a commune's, an agency's, or an agency's in a commune.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    pub unit_code: Option<String>,
    pub agency_code: Option<String>,
    pub satisfaction: Option<f64>,
    pub ratings: i64,
    pub on_time_rate: Option<f64>,
    pub applications_decided: i64,
    pub resolution_rate: Option<f64>,
    pub reports_received: i64,
    pub reports_resolved: i64,
    pub median_resolution_hours: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evaluation {
    pub from: String,
    pub to: String,
    pub as_of: String,
    pub rows: Vec<Figures>,
}

impl Evaluation {
    fn of(span: Span, rows: Vec<Figures>) -> Self {
        Self {
            from: span.from.to_string(),
            to: span.to.to_string(),
            as_of: sohoa_domain::Timestamp::now().to_string(),
            rows,
        }
    }
}

fn figures(c: &Cell, public: bool) -> Figures {
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

fn basis(figure: PublicFigure, c: &Cell) -> Basis {
    let (cases, changes) = match figure {
        PublicFigure::Satisfaction => {
            let n = c.app_ratings + c.report_ratings;
            (n, n)
        }
        PublicFigure::OnTime => (c.apps_decided, c.apps_decided),
        PublicFigure::Resolution => (c.reports_received, c.reports_received + c.reports_resolved),
        PublicFigure::ResolutionTime => (c.reports_resolved, c.reports_resolved),
    };
    Basis { cases, changes }
}

/// The full evaluation for leaders and city administrators, by commune, agency or both.
pub async fn full(app: &App, who: &Principal, span: Span, by: GroupBy) -> Result<Evaluation> {
    authorize(who, Action::ReadEvaluation, &Target::default())?;
    let cells = app
        .db
        .read_stale(|db| async move { store::cells(&db, span.from, span.to, by).await })
        .await?;
    let rows = cells.iter().map(|c| figures(c, false)).collect();
    Ok(Evaluation::of(span, rows))
}

/// A commune's four figures, each as last published.
type Shown = [Cell; 4];

/// The public evaluation: per commune over the months of the span that have ended, each
/// figure as last published (see [`publish`]). It only reads: asking cannot publish, so a
/// reader can neither make a figure change nor learn when it would.
pub async fn public(app: &App, span: Span) -> Result<Evaluation> {
    // The month under way changes with every case: only ended months are published.
    let span = Span {
        to: span.to.min(last_ended_month()),
        ..span
    };
    let mut rows: BTreeMap<String, Shown> = BTreeMap::new();
    if span.from <= span.to {
        for (_, figure, cell) in app
            .db
            .read_stale(|db| async move { store::published(&db, span.from, span.to).await })
            .await?
        {
            let unit = cell.unit_code.clone().unwrap_or_default();
            let i = PublicFigure::ALL
                .iter()
                .position(|f| *f == figure)
                .unwrap_or_default();
            rows.entry(unit.clone())
                .or_insert_with(|| std::array::from_fn(|_| Cell::of_unit(&unit)))[i]
                .merge(&cell);
        }
    }
    let rows = rows.values().map(public_row).collect();
    Ok(Evaluation::of(span, rows))
}

fn last_ended_month() -> Month {
    Month::of(crate::today()).minus(1)
}

/// The kind of job that publishes the public evaluation, hourly (once across the servers).
pub const PUBLISH: &str = "evaluation.publish";

/// Publishes, for every month that has ended, each commune's figures that grew by enough
/// cases since they were last published (at least five, see `publishable`); how many
/// figures were published. The public evaluation's one writer: the hourly job [`PUBLISH`].
pub async fn publish(db: &sohoa_storage::Db) -> Result<usize> {
    // Every month there is: a commune's month is a few rows, and late ratings of old
    // months must reach the public figures too.
    let (from, to) = (
        Month::of(time::macros::date!(2000 - 01 - 01)),
        last_ended_month(),
    );
    let live = store::cells_by_month(db, from, to).await?;
    let mut last: HashMap<(Month, String, PublicFigure), Cell> = HashMap::new();
    for (month, figure, cell) in store::published(db, from, to).await? {
        let unit = cell.unit_code.clone().unwrap_or_default();
        last.insert((month, unit, figure), cell);
    }
    let mut fresh = Vec::new();
    for (month, cell) in &live {
        let unit = cell.unit_code.clone().unwrap_or_default();
        for figure in PublicFigure::ALL {
            let before = last.get(&(*month, unit.clone(), figure));
            if publishable(before.map(|c| basis(figure, c)), basis(figure, cell)) {
                fresh.push((*month, figure, cell.clone()));
            }
        }
    }
    store::publish(db, &fresh).await?;
    Ok(fresh.len())
}

/// A commune's public row: each figure from the cell it was published with.
fn public_row([sat, on_time, resolution, time]: &Shown) -> Figures {
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
}
