//! Automatic forecasting of socio-economic indicator series.
//!
//! [`forecast`] picks between a seasonal-naive baseline, automatic ETS and
//! MSTL-with-ETS-trend using an honest holdout backtest (models are fitted only
//! on data before the holdout), then refits the winner on the full series and
//! returns point forecasts with 80 % and 95 % prediction intervals.
//!
//! Before the backtest, an STL seasonal-strength screen on the training part
//! drops MSTL for clearly non-seasonal series and non-seasonal ETS for strongly
//! seasonal ones; this halves the expensive backtest fits for those series.
//!
//! The heavy lifting is done by augurs, which is used defensively: only
//! non-seasonal ETS specifications are used, inputs are validated up front, and
//! every fit runs under `catch_unwind` with its output checked for finiteness.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod metrics;
mod models;
pub mod synthetic;

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

/// Largest supported horizon; beyond ten years of monthly data the intervals
/// of these models are not meaningful.
pub const MAX_HORIZON: usize = 120;

/// Fewest observations accepted: with two points there is a single difference
/// and no way to estimate forecast uncertainty honestly.
pub const MIN_LEN: usize = 3;

/// Candidate models, from simplest to most complex. The order is used to break
/// ties in favour of the simpler model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Repeats the last observed season (the last value for `season == 1`, or
    /// when the series is not longer than one season).
    SeasonalNaive,
    /// Automatic non-seasonal exponential smoothing (AICc over ANN, AAN, AAdN,
    /// MNN, MAN, MAdN).
    Ets,
    /// MSTL decomposition with an automatic ETS model on the deseasonalised
    /// series; the last seasonal cycle is carried forward.
    MstlEts,
}

impl Model {
    /// Stable identifier, identical to the serde representation.
    pub fn name(self) -> &'static str {
        match self {
            Model::SeasonalNaive => "seasonal_naive",
            Model::Ets => "ets",
            Model::MstlEts => "mstl_ets",
        }
    }
}

/// Simplest first, so a linear scan that only replaces on strict improvement
/// prefers simpler models on ties.
const CANDIDATES: [Model; 3] = [Model::SeasonalNaive, Model::Ets, Model::MstlEts];

/// A prediction interval, one entry per forecast step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// Holdout accuracy of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub model: Model,
    /// Mean absolute scaled error; `None` when the training part has no
    /// seasonal-naive variation to scale by (e.g. a flat series).
    pub mase: Option<f64>,
    /// Symmetric MAPE in percent, 0–200.
    pub smape: Option<f64>,
}

/// How the model was chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Number of trailing observations held out.
    pub holdout: usize,
    /// Score of the model actually returned.
    pub chosen: Score,
    /// Score of the seasonal-naive benchmark.
    pub baseline: Score,
    /// Every candidate that could be fitted on the training part, simplest
    /// first. Candidates that failed are absent.
    pub candidates: Vec<Score>,
}

/// Forecast for `h` steps after the last observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub model: Model,
    pub point: Vec<f64>,
    /// Nested inside `p95`; both contain `point`.
    pub p80: Band,
    pub p95: Band,
    /// `None` when the series was too short to compare models on a holdout.
    pub backtest: Option<Backtest>,
}

/// Why no forecast was produced. The first three are input problems the caller
/// can report to the user; `NoModel` is not expected for sane data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    #[error("series too short: need at least {need} observations, have {have}")]
    TooShort { need: usize, have: usize },
    #[error("non-finite value at index {at}")]
    NonFinite { at: usize },
    #[error("horizon must be between 1 and {MAX_HORIZON}")]
    BadHorizon,
    #[error("no forecasting model could be fitted")]
    NoModel,
}

/// Forecast `h` steps of `y`.
///
/// `season` is the number of observations per year (12 monthly, 4 quarterly,
/// 1 yearly); 0 is treated as 1.
///
/// # Errors
///
/// [`ForecastError::BadHorizon`] unless `1 <= h <= 120`,
/// [`ForecastError::NonFinite`] for the first NaN/infinite value,
/// [`ForecastError::TooShort`] for fewer than 3 observations, and
/// [`ForecastError::NoModel`] if every model failed (only possible when values
/// are so extreme that the forecasts overflow).
pub fn forecast(y: &[f64], season: usize, h: usize) -> Result<Forecast, ForecastError> {
    validate(y, h)?;
    let season = season.max(1);
    let backtest = run_backtest(y, season, h);

    let mut order = match &backtest {
        Some(bt) => rank(&bt.candidates),
        // Without a holdout to judge by, ETS is the better-founded default
        // whenever there is enough data for it.
        None if models::feasible(Model::Ets, y.len(), season) => vec![Model::Ets],
        None => Vec::new(),
    };
    // Seasonal naive is plain arithmetic that only fails on overflow, so it is
    // the last resort if the preferred model's full-data refit breaks.
    if !order.contains(&Model::SeasonalNaive) {
        order.push(Model::SeasonalNaive);
    }

    for model in order {
        if let Some(full) = models::full_forecast(model, y, season, h) {
            let backtest = backtest.map(|mut bt| {
                if let Some(score) = bt.candidates.iter().find(|s| s.model == model) {
                    bt.chosen = score.clone();
                }
                bt
            });
            return Ok(Forecast {
                model,
                point: full.point,
                p80: full.p80,
                p95: full.p95,
                backtest,
            });
        }
    }
    Err(ForecastError::NoModel)
}

