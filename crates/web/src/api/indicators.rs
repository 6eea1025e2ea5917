//! Socio-economic indicators: the catalog (city administrators), values entered or
//! imported by the owning agency (its officers by hand, its systems digitally), checked
//! against the indicator's rules, approved or rejected by leaders, published, exported as
//! CSV and SDMX-JSON. Derived indicators are computed from published values on read.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::indicators::{self as uc, PublishedValue};
use sohoa_app::Acting;
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::indicators::{
    Formula, Indicator, IndicatorCode, Period, Periodicity, Review, Rules, Source, DIGITAL_TARGETS,
};
use sohoa_domain::UnitCode;
use sohoa_storage::indicators as store;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError, ErrorDetail};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorView {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub unit: String,
    pub periodicity: Periodicity,
    pub owner: String,
    pub source: Source,
    /// `ratio(A, B)`, `ratio(A, B, scale)` or `growth(A)`; absent for entered indicators.
    pub formula: Option<String>,
    pub rules: Rules,
}

impl From<&Indicator> for IndicatorView {
    fn from(i: &Indicator) -> Self {
        Self {
            code: i.code.to_string(),
            name_vi: i.name_vi.clone(),
            name_en: i.name_en.clone(),
            unit: i.unit.clone(),
            periodicity: i.periodicity,
            owner: i.owner.to_string(),
            source: i.source,
            formula: i.formula.as_ref().map(ToString::to_string),
            rules: i.rules,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DigitalTarget {
    pub year: i32,
    /// The share of digital indicators the city aims at by that year (0-1).
    pub share: f64,
    pub met: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DigitalShare {
    pub digital: usize,
    pub total: usize,
    pub share: Option<f64>,
    pub targets: Vec<DigitalTarget>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Catalog {
    pub indicators: Vec<IndicatorView>,
    /// Indicators fed by a system (derived ones included), against the city's targets.
    pub digital: DigitalShare,
}

pub(crate) fn digital_share(all: &[Indicator]) -> DigitalShare {
    let digital = all.iter().filter(|i| i.source == Source::System).count();
    let share = (!all.is_empty()).then(|| digital as f64 / all.len() as f64);
    DigitalShare {
        digital,
        total: all.len(),
        share,
        targets: DIGITAL_TARGETS
            .iter()
            .map(|(year, target)| DigitalTarget {
                year: *year,
                share: *target,
                met: share.is_some_and(|s| s >= *target),
            })
            .collect(),
    }
}

/// The catalog of indicators, with the share fed digitally.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "dashboards",
    responses((status = 200, body = Catalog)))]
pub async fn catalog(State(state): State<AppState>) -> ApiResult<Json<Catalog>> {
    let all = uc::catalog(&state).await?;
    Ok(Json(Catalog {
        indicators: all.iter().map(IndicatorView::from).collect(),
        digital: digital_share(&all),
    }))
}

pub(crate) fn period_param(
    s: Option<&str>,
    field: &'static str,
) -> Result<Option<Period>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(p) => Period::parse(p)
            .map(Some)
            .map_err(|_| AppError::bad_request("invalid_period").field(field)),
    }
}

pub(crate) fn unit_param(s: Option<&str>) -> Result<Option<UnitCode>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(u) => UnitCode::parse(u)
            .map(Some)
            .map_err(|_| AppError::bad_request("invalid_unit_code").field("unit")),
    }
}

fn value_key(unit: &str, period: &str) -> Result<uc::ValueKey, AppError> {
    let bad_unit = || AppError::bad_request("invalid_unit_code").field("unit");
    Ok(uc::ValueKey {
        unit: unit_param(Some(unit))?.ok_or_else(bad_unit)?,
        period: period_param(Some(period), "period")?
            .ok_or_else(|| AppError::bad_request("invalid_period").field("period"))?,
    })
}

