//! Forecasts of indicator series with 80% and 95% prediction intervals, the model chosen
//! by an honest backtest (fitted without the last periods, scored on them by MASE and
//! sMAPE beside a seasonal-naive baseline), and what-if scenarios: change a driver
//! series' growth and see a derived indicator move.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::indicators::{Indicator, IndicatorCode, Period};
use sohoa_forecast::{Forecast, ForecastError};
use utoipa::{IntoParams, ToSchema};

use super::indicators::{values_of, PublishedValue};
use crate::error::{ApiResult, AppError};
use crate::extract::ApiQuery;
use crate::i18n::Tr;
use crate::AppState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Step {
    pub period: String,
    pub point: f64,
    pub lower80: f64,
    pub upper80: f64,
    pub lower95: f64,
    pub upper95: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelScore {
    pub model: String,
    /// Mean absolute scaled error on the held-out periods (below 1: better than the
    /// seasonal-naive forecast in-sample).
    pub mase: Option<f64>,
    /// Symmetric mean absolute percentage error, 0-200.
    pub smape: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BacktestView {
    /// Periods held out: the models were fitted without them and scored on them.
    pub holdout: usize,
    pub chosen: ModelScore,
    pub baseline: ModelScore,
    pub candidates: Vec<ModelScore>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorForecast {
    pub indicator: String,
    pub unit_code: String,
    /// How many consecutive observed periods were used.
    pub observations: usize,
    pub last_observed: String,
    pub model: String,
    pub steps: Vec<Step>,
    /// Absent when the series is too short to hold periods out.
    pub backtest: Option<BacktestView>,
}

fn score(s: &sohoa_forecast::Score) -> ModelScore {
    let r = |v: Option<f64>| v.map(|x| (x * 1000.0).round() / 1000.0);
    ModelScore {
        model: s.model.name().to_owned(),
        mase: r(s.mase),
        smape: r(s.smape),
    }
}

/// The longest run of consecutive periods ending at the last one, with its values.
fn contiguous(series: &[&PublishedValue]) -> Vec<(Period, f64)> {
    let mut parsed: Vec<(Period, f64)> = series
        .iter()
        .filter_map(|v| Period::parse(&v.period).ok().map(|p| (p, v.value)))
        .collect();
    parsed.sort_by_key(|(p, _)| *p);
    let mut start = 0;
    for i in 1..parsed.len() {
        if parsed[i].0.ordinal() != parsed[i - 1].0.ordinal() + 1 {
            start = i;
        }
    }
    parsed.split_off(start)
}

fn forecast_error(e: ForecastError) -> AppError {
    match e {
        ForecastError::TooShort { need, .. } => {
            AppError::unprocessable("series_too_short").arg("need", need)
        }
        ForecastError::BadHorizon => AppError::bad_request("invalid_query").field("h"),
        ForecastError::NonFinite { .. } | ForecastError::NoModel => {
            AppError::unprocessable("no_forecast")
        }
    }
}

/// Forecasts `h` periods after the observed `series` (one unit's published values).
fn forecast_of(
    ind: &Indicator,
    series: &[&PublishedValue],
    h: usize,
) -> Result<IndicatorForecast, AppError> {
    let run = contiguous(series);
    let Some(&(last, _)) = run.last() else {
        return Err(AppError::unprocessable("series_too_short").arg("need", 3));
    };
    let y: Vec<f64> = run.iter().map(|(_, v)| *v).collect();
    let season = ind.periodicity.per_year() as usize;
    let f: Forecast = sohoa_forecast::forecast(&y, season, h).map_err(forecast_error)?;
    let steps = (0..f.point.len())
        .map(|i| Step {
            period: last.shift(i as i64 + 1).to_string(),
            point: f.point[i],
            lower80: f.p80.lower[i],
            upper80: f.p80.upper[i],
            lower95: f.p95.lower[i],
            upper95: f.p95.upper[i],
        })
        .collect();
    Ok(IndicatorForecast {
        indicator: ind.code.to_string(),
        unit_code: series
            .first()
            .map(|v| v.unit_code.clone())
            .unwrap_or_default(),
        observations: y.len(),
        last_observed: last.to_string(),
        model: f.model.name().to_owned(),
        steps,
        backtest: f.backtest.as_ref().map(|b| BacktestView {
            holdout: b.holdout,
            chosen: score(&b.chosen),
            baseline: score(&b.baseline),
            candidates: b.candidates.iter().map(score).collect(),
        }),
    })
}

/// [`forecast_of`] on a blocking thread: fitting models is CPU work that must not hold one
/// of the few threads answering requests.
pub(crate) async fn forecast_blocking(
    ind: &Indicator,
    series: Vec<PublishedValue>,
    h: usize,
) -> Result<IndicatorForecast, AppError> {
    let ind = ind.clone();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&PublishedValue> = series.iter().collect();
        forecast_of(&ind, &refs, h)
    })
    .await
    .map_err(AppError::internal)?
}

/// One sentence for the page: the model and how it did against the baseline.
pub(crate) fn describe(t: &Tr, f: &IndicatorForecast) -> String {
    let show = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |x| format!("{x:.2}"));
    match &f.backtest {
        Some(b) => crate::i18n::catalog().get(
            t.lang,
            "fc-backtest",
            &[
                ("model", f.model.clone()),
                ("holdout", b.holdout.to_string()),
                ("mase", show(b.chosen.mase)),
                ("smape", show(b.chosen.smape)),
                ("base_mase", show(b.baseline.mase)),
                ("base_smape", show(b.baseline.smape)),
            ],
        ),
        None => crate::i18n::catalog().get(t.lang, "fc-no-backtest", &[("model", f.model.clone())]),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastParams {
    /// The unit whose series to forecast (required when several units have values).
    #[param(value_type = Option<sohoa_domain::UnitCode>, example = "79")]
    pub unit: Option<String>,
    /// Periods ahead, 1-36 (default: a year).
    #[param(minimum = 1, maximum = 36, example = 12)]
    pub h: Option<usize>,
}

async fn series_for(
    state: &AppState,
    code: &str,
    unit: Option<&str>,
) -> Result<(Indicator, Vec<PublishedValue>), AppError> {
    let code = IndicatorCode::parse(code)
        .map_err(|_| AppError::not_found("indicator_not_found").field("code"))?;
    let ind = sohoa_storage::indicators::get(&state.db, code.as_str())
        .await?
        .ok_or_else(|| AppError::not_found("indicator_not_found").field("code"))?;
    let unit = match unit.map(str::trim).filter(|s| !s.is_empty()) {
        Some(u) => Some(
            sohoa_domain::UnitCode::parse(u)
                .map_err(|_| AppError::bad_request("invalid_unit_code").field("unit"))?
                .to_string(),
        ),
        None => None,
    };
    let values = values_of(state, &ind, unit.as_deref(), None, None).await?;
    let first = values.first().map(|v| v.unit_code.clone());
    if unit.is_none() && values.iter().any(|v| Some(&v.unit_code) != first.as_ref()) {
        return Err(AppError::bad_request("invalid_query").field("unit"));
    }
    Ok((ind, values))
}

fn horizon(h: Option<usize>, ind: &Indicator) -> Result<usize, AppError> {
    let h = h.unwrap_or(ind.periodicity.per_year() as usize);
    if (1..=36).contains(&h) {
        Ok(h)
    } else {
        Err(AppError::bad_request("invalid_query").field("h"))
    }
}

/// A forecast of an indicator's published series, with intervals and its backtest.
#[utoipa::path(get, path = "/api/v1/indicators/{code}/forecast", tag = "dashboards",
    params(("code" = String, Path, description = "Indicator code", example = "RETAIL"), ForecastParams),
    responses((status = 200, body = IndicatorForecast), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn forecast(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(p): ApiQuery<ForecastParams>,
) -> ApiResult<Json<IndicatorForecast>> {
    let (ind, values) = series_for(&state, &code, p.unit.as_deref()).await?;
    let h = horizon(p.h, &ind)?;
    Ok(Json(forecast_blocking(&ind, values, h).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhatIfParams {
    #[param(value_type = Option<sohoa_domain::UnitCode>, example = "79")]
    pub unit: Option<String>,
    /// An input of the indicator's formula whose path is changed.
    #[param(example = "POP")]
    pub driver: String,
    /// The driver's growth per year in the scenario (0.02 = 2%), compounded per period.
    #[param(example = 0.02)]
    pub growth: f64,
    /// Periods ahead, 1-36 (default: a year).
    #[param(minimum = 1, maximum = 36, example = 12)]
    pub h: Option<usize>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WhatIfStep {
    pub period: String,
    /// The derived indicator with every input on its forecast.
    pub baseline: Option<f64>,
    /// The same with the driver growing as asked.
    pub scenario: Option<f64>,
    pub driver_baseline: f64,
    pub driver_scenario: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WhatIf {
    pub indicator: String,
    pub driver: String,
    pub growth: f64,
    pub steps: Vec<WhatIfStep>,
}

/// What-if for a derived indicator: its inputs forecast, then the driver's path replaced
/// by steady growth from its last observed value.
#[utoipa::path(get, path = "/api/v1/indicators/{code}/whatif", tag = "dashboards",
    params(("code" = String, Path, description = "A derived indicator's code", example = "RETAIL_PC"), WhatIfParams),
    responses((status = 200, body = WhatIf), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn what_if(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(p): ApiQuery<WhatIfParams>,
) -> ApiResult<Json<WhatIf>> {
    let (ind, _) = series_for(&state, &code, p.unit.as_deref()).await?;
    let Some(formula) = ind.formula.clone() else {
        return Err(AppError::unprocessable("indicator_not_derived").field("code"));
    };
    if !p.growth.is_finite() || !(-0.5..=1.0).contains(&p.growth) {
        return Err(AppError::bad_request("invalid_query").field("growth"));
    }
    let driver = formula
        .inputs()
        .into_iter()
        .find(|c| c.as_str() == p.driver.trim())
        .cloned()
        .ok_or_else(|| AppError::bad_request("invalid_query").field("driver"))?;
    let h = horizon(p.h, &ind)?;
    // Observed values, then each input's forecast (baseline) and the driver's scenario.
    let mut observed: BTreeMap<(String, Period), f64> = BTreeMap::new();
    let mut baseline = observed.clone();
    let mut scenario = observed.clone();
    let mut start: Option<Period> = None;
    let mut driver_paths: BTreeMap<Period, (f64, f64)> = BTreeMap::new();
    for input in formula.inputs() {
        let (inp, values) = series_for(&state, input.as_str(), p.unit.as_deref()).await?;
        let refs: Vec<&PublishedValue> = values.iter().collect();
        for (period, v) in contiguous(&refs) {
            observed.insert((input.to_string(), period), v);
        }
        let f = forecast_blocking(&inp, values.clone(), h).await?;
        let last = Period::parse(&f.last_observed)
            .map_err(|_| AppError::internal("a forecast names an invalid period"))?;
        start = Some(start.map_or(last, |s: Period| s.min(last)));
        let last_value = observed
            .get(&(input.to_string(), last))
            .copied()
            .unwrap_or_default();
        let per_year = f64::from(inp.periodicity.per_year());
        for (i, s) in f.steps.iter().enumerate() {
            let Ok(period) = Period::parse(&s.period) else {
                continue;
            };
            baseline.insert((input.to_string(), period), s.point);
            let v = if *input == driver {
                let grown = last_value * (1.0 + p.growth).powf((i + 1) as f64 / per_year);
                driver_paths.insert(period, (s.point, grown));
                grown
            } else {
                s.point
            };
            scenario.insert((input.to_string(), period), v);
        }
    }
    let Some(start) = start else {
        return Err(AppError::unprocessable("series_too_short").arg("need", 3));
    };
    let lookup = |table: &BTreeMap<(String, Period), f64>, c: &IndicatorCode, q: Period| {
        table
            .get(&(c.to_string(), q))
            .or_else(|| observed.get(&(c.to_string(), q)))
            .copied()
    };
    let steps = (1..=h as i64)
        .filter_map(|k| {
            let period = start.shift(k);
            let (db, ds) = driver_paths.get(&period).copied()?;
            Some(WhatIfStep {
                period: period.to_string(),
                baseline: formula.eval(period, |c, q| lookup(&baseline, c, q)),
                scenario: formula.eval(period, |c, q| lookup(&scenario, c, q)),
                driver_baseline: db,
                driver_scenario: ds,
            })
        })
        .collect();
    Ok(Json(WhatIf {
        indicator: ind.code.to_string(),
        driver: driver.to_string(),
        growth: p.growth,
        steps,
    }))
}