/// [`forecast`] for many series in parallel on `threads` threads (0 means
/// available parallelism). Results are in the same order as `series`.
pub fn forecast_many(
    series: &[Vec<f64>],
    season: usize,
    h: usize,
    threads: usize,
) -> Vec<Result<Forecast, ForecastError>> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        t => t,
    }
    .min(series.len())
    .max(1);

    let mut slots: Vec<Option<Result<Forecast, ForecastError>>> = vec![None; series.len()];
    // Work is handed out one series at a time because fit times vary a lot
    // between series; static chunks would leave threads idle.
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(y) = series.get(i) else { break };
            done.push((i, forecast(y, season, h)));
        }
        done
    };

    std::thread::scope(|scope| {
        // The calling thread works too, so progress is guaranteed even if the
        // OS refuses to create more threads.
        let handles: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, worker).ok())
            .collect();
        let mut finished = worker();
        for handle in handles {
            if let Ok(done) = handle.join() {
                finished.extend(done);
            }
        }
        for (i, result) in finished {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(result);
            }
        }
    });

    // A slot can only be empty if a worker thread died, which the augurs
    // guards are meant to prevent; report it rather than panic.
    slots
        .into_iter()
        .map(|slot| slot.unwrap_or(Err(ForecastError::NoModel)))
        .collect()
}

fn validate(y: &[f64], h: usize) -> Result<(), ForecastError> {
    if !(1..=MAX_HORIZON).contains(&h) {
        return Err(ForecastError::BadHorizon);
    }
    if let Some(at) = y.iter().position(|v| !v.is_finite()) {
        return Err(ForecastError::NonFinite { at });
    }
    if y.len() < MIN_LEN {
        return Err(ForecastError::TooShort {
            need: MIN_LEN,
            have: y.len(),
        });
    }
    Ok(())
}

/// One season (at least 4 points) says most about seasonal fit, but never more
/// than the requested horizon, and never more than a quarter of the data so the
/// training part stays representative.
fn holdout_len(n: usize, season: usize, h: usize) -> usize {
    h.min(season.max(4)).min(n / 4)
}

fn run_backtest(y: &[f64], season: usize, h: usize) -> Option<Backtest> {
    let holdout = holdout_len(y.len(), season, h);
    if holdout == 0 {
        return None;
    }
    let (train, test) = y.split_at(y.len() - holdout);
    let mut feasible: Vec<Model> = CANDIDATES
        .into_iter()
        .filter(|&m| models::feasible(m, train.len(), season))
        .collect();
    models::screen_by_seasonality(&mut feasible, train, season);
    // With only the baseline available there is nothing to compare.
    if feasible.len() < 2 {
        return None;
    }
    let candidates: Vec<Score> = feasible
        .into_iter()
        .filter_map(|model| {
            let fc = models::point_forecast(model, train, season, holdout)?;
            Some(Score {
                model,
                mase: metrics::mase(train, test, &fc, season),
                smape: metrics::smape(test, &fc),
            })
        })
        .collect();
    let baseline = candidates
        .iter()
        .find(|s| s.model == Model::SeasonalNaive)?
        .clone();
    let chosen = rank(&candidates)
        .first()
        .and_then(|&m| candidates.iter().find(|s| s.model == m))?
        .clone();
    Some(Backtest {
        holdout,
        chosen,
        baseline,
        candidates,
    })
}

/// Best first. Selection by repeated scanning rather than `sort_by`, because a
/// tolerance-based comparison is not a total order and std's sort may panic on
/// inconsistent comparators.
fn rank(scores: &[Score]) -> Vec<Model> {
    let mut remaining: Vec<&Score> = scores.iter().collect();
    let mut order = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let mut best = 0;
        for (i, s) in remaining.iter().enumerate().skip(1) {
            if remaining.get(best).is_some_and(|b| better(s, b)) {
                best = i;
            }
        }
        order.push(remaining.remove(best).model);
    }
    order
}

/// Strictly better: lower MASE, else (tie or undefined) lower sMAPE. Equal
/// scores are not "better", which leaves the simpler model in place.
fn better(a: &Score, b: &Score) -> bool {
    match compare(a.mase, b.mase) {
        Some(ord) => ord.is_lt(),
        None => compare(a.smape, b.smape).is_some_and(|ord| ord.is_lt()),
    }
}

/// `None` means "no preference". Differences within floating-point noise are
/// ties, so an ETS fit that reproduces a flat series to 1e-12 does not beat the
/// naive forecast that reproduces it exactly.
fn compare(a: Option<f64>, b: Option<f64>) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering::{Greater, Less};
    match (a, b) {
        (Some(x), Some(y)) => {
            let tol = 1e-9 * x.abs().max(y.abs()).max(1.0);
            if (x - y).abs() <= tol {
                None
            } else {
                x.partial_cmp(&y)
            }
        }
        (Some(_), None) => Some(Less),
        (None, Some(_)) => Some(Greater),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests;
