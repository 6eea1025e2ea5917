//! Socio-economic indicators: the catalog (city administrators), values entered or
//! imported by the owning agency (its officers by hand, its systems digitally), checked
//! against the indicator's rules, approved or rejected by leaders, published, exported as
//! CSV and SDMX-JSON. Derived indicators are computed from published values on read.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::indicators::{
    Formula, Indicator, IndicatorCode, Period, Periodicity, Review, Rules, Source, ValueError,
    DIGITAL_TARGETS,
};
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::UnitCode;
use sohoa_storage::indicators::{self as store, NewValue, Published, Reviewed};
use sohoa_storage::StorageError;
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
    let all = store::all(&state.db).await?;
    Ok(Json(Catalog {
        indicators: all.iter().map(IndicatorView::from).collect(),
        digital: digital_share(&all),
    }))
}

async fn load(state: &AppState, code: &str) -> Result<Indicator, AppError> {
    let code = IndicatorCode::parse(code)
        .map_err(|_| AppError::not_found("indicator_not_found").field("code"))?;
    store::get(&state.db, code.as_str())
        .await?
        .ok_or_else(|| AppError::not_found("indicator_not_found").field("code"))
}

/// One indicator's definition.
#[utoipa::path(get, path = "/api/v1/indicators/{code}", tag = "dashboards",
    params(("code" = String, Path, description = "Indicator code", example = "RETAIL")),
    responses((status = 200, body = IndicatorView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_indicator(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<IndicatorView>> {
    Ok(Json(IndicatorView::from(&load(&state, &code).await?)))
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
    caller.authorize(Action::ManageIndicators, &Target::default())?;
    let code = IndicatorCode::parse(&code)
        .map_err(|_| AppError::unprocessable("invalid_indicator_code").field("code"))?;
    let name = |s: &str, field: &'static str, max: usize| {
        let s = s.trim();
        if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
            Err(AppError::unprocessable("invalid_indicator").field(field))
        } else {
            Ok(s.to_owned())
        }
    };
    let name_vi = name(&body.name_vi, "name_vi", 200)?;
    let name_en = name(&body.name_en, "name_en", 200)?;
    let unit = name(&body.unit, "unit", 40)?;
    let owner = AgencyCode::parse(&body.owner)
        .map_err(|_| AppError::unprocessable("invalid_agency_code").field("owner"))?;
    if sohoa_storage::agencies::get(&state.db, &owner)
        .await?
        .is_none()
    {
        return Err(AppError::unprocessable("agency_not_found").field("owner"));
    }
    let formula = match body.formula.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(f) => Some(
            Formula::parse(f)
                .map_err(|_| AppError::unprocessable("invalid_formula").field("formula"))?,
        ),
    };
    if let Some(f) = &formula {
        // Inputs must exist, be entered (not derived themselves: no chains to loop) and
        // share the periodicity.
        for input in f.inputs() {
            let ok = input != &code
                && store::get(&state.db, input.as_str())
                    .await?
                    .is_some_and(|i| i.formula.is_none() && i.periodicity == body.periodicity);
            if !ok {
                return Err(AppError::unprocessable("invalid_formula")
                    .field("formula")
                    .detail(format!("input {input}")));
            }
        }
        if body.source != Source::System {
            return Err(AppError::unprocessable("indicator_derived").field("source"));
        }
    }
    if !body.rules.is_consistent() {
        return Err(AppError::unprocessable("invalid_rules").field("rules"));
    }
    let ind = Indicator {
        code,
        name_vi,
        name_en,
        unit,
        periodicity: body.periodicity,
        owner,
        source: body.source,
        formula,
        rules: body.rules,
    };
    let record = AuditRecord::new(
        caller.actor(),
        "indicator.define",
        "indicator",
        ind.code.as_str(),
    )
    .client_addr(addr);
    let created = store::put(&state.db, &ind, record).await?;
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

const MAX_VALUES: usize = 1_000;

/// One value to check: the indicator code as written, and the rest as written.
struct Candidate {
    line: usize,
    code: String,
    period: String,
    unit: String,
    value: Result<f64, ()>,
}

fn row_error(line: usize, e: AppError) -> RowError {
    RowError {
        line,
        error: e.body().error,
    }
}

/// Checks every candidate (all of them, so every mistake is reported at once) and
/// returns the values to enter, or every refusal.
async fn check_values(
    state: &AppState,
    caller: &Caller,
    candidates: Vec<Candidate>,
) -> Result<Vec<NewValue>, Refusal> {
    let digital = matches!(caller.0, Principal::AgencySystem { .. });
    let mut indicators: BTreeMap<String, Option<Indicator>> = BTreeMap::new();
    let mut units: BTreeMap<String, bool> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut rejected = Vec::new();
    for c in candidates {
        let ind = match indicators.get(&c.code) {
            Some(i) => i.clone(),
            None => {
                let i = match IndicatorCode::parse(&c.code) {
                    Ok(code) => store::get(&state.db, code.as_str()).await?,
                    Err(_) => None,
                };
                indicators.insert(c.code.clone(), i.clone());
                i
            }
        };
        let Some(ind) = ind else {
            rejected.push(row_error(
                c.line,
                AppError::not_found("indicator_not_found").field("indicator_code"),
            ));
            continue;
        };
        // The owning agency enters; anyone else is refused for the whole request.
        caller.authorize(Action::EnterIndicatorValues, &Target::agency(&ind.owner))?;
        if ind.formula.is_some() {
            rejected.push(row_error(
                c.line,
                AppError::conflict("indicator_derived").field("indicator_code"),
            ));
            continue;
        }
        let period = match Period::parse(&c.period) {
            Ok(p) if p.periodicity() == ind.periodicity => p,
            Ok(_) => {
                rejected.push(row_error(
                    c.line,
                    AppError::unprocessable("indicator_period_mismatch")
                        .field("period")
                        .arg("periodicity", ind.periodicity.as_str()),
                ));
                continue;
            }
            Err(_) => {
                rejected.push(row_error(
                    c.line,
                    AppError::unprocessable("invalid_period").field("period"),
                ));
                continue;
            }
        };
        let unit = match UnitCode::parse(&c.unit) {
            Ok(u) => u.to_string(),
            Err(_) => {
                rejected.push(row_error(
                    c.line,
                    AppError::unprocessable("invalid_unit_code").field("unit_code"),
                ));
                continue;
            }
        };
        let known = match units.get(&unit) {
            Some(k) => *k,
            None => {
                let k = !store::unit_names(&state.db, std::slice::from_ref(&unit))
                    .await?
                    .is_empty();
                units.insert(unit.clone(), k);
                k
            }
        };
        if !known {
            rejected.push(row_error(
                c.line,
                AppError::unprocessable("unknown_unit").field("unit_code"),
            ));
            continue;
        }
        if !seen.insert((ind.code.to_string(), unit.clone(), period)) {
            rejected.push(row_error(
                c.line,
                AppError::unprocessable("indicator_value_repeated").field("period"),
            ));
            continue;
        }
        let Ok(value) = c.value else {
            rejected.push(row_error(
                c.line,
                AppError::unprocessable("invalid_indicator_value").field("value"),
            ));
            continue;
        };
        let previous = period.shift(-1).to_string();
        let prev = store::reference_value(&state.db, ind.code.as_str(), &unit, &previous).await?;
        match ind.rules.check(value, prev) {
            Ok(jump) => out.push(NewValue {
                code: ind.code.to_string(),
                period: period.to_string(),
                unit,
                value,
                flagged: jump.is_some(),
                change: jump.and_then(|j| j.change),
                digital,
            }),
            Err(e) => {
                let err = match e {
                    ValueError::NotFinite => AppError::unprocessable("invalid_indicator_value"),
                    ValueError::BelowMin(m) => {
                        AppError::unprocessable("indicator_value_below_min").arg("min", m)
                    }
                    ValueError::AboveMax(m) => {
                        AppError::unprocessable("indicator_value_above_max").arg("max", m)
                    }
                };
                rejected.push(row_error(c.line, err.field("value")));
            }
        }
    }
    if rejected.is_empty() {
        Ok(out)
    } else {
        Err(Refusal::Rows(rejected))
    }
}

/// Why values were not entered: one error for the whole request, or every refused row.
pub(crate) enum Refusal {
    Error(AppError),
    Rows(Vec<RowError>),
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Error(e)
    }
}

