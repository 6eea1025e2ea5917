//! The leaders' dashboard (city → commune → the overdue applications themselves, with
//! strategic tasks and the agencies' scorecard) and the public indicators pages. Every
//! table has a CSV download and every figure its "as of" time.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::charts::{bars, line, num, Point};
use super::{render, PageCtx, Shell};
use crate::api::forecasts::IndicatorForecast;
use crate::api::monitoring::{by_of, MonitorParams};
use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::Tr;
use crate::AppState;
use sohoa_app::indicators::PublishedValue;
use sohoa_app::monitoring::{read, By, MonitorRow, Monitoring};

#[derive(Debug, Default, Deserialize)]
pub struct DashParams {
    unit: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// A row of a monitoring table, ready to print.
struct Row {
    key: String,
    name: String,
    href: Option<String>,
    cells: Vec<String>,
}

fn cells(r: &MonitorRow) -> Vec<String> {
    let opt = |v: Option<i64>| v.map(|x| num(x as f64)).unwrap_or_default();
    let optf = |v: Option<f64>| v.map(num).unwrap_or_default();
    vec![
        num(r.received as f64),
        r.online_rate
            .map(|x| format!("{}%", num(x * 100.0)))
            .unwrap_or_default(),
        opt(r.in_progress),
        opt(r.overdue),
        num(r.decided_on_time as f64),
        num(r.decided_late as f64),
        r.on_time_rate
            .map(|x| format!("{}%", num(x * 100.0)))
            .unwrap_or_default(),
        optf(r.mean_days),
        optf(r.median_days),
    ]
}

fn unit_name(code: &str) -> String {
    super::feedback::unit_name(code)
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashTemplate {
    shell: Shell,
    t: Tr,
    as_of: String,
    from: String,
    to: String,
    unit: String,
    unit_name: String,
    totals: Vec<(String, String)>,
    chart: String,
    columns: Vec<String>,
    first_column: String,
    rows: Vec<Row>,
    csv_href: String,
    overdue_href: String,
    tasks: Vec<crate::api::tasks::TaskView>,
    scores: Vec<Vec<String>>,
    /// The counters' lines today.
    counters: Vec<Vec<String>>,
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

/// `/dashboard`: the city by commune, or (`?unit=`) one commune by procedure.
/// The monitoring table's column headings.
fn column_names(t: &Tr) -> Vec<String> {
    [
        "received",
        "online-rate",
        "in-progress",
        "overdue",
        "on-time",
        "late",
        "on-time-rate",
        "mean-days",
        "median-days",
    ]
    .iter()
    .map(|c| t.get(&format!("dash-col-{c}")))
    .collect()
}

/// The table's rows: the city's communes, each a link to its own dashboard; or one
/// commune's procedures.
fn table_rows(table: &Monitoring, unit: &str) -> Vec<Row> {
    let city = unit.is_empty();
    table
        .rows
        .iter()
        .map(|r| Row {
            name: if city {
                unit_name(&r.key)
            } else {
                String::new()
            },
            href: city.then(|| {
                format!(
                    "/dashboard?{}",
                    query(&[("unit", &r.key), ("from", &table.from), ("to", &table.to)])
                )
            }),
            key: r.key.clone(),
            cells: cells(r),
        })
        .collect()
}

/// Where the table's CSV is: the same grouping, commune and months.
fn csv_href(by: By, unit: &str, table: &Monitoring) -> String {
    format!(
        "/dashboard/monitoring.csv?{}",
        query(&[
            ("by", sohoa_app::monitoring::by_name(by)),
            ("unit", unit),
            ("from", &table.from),
            ("to", &table.to)
        ])
    )
}

pub async fn dashboard(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    params: Result<ApiQuery<DashParams>, AppError>,
) -> PageResult<Response> {
    let ApiQuery(p) = params.page(ctx.lang)?;
    let t = ctx.t();
    let unit = p.unit.clone().unwrap_or_default();
    let filter = MonitorParams {
        from: p.from.clone().filter(|s| !s.is_empty()),
        to: p.to.clone().filter(|s| !s.is_empty()),
        unit: (!unit.is_empty()).then(|| unit.clone()),
        ..MonitorParams::default()
    }
    .filter()
    .page(ctx.lang)?;
    let city = read(&state, &caller.0, By::City, &filter)
        .await
        .page(ctx.lang)?;
    let by = if unit.is_empty() {
        By::Unit
    } else {
        By::Procedure
    };
    let table = read(&state, &caller.0, by, &filter).await.page(ctx.lang)?;
    let monthly = read(&state, &caller.0, By::Month, &filter)
        .await
        .page(ctx.lang)?;
    let columns = column_names(&t);
    let totals = city
        .rows
        .first()
        .map(|r| columns.iter().cloned().zip(cells(r)).collect())
        .unwrap_or_default();
    let rows = table_rows(&table, &unit);
    let chart = chart_of(&t, unit.is_empty(), &table, &monthly);
    let (tasks, scores) = if unit.is_empty() {
        tasks_and_scores(&state, &caller, &ctx, &p).await?
    } else {
        (Vec::new(), Vec::new())
    };
    let counters = counter_rows(&state, &caller, &ctx, unit.is_empty()).await?;
    let csv_href = csv_href(by, &unit, &table);
    let overdue_href = format!("/queue?{}", query(&[("overdue", "true"), ("unit", &unit)]));
    Ok(render(&DashTemplate {
        shell: ctx.shell("dashboard", t.get("dash-title")),
        as_of: sohoa_domain::Timestamp::parse(&city.as_of)
            .map(|t| t.local_display())
            .unwrap_or_default(),
        from: city.from.clone(),
        to: city.to.clone(),
        unit_name: if unit.is_empty() {
            String::new()
        } else {
            unit_name(&unit)
        },
        unit,
        totals,
        chart,
        first_column: t.get(if by == By::Unit {
            "dash-col-unit"
        } else {
            "dash-col-procedure"
        }),
        columns,
        rows,
        csv_href,
        overdue_href,
        tasks,
        scores,
        counters,
        t,
    }))
}

/// The city's one-stop counters today: tickets, waiting, served, not come, mean and
/// longest waits; none on a commune's page.
async fn counter_rows(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    city: bool,
) -> PageResult<Vec<Vec<String>>> {
    if !city {
        return Ok(Vec::new());
    }
    let names = super::labels::agency_names(state, ctx.lang)
        .await
        .page(ctx.lang)?;
    let waits = sohoa_app::tickets::waits(state, &caller.0)
        .await
        .page(ctx.lang)?;
    let minutes = |m: Option<i64>| m.map(|m| m.to_string()).unwrap_or_else(|| "—".into());
    Ok(waits
        .into_iter()
        .map(|w| {
            vec![
                names.get(&w.agency_code).cloned().unwrap_or(w.agency_code),
                w.tickets.to_string(),
                w.waiting.to_string(),
                w.served.to_string(),
                w.no_show.to_string(),
                minutes(w.average_wait_minutes),
                minutes(w.longest_wait_minutes),
            ]
        })
        .collect())
}

/// The city's chart: the communes with most overdue applications; or one commune's
/// applications received per month.
fn chart_of(t: &Tr, city: bool, table: &Monitoring, monthly: &Monitoring) -> String {
    if city {
        let mut worst: Vec<(String, f64)> = table
            .rows
            .iter()
            .filter(|r| r.overdue.unwrap_or(0) > 0)
            .map(|r| {
                (
                    format!("{} {}", r.key, unit_name(&r.key)),
                    r.overdue.unwrap_or(0) as f64,
                )
            })
            .collect();
        worst.sort_by(|a, b| b.1.total_cmp(&a.1));
        worst.truncate(15);
        bars("overdue", &t.get("dash-chart-overdue"), &worst)
    } else {
        let points: Vec<Point> = monthly
            .rows
            .iter()
            .map(|r| Point {
                label: r.key.clone(),
                value: r.received as f64,
                band80: None,
                band95: None,
                forecast: false,
            })
            .collect();
        line("received", &t.get("dash-chart-received"), &points)
    }
}

/// The strategic tasks the caller sees, and the agencies' scorecard over the months asked.
async fn tasks_and_scores(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    p: &DashParams,
) -> PageResult<(Vec<crate::api::tasks::TaskView>, Vec<Vec<String>>)> {
    let today = sohoa_app::today();
    let names = super::labels::agency_names(state, ctx.lang)
        .await
        .page(ctx.lang)?;
    let tasks = sohoa_app::tasks::list(state, &caller.0, None)
        .await
        .page(ctx.lang)?
        .into_iter()
        .map(|x| crate::api::tasks::view(x, today))
        .map(|mut x| {
            // People read the agency's name; its code follows it.
            if let Some(name) = names.get(&x.agency_code) {
                x.agency_code = name.clone();
            }
            x
        })
        .collect();
    let span = crate::api::evaluation::Period {
        from: p.from.clone().filter(|s| !s.is_empty()),
        to: p.to.clone().filter(|s| !s.is_empty()),
        by: None,
    }
    .span()
    .page(ctx.lang)?;
    let card = sohoa_app::tasks::scorecard(state, &caller.0, span)
        .await
        .page(ctx.lang)?;
    let scores = card
        .rows
        .iter()
        .map(|r| {
            vec![
                names
                    .get(&r.agency_code)
                    .cloned()
                    .unwrap_or_else(|| r.agency_code.clone()),
                format!("{}/{}", r.tasks_done_on_time, r.tasks),
                r.tasks_overdue.to_string(),
                r.applications_on_time_rate
                    .map(|x| format!("{}%", num(x * 100.0)))
                    .unwrap_or_default(),
                r.satisfaction.map(num).unwrap_or_default(),
            ]
        })
        .collect();
    Ok((tasks, scores))
}

/// `/dashboard/monitoring.csv`: the dashboard's table for a spreadsheet (signed-in
/// leaders, by their session like the page).
pub async fn monitoring_csv(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    params: Result<ApiQuery<MonitorParams>, AppError>,
) -> PageResult<Response> {
    let ApiQuery(p) = params.page(ctx.lang)?;
    let by = by_of(p.by.as_deref()).page(ctx.lang)?;
    let filter = p.filter().page(ctx.lang)?;
    let m = read(&state, &caller.0, by, &filter).await.page(ctx.lang)?;
    Ok(crate::csv::response(
        &format!("monitoring-{}-{}-{}.csv", m.by, m.from, m.to),
        crate::api::monitoring::csv(&m),
    ))
}

#[derive(Template)]
#[template(path = "indicators.html")]
struct IndicatorsTemplate {
    shell: Shell,
    t: Tr,
    rows: Vec<(String, String, String, String, String)>,
    digital: String,
    share: f64,
    targets: Vec<(i32, String, bool)>,
}

/// `/indicators`: the catalog and the share of indicators fed digitally.
pub async fn indicators(State(state): State<AppState>, ctx: PageCtx) -> PageResult<Response> {
    let t = ctx.t();
    let all = sohoa_app::indicators::catalog(&state)
        .await
        .page(ctx.lang)?;
    let d = crate::api::indicators::digital_share(&all);
    let vi = ctx.lang == crate::i18n::Lang::Vi;
    let rows = all
        .iter()
        .map(|i| {
            (
                i.code.to_string(),
                if vi {
                    i.name_vi.clone()
                } else {
                    i.name_en.clone()
                },
                i.unit.clone(),
                t.get(&format!("ind-periodicity-{}", i.periodicity.as_str())),
                t.get(match i.source {
                    sohoa_domain::indicators::Source::System => "ind-source-system",
                    sohoa_domain::indicators::Source::Manual => "ind-source-manual",
                }),
            )
        })
        .collect();
    Ok(render(&IndicatorsTemplate {
        shell: ctx.shell("indicators", t.get("ind-title")),
        digital: crate::i18n::catalog().get(
            t.lang,
            "ind-digital",
            &[
                ("digital", d.digital.to_string()),
                ("total", d.total.to_string()),
            ],
        ),
        share: d.share.unwrap_or(0.0),
        targets: d
            .targets
            .iter()
            .map(|x| (x.year, format!("{}%", num(x.share * 100.0)), x.met))
            .collect(),
        rows,
        t,
    }))
}

#[derive(Debug, Default, Deserialize)]
pub struct SeriesParams {
    unit: Option<String>,
    h: Option<usize>,
}

#[derive(Template)]
#[template(path = "indicator.html")]
struct IndicatorTemplate {
    shell: Shell,
    t: Tr,
    code: String,
    name: String,
    unit_measure: String,
    formula: String,
    unit: String,
    units: Vec<(String, String)>,
    chart: String,
    rows: Vec<(String, String, String, String)>,
    forecast_note: String,
    csv_href: String,
    as_of: String,
}

/// `/indicators/{code}`: one indicator's series in one unit, with its forecast.
/// A table row of the indicator page: period, value, 80% and 95% intervals.
type SeriesRow = (String, String, String, String);

/// The observed values then the forecast's, as the chart's points and the table's rows.
fn series_rows(
    series: &[&PublishedValue],
    forecast: Option<&IndicatorForecast>,
) -> (Vec<Point>, Vec<SeriesRow>) {
    let mut points: Vec<Point> = series
        .iter()
        .map(|v| Point {
            label: v.period.clone(),
            value: v.value,
            band80: None,
            band95: None,
            forecast: false,
        })
        .collect();
    let mut rows: Vec<SeriesRow> = series
        .iter()
        .map(|v| (v.period.clone(), num(v.value), String::new(), String::new()))
        .collect();
    for s in forecast.map_or(&[][..], |f| &f.steps) {
        points.push(Point {
            label: s.period.clone(),
            value: s.point,
            band80: Some((s.lower80, s.upper80)),
            band95: Some((s.lower95, s.upper95)),
            forecast: true,
        });
        rows.push((
            s.period.clone(),
            num(s.point),
            format!("{} – {}", num(s.lower80), num(s.upper80)),
            format!("{} – {}", num(s.lower95), num(s.upper95)),
        ));
    }
    (points, rows)
}

pub async fn indicator(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    params: Result<ApiQuery<SeriesParams>, AppError>,
) -> PageResult<Response> {
    let ApiQuery(p) = params.page(ctx.lang)?;
    let t = ctx.t();
    let ind = sohoa_app::indicators::get(&state, &code)
        .await
        .page(ctx.lang)?;
    let all = sohoa_app::indicators::values_of(&state, &ind, &Default::default())
        .await
        .page(ctx.lang)?;
    let mut units: Vec<String> = all.iter().map(|v| v.unit_code.clone()).collect();
    units.sort();
    units.dedup();
    let unit = p
        .unit
        .clone()
        .filter(|u| units.contains(u))
        .or_else(|| units.first().cloned())
        .unwrap_or_default();
    let series: Vec<_> = all.iter().filter(|v| v.unit_code == unit).collect();
    let h =
        p.h.unwrap_or(ind.periodicity.per_year() as usize)
            .clamp(1, sohoa_app::forecasts::MAX_HORIZON);
    let owned = series.iter().map(|v| (*v).clone()).collect();
    let forecast = sohoa_app::forecasts::forecast_series(&ind, owned, h)
        .await
        .map(crate::api::forecasts::IndicatorForecast::from)
        .map_err(AppError::from);
    let (points, rows) = series_rows(&series, forecast.as_ref().ok());
    let forecast_note = match &forecast {
        Ok(f) => crate::api::forecasts::describe(&t, f),
        Err(e) => e.message(ctx.lang),
    };
    let vi = ctx.lang == crate::i18n::Lang::Vi;
    let name = if vi {
        ind.name_vi.clone()
    } else {
        ind.name_en.clone()
    };
    Ok(render(&IndicatorTemplate {
        shell: ctx.shell("indicators", name.clone()),
        chart: line("series", &name, &points),
        code: ind.code.to_string(),
        unit_measure: ind.unit.clone(),
        formula: ind
            .formula
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        units: units
            .iter()
            .map(|u| (u.clone(), format!("{u} {}", unit_name(u))))
            .collect(),
        csv_href: format!(
            "/api/v1/indicators/export.csv?{}",
            query(&[("indicators", ind.code.as_str()), ("unit", &unit)])
        ),
        unit,
        rows,
        forecast_note,
        as_of: sohoa_domain::Timestamp::now().local_display(),
        name,
        t,
    }))
}
