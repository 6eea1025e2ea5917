//! The public map of reports and the service-evaluation map, drawn on the server as SVG
//! from the communes' GeoJSON: no tiles, no script, nothing fetched from elsewhere, so they
//! work on a ward office's network with no internet access.

use std::fmt::Write as _;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use sohoa_domain::feedback::geo::{Area, BBox};
use sohoa_domain::feedback::report::ReportStatus;

use super::charts::esc;
use super::{render, PageCtx, Shell};
use crate::api::evaluation::Period;
use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::Tr;
use crate::AppState;
use sohoa_app::cache::Geography;
use sohoa_app::evaluation::{self as eval, Figures, GroupBy};
use sohoa_app::feedback::public as map;
use sohoa_storage::feedback::PublicReport;

/// Width of the drawn map in SVG units; the height follows the box's shape.
pub(super) const WIDTH: f64 = 800.0;
/// The city's core, shown first on the reports' map.
pub(super) const CORE: BBox = BBox {
    min_lon: 106.60,
    min_lat: 10.70,
    max_lon: 106.80,
    max_lat: 10.86,
};
/// Most reports drawn at once; the page says when the box held more.
const MAP_LIMIT: i64 = 3000;

/// Longitude/latitude to SVG x/y in a box, with longitude shrunk by cos(latitude).
pub(super) struct Projection {
    b: BBox,
    k: f64,
    pub(super) height: f64,
}

impl Projection {
    pub(super) fn new(b: BBox) -> Self {
        let k = ((b.min_lat + b.max_lat) / 2.0).to_radians().cos();
        let w = (b.max_lon - b.min_lon) * k;
        let h = b.max_lat - b.min_lat;
        Self {
            b,
            k,
            height: (WIDTH * h / w).clamp(200.0, 1600.0),
        }
    }

    fn xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        let x =
            (lon - self.b.min_lon) * self.k / ((self.b.max_lon - self.b.min_lon) * self.k) * WIDTH;
        let y = (self.b.max_lat - lat) / (self.b.max_lat - self.b.min_lat) * self.height;
        (x, y)
    }

    pub(super) fn path(&self, area: &Area) -> String {
        let mut d = String::new();
        for polygon in area.polygons() {
            for ring in polygon {
                for (i, &[lon, lat]) in ring.iter().enumerate() {
                    let (x, y) = self.xy(lon, lat);
                    let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
                }
                d.push('Z');
            }
        }
        d
    }
}

pub(super) fn overlaps(a: &BBox, b: &BBox) -> bool {
    a.min_lon <= b.max_lon
        && b.min_lon <= a.max_lon
        && a.min_lat <= b.max_lat
        && b.min_lat <= a.max_lat
}

fn bbox_param(b: &BBox) -> String {
    format!(
        "{:.4},{:.4},{:.4},{:.4}",
        b.min_lon, b.min_lat, b.max_lon, b.max_lat
    )
}

/// A report's status in the page's language.
pub(super) fn status_label(t: &Tr, s: ReportStatus) -> String {
    t.get(&format!("report-status-{}", s.as_str().replace('_', "-")))
}

/// A report category's name in the page's language.
pub(super) fn category_label(t: &Tr, code: &str) -> String {
    t.get(&format!("report-category-{}", code.replace('_', "-")))
}

fn status_colour(s: ReportStatus) -> &'static str {
    match s {
        ReportStatus::Open => "#c62828",
        ReportStatus::Acknowledged | ReportStatus::InProgress => "#ef6c00",
        ReportStatus::Resolved | ReportStatus::Closed => "#2e7d32",
    }
}

#[derive(Debug, Deserialize)]
pub struct MapParams {
    pub bbox: Option<String>,
    pub status: Option<String>,
}

struct ReportRow {
    id: String,
    category: String,
    unit_name: String,
    status: String,
    unit_code: String,
    created: String,
    supporters: i64,
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapTemplate {
    shell: Shell,
    t: Tr,
    svg: String,
    approximate: bool,
    shown: usize,
    truncated: bool,
    rows: Vec<ReportRow>,
    zoom_out: String,
    status: String,
    geojson_href: String,
}

/// `/map`: communes and reports in a box; a commune's shape leads to a closer look.
/// The reports in `b` as dots over the communes' outlines, each commune a link that zooms
/// to it.
fn reports_svg(t: &Tr, geo: &Geography, b: &BBox, rows: &[PublicReport]) -> String {
    let b = *b;
    let proj = Projection::new(b);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {h:.0}\" role=\"group\" \
         aria-labelledby=\"map-title\" class=\"map\"><title id=\"map-title\">{title}</title>\
         <rect width=\"{WIDTH}\" height=\"{h:.0}\" fill=\"#e3f2fd\"/>",
        h = proj.height,
        title = esc(&t.with("map-svg-title", "count", rows.len())),
    );
    for area in geo
        .boundaries
        .areas()
        .iter()
        .filter(|a| overlaps(&a.bbox(), &b))
    {
        let href = format!("/map?bbox={}", bbox_param(&area.bbox()));
        let _ = write!(
            svg,
            "<a href=\"{href}\"><path d=\"{}\" fill=\"#fafafa\" stroke=\"#90a4ae\" stroke-width=\"0.8\">\
             <title>{}</title></path></a>",
            proj.path(area),
            esc(area.code.as_str())
        );
    }
    for r in rows {
        let (x, y) = proj.xy(r.lon, r.lat);
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{}\" fill-opacity=\"0.8\"><title>{} — {}</title></circle>",
            status_colour(r.status),
            esc(&r.id),
            esc(&status_label(t, r.status)),
        );
    }
    svg.push_str("</svg>");
    svg
}