impl From<StorageError> for Refusal {
    fn from(e: StorageError) -> Self {
        Refusal::Error(e.into())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Error(e) => e.into_response(),
            Refusal::Rows(mut rows) => {
                rows.sort_by_key(|r| r.line);
                let error = AppError::unprocessable("indicator_values_rejected")
                    .arg("count", rows.len())
                    .body()
                    .error;
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(RejectedBody {
                        error,
                        rejected: rows,
                    }),
                )
                    .into_response()
            }
        }
    }
}

async fn enter_all(
    state: &AppState,
    caller: &Caller,
    values: Vec<NewValue>,
) -> Result<Vec<EnteredValue>, Refusal> {
    let at = sohoa_domain::Timestamp::now().to_string();
    let mut tx = state.db.begin().await?;
    let revisions = store::enter(&mut tx, &values, &caller.actor(), &at).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(values
        .into_iter()
        .zip(revisions)
        .map(|(v, revision)| EnteredValue {
            period: v.period,
            unit_code: v.unit,
            value: v.value,
            revision,
            status: Review::Pending,
            flagged: v.flagged,
            change: v.change,
            digital: v.digital,
        })
        .collect())
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
    Path(code): Path<String>,
    ApiJson(body): ApiJson<ValuesBody>,
) -> Response {
    let run = async {
        let ind = load(&state, &code).await?;
        caller.authorize(Action::EnterIndicatorValues, &Target::agency(&ind.owner))?;
        if body.values.is_empty() || body.values.len() > MAX_VALUES {
            return Err(AppError::unprocessable("invalid_page")
                .field("values")
                .arg("max", MAX_VALUES)
                .into());
        }
        let candidates = body
            .values
            .into_iter()
            .enumerate()
            .map(|(i, v)| Candidate {
                line: i + 1,
                code: ind.code.to_string(),
                period: v.period,
                unit: v.unit_code,
                value: Ok(v.value),
            })
            .collect();
        let values = check_values(&state, &caller, candidates).await?;
        enter_all(&state, &caller, values).await
    };
    match run.await {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Imports values from CSV (`indicator_code,period,unit_code,value`, a header line
/// first), all or none: every refused row is reported with its line number.
#[utoipa::path(post, path = "/api/v1/indicators/import", tag = "dashboards", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        example = json!("indicator_code,period,unit_code,value\nRETAIL,2026-01,79,412.5\n")),
    responses((status = 201, body = [EnteredValue]), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = RejectedBody)))]
