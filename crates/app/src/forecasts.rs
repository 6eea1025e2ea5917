//! Forecasts of indicator series with 80% and 95% prediction intervals, the model chosen
//! by an honest backtest (fitted without the last periods, scored on them beside a
//! seasonal-naive baseline), and what-if scenarios: change a driver series' growth and see
//! a derived indicator move.

use std::collections::BTreeMap;

use sohoa_domain::indicators::{Indicator, IndicatorCode, Period};
use sohoa_domain::UnitCode;
use sohoa_forecast::{Forecast, ForecastError};

use crate::indicators::{self, PublishedValue, Range};
use crate::{App, Error, Result};

/// Periods ahead a forecast may look, at most.
pub const MAX_HORIZON: usize = 36;

/// One unit's series forecast.
#[derive(Debug, Clone)]
pub struct Forecasted {
    pub indicator: IndicatorCode,
    pub unit_code: String,
    /// How many consecutive observed periods were used.
    pub observations: usize,
    pub last_observed: Period,
    pub forecast: Forecast,
}

impl Forecasted {
    /// The forecast's periods, in order.
    pub fn periods(&self) -> impl Iterator<Item = Period> + '_ {
        (1..=self.forecast.point.len() as i64).map(|i| self.last_observed.shift(i))
    }
}