pub async fn map(
    State(state): State<AppState>,
    ctx: PageCtx,
    params: Result<ApiQuery<MapParams>, AppError>,
) -> PageResult<Response> {
    let ApiQuery(p) = params.page(ctx.lang)?;
    let t = ctx.t();
    let b = match p.bbox.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => BBox::parse(s)
            .map_err(|_| AppError::bad_request("invalid_bbox").field("bbox"))
            .page(ctx.lang)?,
        None => CORE,
    };
    let statuses = map::statuses_of(p.status.as_deref()).page(ctx.lang)?;
    let geo = map::geography(&state).await.page(ctx.lang)?;
    let mut rows = map::in_box(&state, &b, statuses.as_deref(), None, MAP_LIMIT + 1)
        .await
        .page(ctx.lang)?;
    let truncated = rows.len() as i64 > MAP_LIMIT;
    rows.truncate(MAP_LIMIT as usize);

    let svg = reports_svg(&t, &geo, &b, &rows);
    let (w, h) = (b.max_lon - b.min_lon, b.max_lat - b.min_lat);
    let out = BBox {
        min_lon: b.min_lon - w,
        min_lat: b.min_lat - h,
        max_lon: b.max_lon + w,
        max_lat: b.max_lat + h,
    };
    let shown = rows.len();
    let table: Vec<ReportRow> = rows
        .into_iter()
        .take(100)
        .map(|r| ReportRow {
            category: category_label(&t, &r.category_code),
            status: status_label(&t, r.status),
            created: r.created_at.local_display(),
            id: r.id,
            unit_name: super::labels::unit(&r.unit_code, crate::api::today()),
            unit_code: r.unit_code,
            supporters: r.supporters,
        })
        .collect();
    Ok(render(&MapTemplate {
        shell: ctx.shell("map", t.get("map-title")),
        svg,
        approximate: geo.approximate,
        shown,
        truncated,
        rows: table,
        zoom_out: format!("/map?bbox={}", bbox_param(&out)),
        status: p.status.unwrap_or_default(),
        geojson_href: format!("/api/v1/reports.geojson?bbox={}", bbox_param(&b)),
        t,
    }))
}

#[derive(Debug, Deserialize)]
pub struct EvalParams {
    pub from: Option<String>,
    pub to: Option<String>,
    /// `satisfaction`, `on_time_rate`, `resolution_rate` or `median_resolution_hours`.
    pub metric: Option<String>,
    /// A column to sort the table by, and `desc` for largest first.
    pub sort: Option<String>,
    pub dir: Option<String>,
}

const METRICS: [&str; 4] = [
    "satisfaction",
    "on_time_rate",
    "resolution_rate",
    "median_resolution_hours",
];

fn metric_of(f: &Figures, m: &str) -> Option<f64> {
    match m {
        "satisfaction" => f.satisfaction,
        "on_time_rate" => f.on_time_rate,
        "resolution_rate" => f.resolution_rate,
        _ => f.median_resolution_hours,
    }
}

fn show(v: Option<f64>, m: &str) -> String {
    match v {
        None => "—".to_owned(),
        Some(x) if m.ends_with("_rate") => format!("{:.0}%", x * 100.0),
        Some(x) if m == "satisfaction" => format!("{x:.2}"),
        Some(x) => format!("{x:.1} h"),
    }
}

/// Five classes from light to dark; for resolution time, darker means slower.
const PALETTE: [&str; 5] = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];

fn class_of(v: f64, lo: f64, hi: f64) -> usize {
    if hi <= lo {
        return 2;
    }
    (((v - lo) / (hi - lo)) * 5.0).floor().clamp(0.0, 4.0) as usize
}

/// The names of the units in force, by code: parsed once from the embedded reference data.
/// A unit's current name, or nothing for a code that names none.
pub(crate) fn unit_name(code: &str) -> String {
    unit_names().get(code).cloned().unwrap_or_default()
}