pub async fn import(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let run = async {
        let text = std::str::from_utf8(&body).map_err(|_| {
            Refusal::Error(AppError::bad_request("invalid_csv").detail("not UTF-8"))
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|_| Refusal::Error(AppError::bad_request("invalid_csv")))?
            .iter()
            .map(str::to_lowercase)
            .collect();
        if header != ["indicator_code", "period", "unit_code", "value"] {
            return Err(AppError::bad_request("invalid_csv")
                .detail("the header must be indicator_code,period,unit_code,value")
                .into());
        }
        let mut candidates = Vec::new();
        let mut malformed = Vec::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    malformed.push(row_error(
                        line,
                        AppError::unprocessable("invalid_csv_row").arg("columns", 0),
                    ));
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line() as usize);
            if record.iter().all(str::is_empty) {
                continue;
            }
            if record.len() != 4 {
                malformed.push(row_error(
                    line,
                    AppError::unprocessable("invalid_csv_row").arg("columns", record.len()),
                ));
                continue;
            }
            candidates.push(Candidate {
                line,
                code: record[0].to_owned(),
                period: record[1].to_owned(),
                unit: record[2].to_owned(),
                value: record[3].parse::<f64>().map_err(|_| ()),
            });
            if candidates.len() + malformed.len() > 100_000 {
                return Err(
                    AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
                        .arg("limit", crate::BODY_LIMIT)
                        .into(),
                );
            }
        }
        if candidates.is_empty() && malformed.is_empty() {
            return Err(AppError::bad_request("invalid_csv")
                .detail("no rows")
                .into());
        }
        let values = match check_values(&state, &caller, candidates).await {
            Ok(v) if malformed.is_empty() => v,
            Ok(_) => return Err(Refusal::Rows(malformed)),
            Err(Refusal::Rows(mut rows)) => {
                rows.extend(malformed);
                return Err(Refusal::Rows(rows));
            }
            Err(e) => return Err(e),
        };
        enter_all(&state, &caller, values).await
    };
    match run.await {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
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

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublishedValue {
    pub unit_code: String,
    pub period: String,
    pub value: f64,
    /// The approved revision; absent for derived values, computed on read.
    pub revision: Option<i64>,
    pub approved_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    pub indicator: IndicatorView,
    pub values: Vec<PublishedValue>,
    pub as_of: String,
}

fn period_param(s: Option<&str>, field: &'static str) -> Result<Option<String>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(p) => Period::parse(p)
            .map(|p| Some(p.to_string()))
            .map_err(|_| AppError::bad_request("invalid_period").field(field)),
    }
}