/// The longest run of consecutive periods ending at the last one, with its values.
fn contiguous(series: &[PublishedValue]) -> Vec<(Period, f64)> {
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

fn forecast_error(e: ForecastError) -> Error {
    match e {
        ForecastError::TooShort { need, .. } => {
            Error::unprocessable("series_too_short").arg("need", need)
        }
        ForecastError::BadHorizon => Error::bad_request("invalid_query").field("h"),
        ForecastError::NonFinite { .. } | ForecastError::NoModel => {
            Error::unprocessable("no_forecast")
        }
    }
}

/// Forecasts `h` periods after the observed `series` (one unit's published values).
fn forecast_of(ind: &Indicator, series: &[PublishedValue], h: usize) -> Result<Forecasted> {
    let run = contiguous(series);
    let Some(&(last, _)) = run.last() else {
        return Err(Error::unprocessable("series_too_short").arg("need", 3));
    };
    let y: Vec<f64> = run.iter().map(|(_, v)| *v).collect();
    let season = ind.periodicity.per_year() as usize;
    let forecast = sohoa_forecast::forecast(&y, season, h).map_err(forecast_error)?;
    Ok(Forecasted {
        indicator: ind.code.clone(),
        unit_code: series
            .first()
            .map(|v| v.unit_code.clone())
            .unwrap_or_default(),
        observations: y.len(),
        last_observed: last,
        forecast,
    })
}

/// [`forecast_of`] on a blocking thread: fitting models is CPU work that must not hold one
/// of the few threads answering requests.
pub async fn forecast_series(
    ind: &Indicator,
    series: Vec<PublishedValue>,
    h: usize,
) -> Result<Forecasted> {
    let ind = ind.clone();
    crate::blocking(move || forecast_of(&ind, &series, h)).await?
}

/// One unit's published series of the indicator: `unit` may be left out only when every
/// value is of one unit.
async fn series_for(
    app: &App,
    code: &str,
    unit: Option<&UnitCode>,
) -> Result<(Indicator, Vec<PublishedValue>)> {
    let ind = indicators::get(app, code).await?;
    let range = Range {
        unit: unit.cloned(),
        ..Range::default()
    };
    let values = indicators::values_of(app, &ind, &range).await?;
    let first = values.first().map(|v| v.unit_code.clone());
    if unit.is_none() && values.iter().any(|v| Some(&v.unit_code) != first.as_ref()) {
        return Err(Error::bad_request("invalid_query").field("unit"));
    }
    Ok((ind, values))
}

fn horizon(h: Option<usize>, ind: &Indicator) -> Result<usize> {
    let h = h.unwrap_or(ind.periodicity.per_year() as usize);
    if (1..=MAX_HORIZON).contains(&h) {
        Ok(h)
    } else {
        Err(Error::bad_request("invalid_query").field("h"))
    }
}

/// A forecast of an indicator's published series `h` periods ahead (default: a year).
pub async fn forecast(
    app: &App,
    code: &str,
    unit: Option<&UnitCode>,
    h: Option<usize>,
) -> Result<Forecasted> {
    let (ind, values) = series_for(app, code, unit).await?;
    let h = horizon(h, &ind)?;
    forecast_series(&ind, values, h).await
}

/// A what-if: a derived indicator's driver growing steadily.
#[derive(Debug, Clone)]
pub struct Scenario<'a> {
    pub unit: Option<&'a UnitCode>,
    /// An input of the indicator's formula whose path is changed.
    pub driver: &'a str,
    /// The driver's growth per year (0.02 = 2%), compounded per period.
    pub growth: f64,
    pub h: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct WhatIfStep {
    pub period: Period,
    /// The derived indicator with every input on its forecast.
    pub baseline: Option<f64>,
    /// The same with the driver growing as asked.
    pub scenario: Option<f64>,
    pub driver_baseline: f64,
    pub driver_scenario: f64,
}

#[derive(Debug, Clone)]
pub struct WhatIf {
    pub indicator: IndicatorCode,
    pub driver: IndicatorCode,
    pub steps: Vec<WhatIfStep>,
}

type Table = BTreeMap<(IndicatorCode, Period), f64>;

/// Each input's observed and forecast values: as forecast (baseline) and with the driver
/// growing (scenario); the driver's two paths; the first period after the observations.
#[derive(Default)]
struct Paths {
    observed: Table,
    baseline: Table,
    scenario: Table,
    driver: BTreeMap<Period, (f64, f64)>,
    start: Option<Period>,
}

impl Paths {
    fn observe(&mut self, input: &IndicatorCode, values: &[PublishedValue]) {
        for (period, v) in contiguous(values) {
            self.observed.insert((input.clone(), period), v);
        }
    }

    fn add_forecast(&mut self, ind: &Indicator, f: &Forecasted, growth: Option<f64>) {
        let last = f.last_observed;
        self.start = Some(self.start.map_or(last, |s| s.min(last)));
        let last_value = self
            .observed
            .get(&(ind.code.clone(), last))
            .copied()
            .unwrap_or_default();
        let per_year = f64::from(ind.periodicity.per_year());
        for (i, (period, point)) in f.periods().zip(&f.forecast.point).enumerate() {
            let key = (ind.code.clone(), period);
            self.baseline.insert(key.clone(), *point);
            let v = match growth {
                Some(g) => {
                    let grown = last_value * (1.0 + g).powf((i + 1) as f64 / per_year);
                    self.driver.insert(period, (*point, grown));
                    grown
                }
                None => *point,
            };
            self.scenario.insert(key, v);
        }
    }

    fn lookup(&self, table: &Table, c: &IndicatorCode, q: Period) -> Option<f64> {
        let key = (c.clone(), q);
        table.get(&key).or_else(|| self.observed.get(&key)).copied()
    }
}

/// What-if for a derived indicator: its inputs forecast, then the driver's path replaced
/// by steady growth from its last observed value.
pub async fn what_if(app: &App, code: &str, s: Scenario<'_>) -> Result<WhatIf> {
    let (ind, _) = series_for(app, code, s.unit).await?;
    let Some(formula) = ind.formula.clone() else {
        return Err(Error::unprocessable("indicator_not_derived").field("code"));
    };
    if !s.growth.is_finite() || !(-0.5..=1.0).contains(&s.growth) {
        return Err(Error::bad_request("invalid_query").field("growth"));
    }
    let driver = formula
        .inputs()
        .into_iter()
        .find(|c| c.as_str() == s.driver.trim())
        .cloned()
        .ok_or_else(|| Error::bad_request("invalid_query").field("driver"))?;
    let h = horizon(s.h, &ind)?;
    let mut paths = Paths::default();
    for input in formula.inputs() {
        let (inp, values) = series_for(app, input.as_str(), s.unit).await?;
        paths.observe(input, &values);
        let f = forecast_series(&inp, values, h).await?;
        let growth = (*input == driver).then_some(s.growth);
        paths.add_forecast(&inp, &f, growth);
    }
    let Some(start) = paths.start else {
        return Err(Error::unprocessable("series_too_short").arg("need", 3));
    };
    let steps = (1..=h as i64)
        .filter_map(|k| {
            let period = start.shift(k);
            let (db, ds) = paths.driver.get(&period).copied()?;
            Some(WhatIfStep {
                period,
                baseline: formula.eval(period, |c, q| paths.lookup(&paths.baseline, c, q)),
                scenario: formula.eval(period, |c, q| paths.lookup(&paths.scenario, c, q)),
                driver_baseline: db,
                driver_scenario: ds,
            })
        })
        .collect();
    Ok(WhatIf {
        indicator: ind.code,
        driver,
        steps,
    })
}