fn unit_names() -> &'static std::collections::HashMap<String, String> {
    static NAMES: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        sohoa_domain::units::reference_units()
            .unwrap_or_default()
            .into_iter()
            .filter(|u| u.valid_to.is_none())
            .map(|u| (u.code.as_str().to_owned(), u.name))
            .collect()
    })
}

struct EvalRow {
    unit_code: String,
    unit_name: String,
    agency_code: String,
    cells: Vec<String>,
    counts: String,
}

#[derive(Template)]
#[template(path = "evaluation.html")]
struct EvalTemplate {
    shell: Shell,
    t: Tr,
    full: bool,
    from: String,
    to: String,
    as_of: String,
    metric: String,
    metrics: Vec<(String, String)>,
    svg: String,
    legend: Vec<(String, String)>,
    headers: Vec<(String, String, String)>,
    rows: Vec<EvalRow>,
    approximate: bool,
    by_agency: Vec<EvalRow>,
}

/// `/evaluation`: the public map and table, per commune.
pub async fn public(
    state: State<AppState>,
    ctx: PageCtx,
    params: Result<ApiQuery<EvalParams>, AppError>,
) -> PageResult<Response> {
    evaluation_page(state, ctx, params, None).await
}

/// `/evaluation/full`: the same for leaders, with small cells and a table per agency.
pub async fn full(
    state: State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    params: Result<ApiQuery<EvalParams>, AppError>,
) -> PageResult<Response> {
    evaluation_page(state, ctx, params, Some(caller)).await
}

/// The table's rows by column `col`; cells without a figure go last either way.
fn sort_rows(rows: &mut [Figures], col: &str, desc: bool) {
    rows.sort_by(|a, b| {
        let o = if col == "unit_code" {
            a.unit_code.cmp(&b.unit_code)
        } else {
            match (metric_of(a, col), metric_of(b, col)) {
                (Some(x), Some(y)) => {
                    let o = x.total_cmp(&y);
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
        };
        if col == "unit_code" && desc {
            o.reverse()
        } else {
            o
        }
    });
}

/// The map's legend: the five classes of the metric between `lo` and `hi`, then "no figure".
fn legend(lo: f64, hi: f64, metric: &str, no_figure: String) -> Vec<(String, String)> {
    let mut legend: Vec<(String, String)> = Vec::new();
    if lo.is_finite() && hi.is_finite() {
        for (i, colour) in PALETTE.iter().enumerate() {
            let a = lo + (hi - lo) * i as f64 / 5.0;
            let b = lo + (hi - lo) * (i + 1) as f64 / 5.0;
            legend.push((
                (*colour).to_owned(),
                format!("{} – {}", show(Some(a), metric), show(Some(b), metric)),
            ));
        }
    }
    legend.push(("#e0e0e0".into(), no_figure));
    legend
}

/// The choropleth: every commune, coloured by the metric where there is a figure; with the
/// lowest and highest figure the colours span.
fn choropleth(t: &Tr, geo: &Geography, rows: &[Figures], metric: &str) -> (String, f64, f64) {
    let name_of = |code: &str| unit_names().get(code).cloned().unwrap_or_default();
    let values: Vec<f64> = rows.iter().filter_map(|r| metric_of(r, metric)).collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let extent = geo.boundaries.extent().unwrap_or(CORE);
    // Côn Đảo would leave most of the drawing empty sea: draw the mainland, list it below.
    let mainland = BBox {
        min_lat: extent.min_lat.max(10.2),
        ..extent
    };
    let proj = Projection::new(mainland);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {h:.0}\" role=\"img\" \
         aria-labelledby=\"eval-map-title\" class=\"map\"><title id=\"eval-map-title\">{}</title>",
        esc(&t.get(&format!("eval-metric-{}", metric.replace('_', "-")))),
        h = proj.height,
    );
    for area in geo
        .boundaries
        .areas()
        .iter()
        .filter(|a| overlaps(&a.bbox(), &mainland))
    {
        let row = rows
            .iter()
            .find(|r| r.unit_code.as_deref() == Some(area.code.as_str()));
        let v = row.and_then(|r| metric_of(r, metric));
        let fill = v.map_or("#e0e0e0", |v| PALETTE[class_of(v, lo, hi)]);
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"{fill}\" stroke=\"#fff\" stroke-width=\"0.6\"><title>{} {}: {}</title></path>",
            proj.path(area),
            esc(area.code.as_str()),
            esc(&name_of(area.code.as_str())),
            esc(&show(v, metric)),
        );
    }
    svg.push_str("</svg>");
    (svg, lo, hi)
}

