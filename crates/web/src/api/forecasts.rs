//! Forecasts of indicator series with 80% and 95% prediction intervals, the model chosen
//! by an honest backtest (fitted without the last periods, scored on them by MASE and
//! sMAPE beside a seasonal-naive baseline), and what-if scenarios: change a driver
//! series' growth and see a derived indicator move.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::forecasts as uc;
use utoipa::{IntoParams, ToSchema};

use super::indicators::unit_param;
use crate::error::ApiResult;
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

impl From<uc::Forecasted> for IndicatorForecast {
    fn from(f: uc::Forecasted) -> Self {
        let steps = f
            .periods()
            .enumerate()
            .map(|(i, period)| Step {
                period: period.to_string(),
                point: f.forecast.point[i],
                lower80: f.forecast.p80.lower[i],
                upper80: f.forecast.p80.upper[i],
                lower95: f.forecast.p95.lower[i],
                upper95: f.forecast.p95.upper[i],
            })
            .collect();
        IndicatorForecast {
            indicator: f.indicator.to_string(),
            unit_code: f.unit_code,
            observations: f.observations,
            last_observed: f.last_observed.to_string(),
            model: f.forecast.model.name().to_owned(),
            steps,
            backtest: f.forecast.backtest.as_ref().map(|b| BacktestView {
                holdout: b.holdout,
                chosen: score(&b.chosen),
                baseline: score(&b.baseline),
                candidates: b.candidates.iter().map(score).collect(),
            }),
        }
    }
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
    let unit = unit_param(p.unit.as_deref())?;
    let f = uc::forecast(&state, &code, unit.as_ref(), p.h).await?;
    Ok(Json(IndicatorForecast::from(f)))
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
    let unit = unit_param(p.unit.as_deref())?;
    let scenario = uc::Scenario {
        unit: unit.as_ref(),
        driver: &p.driver,
        growth: p.growth,
        h: p.h,
    };
    let w = uc::what_if(&state, &code, scenario).await?;
    Ok(Json(WhatIf {
        indicator: w.indicator.to_string(),
        driver: w.driver.to_string(),
        growth: p.growth,
        steps: w
            .steps
            .into_iter()
            .map(|s| WhatIfStep {
                period: s.period.to_string(),
                baseline: s.baseline,
                scenario: s.scenario,
                driver_baseline: s.driver_baseline,
                driver_scenario: s.driver_scenario,
            })
            .collect(),
    }))
}