fn unit_param(s: Option<&str>) -> Result<Option<String>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(u) => UnitCode::parse(u)
            .map(|u| Some(u.to_string()))
            .map_err(|_| AppError::bad_request("invalid_unit_code").field("unit")),
    }
}

/// The published values of `ind` (computed from its inputs when it is derived).
pub(crate) async fn values_of(
    state: &AppState,
    ind: &Indicator,
    unit: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<PublishedValue>, AppError> {
    let Some(formula) = &ind.formula else {
        let rows = store::published(&state.db, &[ind.code.to_string()], unit, from, to).await?;
        return Ok(rows
            .into_iter()
            .map(|p: Published| PublishedValue {
                unit_code: p.unit,
                period: p.period,
                value: p.value,
                revision: Some(p.revision),
                approved_at: Some(p.approved_at),
            })
            .collect());
    };
    // Growth reads a year before `from`: widen the read, then keep the asked periods.
    let wider = from
        .and_then(|f| Period::parse(f).ok())
        .map(|p| p.a_year_before().to_string());
    let inputs: Vec<String> = formula.inputs().iter().map(|c| c.to_string()).collect();
    let rows = store::published(&state.db, &inputs, unit, wider.as_deref(), to).await?;
    let mut table: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut keys: BTreeSet<(String, String)> = BTreeSet::new();
    for p in rows {
        keys.insert((p.unit.clone(), p.period.clone()));
        table.insert((p.code, p.unit, p.period), p.value);
    }
    let mut out = Vec::new();
    for (u, period) in keys {
        if from.is_some_and(|f| period.as_str() < f) {
            continue;
        }
        let Ok(p) = Period::parse(&period) else {
            continue;
        };
        let at = |c: &IndicatorCode, q: Period| {
            table
                .get(&(c.to_string(), u.clone(), q.to_string()))
                .copied()
        };
        if let Some(v) = formula.eval(p, at) {
            out.push(PublishedValue {
                unit_code: u.clone(),
                period,
                value: v,
                revision: None,
                approved_at: None,
            });
        }
    }
    Ok(out)
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
    let ind = load(&state, &code).await?;
    let unit = unit_param(p.unit.as_deref())?;
    let from = period_param(p.from.as_deref(), "from")?;
    let to = period_param(p.to.as_deref(), "to")?;
    let values = values_of(
        &state,
        &ind,
        unit.as_deref(),
        from.as_deref(),
        to.as_deref(),
    )
    .await?;
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
            indicator_code: r.code,
            unit_code: r.unit,
            period: r.period,
            revision: r.revision,
            value: r.value,
            status: r.status,
            flagged: r.flagged,
            change: r.change,
            digital: r.digital,
            entered_by: r.entered_by,
            entered_at: r.entered_at,
            reviewed_by: r.reviewed_by,
            reviewed_at: r.reviewed_at,
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
    let owner = match &caller.0 {
        Principal::Staff(s) => s.agency.clone(),
        _ => None,
    };
    match &owner {
        Some(a) => caller.authorize(Action::ApproveIndicatorValues, &Target::agency(a))?,
        None => caller.authorize(Action::ApproveIndicatorValues, &Target::default())?,
    }
    let rows = store::pending(&state.db, owner.as_ref().map(AgencyCode::as_str), 500).await?;
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
    let ind = load(&state, &code).await?;
    caller.authorize(Action::ReadDashboard, &Target::agency(&ind.owner))?;
    let unit = unit_param(Some(&unit))?.unwrap_or_default();
    let period = period_param(Some(&period), "period")?.unwrap_or_default();
    let rows = store::history(&state.db, ind.code.as_str(), &unit, &period).await?;
    if rows.is_empty() {
        return Err(AppError::not_found("indicator_value_not_found"));
    }
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
    let ind = load(&state, &code).await?;
    caller.authorize(Action::ApproveIndicatorValues, &Target::agency(&ind.owner))?;
    let unit = unit_param(Some(&unit))?.unwrap_or_default();
    let period = period_param(Some(&period), "period")?.unwrap_or_default();
    let note = super::reports::note_of(body.note.as_deref(), "note")?;
    match body.decision {
        Review::Pending => return Err(AppError::unprocessable("invalid_body").field("decision")),
        Review::Rejected if note.is_none() => {
            return Err(AppError::unprocessable("review_note_required").field("note"))
        }
        _ => {}
    }
    let action = match body.decision {
        Review::Approved => "indicator.value.approve",
        _ => "indicator.value.reject",
    };
    let record = AuditRecord::new(caller.actor(), action, "indicator_value", "").client_addr(addr);
    match store::review(
        &state.db,
        ind.code.as_str(),
        &unit,
        &period,
        body.revision,
        body.decision,
        note.as_deref(),
        record,
    )
    .await?
    {
        Reviewed::Done => {}
        Reviewed::Missing => return Err(AppError::not_found("indicator_value_not_found")),
        Reviewed::NotPending => return Err(AppError::conflict("indicator_value_reviewed")),
    }
    let rows = store::history(&state.db, ind.code.as_str(), &unit, &period).await?;
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
pub(crate) async fn dataset(
    state: &AppState,
    p: &ExportParams,
) -> Result<Vec<(Indicator, Vec<PublishedValue>)>, AppError> {
    let unit = unit_param(p.unit.as_deref())?;
    let from = period_param(p.from.as_deref(), "from")?;
    let to = period_param(p.to.as_deref(), "to")?;
    let all = store::all(&state.db).await?;
    let chosen: Vec<Indicator> = match p.indicators.as_deref().map(str::trim) {
        None | Some("") => all,
        Some(list) => {
            let mut out = Vec::new();
            for code in list.split(',').map(str::trim) {
                let Some(i) = all.iter().find(|i| i.code.as_str() == code) else {
                    return Err(AppError::not_found("indicator_not_found")
                        .field("indicators")
                        .detail(code.to_owned()));
                };
                out.push(i.clone());
            }
            out
        }
    };
    let mut out = Vec::new();
    for ind in chosen {
        let values =
            values_of(state, &ind, unit.as_deref(), from.as_deref(), to.as_deref()).await?;
        out.push((ind, values));
    }
    Ok(out)
}

/// [`dataset`] with the names of the units it covers, for SDMX code lists.
async fn dataset_with_names(
    state: &AppState,
    p: &ExportParams,
) -> Result<DatasetWithNames, AppError> {
    let data = dataset(state, p).await?;
    let units: Vec<String> = data
        .iter()
        .flat_map(|(_, v)| v.iter().map(|x| x.unit_code.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names = store::unit_names(&state.db, &units).await?;
    Ok((data, names))
}

type DatasetWithNames = (
    Vec<(Indicator, Vec<PublishedValue>)>,
    BTreeMap<String, String>,
);

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
    let (data, names) = dataset_with_names(&state, &p).await?;
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
    let (data, names) = dataset_with_names(&state, &p).await?;
    let msg = super::sdmx::structure_message(&data, &names);
    Ok(super::sdmx::response(
        super::sdmx::STRUCTURE_MEDIA_TYPE,
        &msg,
    ))
}