/// One indicator's definition.
#[utoipa::path(get, path = "/api/v1/indicators/{code}", tag = "dashboards",
    params(("code" = String, Path, description = "Indicator code", example = "RETAIL")),
    responses((status = 200, body = IndicatorView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_indicator(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<IndicatorView>> {
    Ok(Json(IndicatorView::from(&uc::get(&state, &code).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name_vi": "Tổng mức bán lẻ hàng hóa", "name_en": "Retail sales",
    "unit": "billion VND", "periodicity": "month", "owner": "SO-TAI-CHINH", "source": "manual",
    "rules": {"min": 0, "max": 100000, "max_change": 0.5}}))]
pub struct IndicatorBody {
    #[schema(max_length = 200)]
    pub name_vi: String,
    #[schema(max_length = 200)]
    pub name_en: String,
    /// What the values count in ("billion VND", "%", "person").
    #[schema(max_length = 40)]
    pub unit: String,
    pub periodicity: Periodicity,
    /// The agency that enters (or feeds) and answers for the values.
    #[schema(value_type = sohoa_domain::agency::AgencyCode)]
    pub owner: String,
    pub source: Source,
    pub formula: Option<String>,
    #[serde(default)]
    pub rules: Rules,
}

/// Defines or redefines an indicator (city administrators).
#[utoipa::path(put, path = "/api/v1/indicators/{code}", tag = "dashboards", security(("bearer" = [])),
    params(("code" = String, Path, description = "Indicator code", example = "RETAIL")), request_body = IndicatorBody,
    responses((status = 200, body = IndicatorView), (status = 201, body = IndicatorView),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn put_indicator(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<IndicatorBody>,
) -> ApiResult<(StatusCode, Json<IndicatorView>)> {
    let code = IndicatorCode::parse(&code)
        .map_err(|_| AppError::unprocessable("invalid_indicator_code").field("code"))?;
    let owner = AgencyCode::parse(&body.owner)
        .map_err(|_| AppError::unprocessable("invalid_agency_code").field("owner"))?;
    let formula = match body.formula.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(f) => Some(
            Formula::parse(f)
                .map_err(|_| AppError::unprocessable("invalid_formula").field("formula"))?,
        ),
    };
    let definition = Indicator {
        code,
        name_vi: body.name_vi,
        name_en: body.name_en,
        unit: body.unit,
        periodicity: body.periodicity,
        owner,
        source: body.source,
        formula,
        rules: body.rules,
    };
    let acting = Acting::new(&caller.0, addr.as_deref());
    let (ind, created) = uc::define(&state, acting, definition).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(IndicatorView::from(&ind))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueInput {
    /// `2025-03`, `2025-Q1` or `2025`, matching the indicator's periodicity.
    pub period: String,
    /// The administrative unit: the city (`79`) or a commune.
    #[schema(value_type = sohoa_domain::UnitCode)]
    pub unit_code: String,
    pub value: f64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValuesBody {
    /// At most 1,000 values.
    pub values: Vec<ValueInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnteredValue {
    pub period: String,
    pub unit_code: String,
    pub value: f64,
    pub revision: i64,
    pub status: Review,
    /// The change from the previous period is beyond the indicator's threshold: the
    /// reviewer is asked to look twice.
    pub flagged: bool,
    pub change: Option<f64>,
    pub digital: bool,
}

/// One refused row: where (a 1-based line of a CSV file, or an index of `values`), which
/// field, and why, in both languages.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowError {
    pub line: usize,
    #[serde(flatten)]
    pub error: ErrorDetail,
}

/// Every refused row; nothing was entered.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedBody {
    pub error: ErrorDetail,
    pub rejected: Vec<RowError>,
}

fn row_error((line, e): uc::Rejected) -> RowError {
    RowError {
        line,
        error: AppError::from(e).body().error,
    }
}

fn entered(e: uc::Entered) -> EnteredValue {
    EnteredValue {
        period: e.value.period,
        unit_code: e.value.unit,
        value: e.value.value,
        revision: e.revision,
        status: Review::Pending,
        flagged: e.value.flagged,
        change: e.value.change,
        digital: e.value.digital,
    }
}

/// Values entered, or every reason they were not.
fn entered_or_rejected(r: Result<Vec<uc::Entered>, uc::Refusal>) -> Response {
    match r {
        Ok(v) => {
            let v: Vec<EnteredValue> = v.into_iter().map(entered).collect();
            (StatusCode::CREATED, Json(v)).into_response()
        }
        Err(uc::Refusal::Error(e)) => AppError::from(e).into_response(),
        Err(uc::Refusal::Rows(rows)) => {
            let error = AppError::unprocessable("indicator_values_rejected")
                .arg("count", rows.len())
                .body()
                .error;
            let rejected = rows.into_iter().map(row_error).collect();
            let body = RejectedBody { error, rejected };
            (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
        }
    }
}

/// Enters values of one indicator, all or none: each is checked against the indicator's
/// rules (out of range: refused; a jump from the previous period: flagged for review) and
/// awaits approval. Values sent by an agency's system count as digital.
#[utoipa::path(post, path = "/api/v1/indicators/{code}/values", tag = "dashboards", security(("bearer" = [])),
    params(("code" = String, Path, description = "Indicator code", example = "RETAIL")), request_body = ValuesBody,
    responses((status = 201, body = [EnteredValue]), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = RejectedBody)))]
pub async fn enter_values(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<ValuesBody>,
) -> Response {
    let values = body
        .values
        .into_iter()
        .map(|v| (v.period, v.unit_code, v.value))
        .collect();
    let acting = Acting::new(&caller.0, addr.as_deref());
    entered_or_rejected(uc::enter_for(&state, acting, &code, values).await)
}

/// Imports values from CSV (`indicator_code,period,unit_code,value`, a header line
/// first), all or none: every refused row is reported with its line number.
#[utoipa::path(post, path = "/api/v1/indicators/import", tag = "dashboards", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        example = json!("indicator_code,period,unit_code,value\nRETAIL,2026-01,79,412.5\n")),
    responses((status = 201, body = [EnteredValue]), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = RejectedBody)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    body: Bytes,
) -> Response {
    let (candidates, malformed) = match uc::candidates_from_csv(&body, crate::BODY_LIMIT) {
        Ok(c) => c,
        Err(e) => return AppError::from(e).into_response(),
    };
    let acting = Acting::new(&caller.0, addr.as_deref());
    entered_or_rejected(uc::enter(&state, acting, candidates, malformed).await)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ValuesParams {
    /// One unit's values (default: every unit's).
    #[param(value_type = Option<sohoa_domain::UnitCode>)]
    pub unit: Option<String>,
    /// First period, as the indicator writes periods.
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    pub indicator: IndicatorView,
    pub values: Vec<PublishedValue>,
    pub as_of: String,
}

/// An indicator's published values (derived ones computed from their inputs).
#[utoipa::path(get, path = "/api/v1/indicators/{code}/values", tag = "dashboards",
    params(("code" = String, Path, description = "Indicator code", example = "RETAIL"), ValuesParams),
    responses((status = 200, body = Series), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn values(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(p): ApiQuery<ValuesParams>,
) -> ApiResult<Json<Series>> {
    let range = uc::Range {
        unit: unit_param(p.unit.as_deref())?,
        from: period_param(p.from.as_deref(), "from")?,
        to: period_param(p.to.as_deref(), "to")?,
    };
    let ind = uc::get(&state, &code).await?;
    let values = uc::values_of(&state, &ind, &range).await?;
    Ok(Json(Series {
        indicator: IndicatorView::from(&ind),
        values,
        as_of: sohoa_domain::Timestamp::now().to_string(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    pub indicator_code: String,
    pub unit_code: String,
    pub period: String,
    pub revision: i64,
    pub value: f64,
    pub status: Review,
    pub flagged: bool,
    pub change: Option<f64>,
    pub digital: bool,
    pub entered_by: String,
    pub entered_at: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<String>,
    pub review_note: Option<String>,
}

impl From<store::Revision> for RevisionView {
    fn from(r: store::Revision) -> Self {
        Self {
            indicator_code: r.code.to_string(),
            unit_code: r.unit.to_string(),
            period: r.period.to_string(),
            revision: r.revision,
            value: r.value,
            status: r.status,
            flagged: r.flagged,
            change: r.change,
            digital: r.digital,
            entered_by: r.entered_by,
            entered_at: r.entered_at.to_string(),
            reviewed_by: r.reviewed_by,
            reviewed_at: r.reviewed_at.map(|t| t.to_string()),
            review_note: r.review_note,
        }
    }
}

/// Values awaiting review: a leader's agency's indicators, or all for the city's leaders.
#[utoipa::path(get, path = "/api/v1/indicators/review", tag = "dashboards", security(("bearer" = [])),
    responses((status = 200, body = [RevisionView]), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn pending(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<RevisionView>>> {
    let rows = uc::pending(&state, &caller.0).await?;
    Ok(Json(rows.into_iter().map(RevisionView::from).collect()))
}

/// Every revision of one value, with who entered and reviewed it, and when (leaders).
#[utoipa::path(get, path = "/api/v1/indicators/{code}/values/{unit}/{period}", tag = "dashboards",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Indicator code", example = "RETAIL"), ("unit" = sohoa_domain::UnitCode, Path, description = "Unit code"),
        ("period" = String, Path, description = "Period", example = "2026-01")),
    responses((status = 200, body = [RevisionView]), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, unit, period)): Path<(String, String, String)>,
) -> ApiResult<Json<Vec<RevisionView>>> {
    let key = value_key(&unit, &period)?;
    let rows = uc::history(&state, &caller.0, &code, &key).await?;
    Ok(Json(rows.into_iter().map(RevisionView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"revision": 1, "decision": "approved"}))]
pub struct ReviewBody {
    pub revision: i64,
    /// `approved` or `rejected`.
    pub decision: Review,
    /// Required when rejecting: what to correct.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Approves (publishes) or rejects one entered revision: the owning agency's leaders, or
/// the city's.
#[utoipa::path(post, path = "/api/v1/indicators/{code}/values/{unit}/{period}/review", tag = "dashboards",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Indicator code", example = "RETAIL"), ("unit" = sohoa_domain::UnitCode, Path, description = "Unit code"),
        ("period" = String, Path, description = "Period", example = "2026-01")),
    request_body = ReviewBody,
    responses((status = 200, body = [RevisionView]), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path((code, unit, period)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> ApiResult<Json<Vec<RevisionView>>> {
    let key = value_key(&unit, &period)?;
    let decision = uc::Decision {
        revision: body.revision,
        decision: body.decision,
        note: body.note,
    };
    let acting = Acting::new(&caller.0, addr.as_deref());
    let rows = uc::review(&state, acting, &code, &key, decision).await?;
    Ok(Json(rows.into_iter().map(RevisionView::from).collect()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Indicator codes separated by commas (default: every indicator).
    pub indicators: Option<String>,
    #[param(value_type = Option<sohoa_domain::UnitCode>)]
    pub unit: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The indicators asked for (all when none), each with its published values.
pub(crate) async fn dataset(state: &AppState, p: &ExportParams) -> Result<uc::Dataset, AppError> {
    let range = uc::Range {
        unit: unit_param(p.unit.as_deref())?,
        from: period_param(p.from.as_deref(), "from")?,
        to: period_param(p.to.as_deref(), "to")?,
    };
    let codes: Vec<String> = match p.indicators.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(list) => list.split(',').map(|c| c.trim().to_owned()).collect(),
    };
    Ok(uc::dataset(state, &codes, &range).await?)
}

/// Published values as CSV, one line per indicator × unit × period.
#[utoipa::path(get, path = "/api/v1/indicators/export.csv", tag = "dashboards", params(ExportParams),
    responses((status = 200, description = "CSV", content_type = "text/csv"),
        (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn export_csv(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let data = dataset(&state, &p).await?;
    let mut w = crate::csv::Writer::new(&[
        "indicator_code",
        "name_vi",
        "name_en",
        "unit_measure",
        "unit_code",
        "period",
        "value",
        "derived",
    ]);
    for (ind, values) in &data {
        for v in values {
            w.row(&[
                ind.code.to_string(),
                ind.name_vi.clone(),
                ind.name_en.clone(),
                ind.unit.clone(),
                v.unit_code.clone(),
                v.period.clone(),
                v.value.to_string(),
                ind.formula.is_some().to_string(),
            ]);
        }
    }
    Ok(crate::csv::response("indicators.csv", w.finish()))
}

/// The same data as an SDMX-JSON 2.0 data message (dimensions INDICATOR, REF_AREA,
/// TIME_PERIOD; attribute UNIT_MEASURE per series).
#[utoipa::path(get, path = "/api/v1/sdmx/data", tag = "dashboards", params(ExportParams),
    responses((status = 200, description = "SDMX-JSON data message", content_type = "application/vnd.sdmx.data+json;version=2.0.0"),
        (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn sdmx_data(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let data = dataset(&state, &p).await?;
    let names = uc::unit_names(&state, &data).await?;
    let msg = super::sdmx::data_message(&data, &names);
    Ok(super::sdmx::response(super::sdmx::DATA_MEDIA_TYPE, &msg))
}

/// The data structure definition of the indicators' data messages, with its code lists
/// and concepts, as an SDMX-JSON 2.0 structure message.
#[utoipa::path(get, path = "/api/v1/sdmx/structure", tag = "dashboards", params(ExportParams),
    responses((status = 200, description = "SDMX-JSON structure message", content_type = "application/vnd.sdmx.structure+json;version=2.0.0"),
        (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn sdmx_structure(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let data = dataset(&state, &p).await?;
    let names = uc::unit_names(&state, &data).await?;
    let msg = super::sdmx::structure_message(&data, &names);
    Ok(super::sdmx::response(
        super::sdmx::STRUCTURE_MEDIA_TYPE,
        &msg,
    ))
}