/// The table's column headers: each a link that sorts by it (again: the other way).
fn headers(
    t: &Tr,
    p: &EvalParams,
    path: &str,
    metric: &str,
    sort: Option<&str>,
    desc: bool,
) -> Vec<(String, String, String)> {
    let base = |col: &str, dir: &str| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(f) = &p.from {
            q.append_pair("from", f);
        }
        if let Some(to) = &p.to {
            q.append_pair("to", to);
        }
        q.append_pair("metric", metric);
        q.append_pair("sort", col);
        q.append_pair("dir", dir);
        format!("{path}?{}", q.finish())
    };
    std::iter::once("unit_code")
        .chain(METRICS)
        .map(|col| {
            let current = sort == Some(col);
            let next = if current && !desc { "desc" } else { "asc" };
            let aria = match (current, desc) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            };
            (
                t.get(&format!("eval-col-{}", col.replace('_', "-"))),
                base(col, next),
                aria.to_owned(),
            )
        })
        .collect()
}

/// One row of figures, ready to print.
fn eval_row(t: &Tr, r: &Figures) -> EvalRow {
    let name_of = |code: &str| unit_names().get(code).cloned().unwrap_or_default();
    EvalRow {
        unit_code: r.unit_code.clone().unwrap_or_default(),
        unit_name: r.unit_code.as_deref().map(name_of).unwrap_or_default(),
        agency_code: r.agency_code.clone().unwrap_or_default(),
        cells: METRICS.iter().map(|m| show(metric_of(r, m), m)).collect(),
        counts: crate::i18n::catalog().get(
            t.lang,
            "eval-counts",
            &[
                ("ratings", r.ratings.to_string()),
                ("apps", r.applications_decided.to_string()),
                ("reports", r.reports_received.to_string()),
            ],
        ),
    }
}

/// The leaders' table per agency, agencies named in the page's language.
async fn by_agency(
    state: &AppState,
    leader: &Caller,
    span: eval::Span,
    t: &Tr,
) -> Result<Vec<EvalRow>, AppError> {
    let names = super::labels::agency_names(state, t.lang).await?;
    let figures = eval::full(state, &leader.0, span, GroupBy::Agency).await?;
    Ok(figures
        .rows
        .iter()
        .map(|r| eval_row(t, r))
        .map(|mut r| {
            if let Some(name) = names.get(&r.agency_code) {
                r.agency_code = name.clone();
            }
            r
        })
        .collect())
}

async fn evaluation_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    params: Result<ApiQuery<EvalParams>, AppError>,
    leader: Option<Caller>,
) -> PageResult<Response> {
    let full = leader.is_some();
    let ApiQuery(p) = params.page(ctx.lang)?;
    let t = ctx.t();
    let metric = p
        .metric
        .clone()
        .filter(|m| METRICS.contains(&m.as_str()))
        .unwrap_or_else(|| "satisfaction".to_owned());
    let span = Period {
        from: p.from.clone().filter(|s| !s.is_empty()),
        to: p.to.clone().filter(|s| !s.is_empty()),
        by: None,
    }
    .span()
    .page(ctx.lang)?;
    let eval = match &leader {
        Some(c) => eval::full(&state, &c.0, span, GroupBy::Unit).await,
        None => eval::public(&state, span).await,
    }
    .page(ctx.lang)?;
    let geo = map::geography(&state).await.page(ctx.lang)?;
    let (svg, lo, hi) = choropleth(&t, &geo, &eval.rows, &metric);
    let legend = legend(lo, hi, &metric, t.get("eval-no-figure"));

    // The table, sorted by the column asked for (nothing needs a script).
    let mut rows = eval.rows.clone();
    let sort = p
        .sort
        .clone()
        .filter(|s| METRICS.contains(&s.as_str()) || s == "unit_code");
    let desc = p.dir.as_deref() == Some("desc");
    if let Some(col) = &sort {
        sort_rows(&mut rows, col, desc);
    }
    let headers = headers(&t, &p, &ctx.path, &metric, sort.as_deref(), desc);
    let to_row = |r: &Figures| eval_row(&t, r);
    let by_agency = match &leader {
        Some(c) => by_agency(&state, c, span, &t).await.page(ctx.lang)?,
        None => Vec::new(),
    };
    Ok(render(&EvalTemplate {
        shell: ctx.shell("evaluation", t.get("eval-title")),
        full,
        from: eval.from.clone(),
        to: eval.to.clone(),
        as_of: sohoa_domain::Timestamp::parse(&eval.as_of)
            .map(|t| t.local_display())
            .unwrap_or_default(),
        metrics: METRICS
            .iter()
            .map(|m| {
                (
                    (*m).to_owned(),
                    t.get(&format!("eval-metric-{}", m.replace('_', "-"))),
                )
            })
            .collect(),
        metric,
        svg,
        legend,
        headers,
        rows: rows.iter().map(to_row).collect(),
        approximate: geo.approximate,
        by_agency,
        t,
    }))
}
