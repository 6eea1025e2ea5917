//! The candidate models and the guard rails around augurs.
//!
//! augurs is treated as untrusted: some code paths panic or return NaN, so every
//! call is wrapped in `catch_unwind` and every output is checked for finiteness.
//! Any of those failures simply removes the candidate from consideration.

use std::panic::{catch_unwind, AssertUnwindSafe};

use augurs::{ets::AutoETS, mstl::MSTLModel, prelude::*};

use crate::metrics::naive_lag;
use crate::{Band, Model};

/// Normal quantiles for the central 80 % and 95 % intervals.
const Z80: f64 = 1.2816;
const Z95: f64 = 1.9600;

/// AutoETS refuses to fit fewer than 7 points (2 params + 4 for "ZZN").
const ETS_MIN_LEN: usize = 7;

/// Point forecast plus both interval bands, all of length `h`.
#[derive(Debug, Clone)]
pub(crate) struct Full {
    pub point: Vec<f64>,
    pub p80: Band,
    pub p95: Band,
}

/// Whether `model` can even be attempted on `n` points; cheap and conservative,
/// so that we never call into augurs with inputs it is known to reject.
pub(crate) fn feasible(model: Model, n: usize, season: usize) -> bool {
    match model {
        // Degrades to the plain naive forecast when a season is not available.
        Model::SeasonalNaive => n >= 2,
        Model::Ets => n >= ETS_MIN_LEN,
        // The trend part is itself an AutoETS fit on the deseasonalised series.
        Model::MstlEts => season >= 2 && n >= (2 * season).max(ETS_MIN_LEN),
    }
}

/// STL seasonal strength (Wang, Smith & Hyndman 2006: 1 − Var(R)/Var(S+R))
/// below which a series is treated as non-seasonal, so MSTL is not tried.
pub(crate) const WEAK_SEASONALITY: f64 = 0.3;
/// Seasonal strength from which non-seasonal ETS is not tried: it would ignore
/// a pattern that dominates the noise.
pub(crate) const STRONG_SEASONALITY: f64 = 0.9;

/// Drops the candidate that clearly does not fit the series' seasonality.
///
/// AutoETS fits dominate the run time (MSTL's trend is one too), so skipping
/// one of the two ETS-based backtest fits on clearly (non-)seasonal series
/// saves about a fifth of the total work. It also stops a short holdout from
/// picking MSTL on noise that merely looks seasonal. Only `train` is
/// inspected, so the backtest stays honest.
pub(crate) fn screen_by_seasonality(candidates: &mut Vec<Model>, train: &[f64], season: usize) {
    if !candidates.contains(&Model::MstlEts) {
        return;
    }
    match seasonal_strength(train, season) {
        Some(s) if s >= STRONG_SEASONALITY => candidates.retain(|&m| m != Model::Ets),
        Some(s) if s >= WEAK_SEASONALITY => {}
        // Undetermined (e.g. STL failed) counts as weak: MSTL would fail too.
        _ => candidates.retain(|&m| m != Model::MstlEts),
    }
}

/// `None` if STL cannot decompose the series (fewer than two seasons).
///
/// Computed here rather than with stlrs' own `seasonal_strength` because on a
/// flat series both variances are loess round-off and their ratio is arbitrary.
pub(crate) fn seasonal_strength(y: &[f64], season: usize) -> Option<f64> {
    let stl = guarded(|| augurs::mstl::stlrs::params().fit(y, season).ok())?;
    let remainder = stl.remainder();
    let detrended: Vec<f64> = stl
        .seasonal()
        .iter()
        .zip(remainder)
        .map(|(s, r)| s + r)
        .collect();
    let var_detrended = variance(&detrended);
    let magnitude = y.iter().fold(0.0_f64, |acc, v| acc.max(v.abs()));
    if var_detrended.sqrt() <= 1e-9 * magnitude {
        return Some(0.0);
    }
    let strength = (1.0 - variance(remainder) / var_detrended).max(0.0);
    strength.is_finite().then_some(strength)
}

fn variance(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n
}

/// Point forecast only: the backtest does not need intervals, and skipping them
/// saves an extra prediction per candidate.
pub(crate) fn point_forecast(model: Model, y: &[f64], season: usize, h: usize) -> Option<Vec<f64>> {
    if !feasible(model, y.len(), season) {
        return None;
    }
    let point = match model {
        Model::SeasonalNaive => snaive_point(y, season, h)?,
        Model::Ets => guarded(|| {
            let fitted = AutoETS::non_seasonal().fit(y).ok()?;
            Some(fitted.predict(h, None).ok()?.point)
        })?,
        Model::MstlEts => guarded(|| {
            let fitted = mstl(season).fit(y).ok()?;
            Some(fitted.predict(h, None).ok()?.point)
        })?,
    };
    (point.len() == h && all_finite(&point)).then_some(point)
}

/// Point forecast and 80 %/95 % bands from a single fit.
pub(crate) fn full_forecast(model: Model, y: &[f64], season: usize, h: usize) -> Option<Full> {
    if !feasible(model, y.len(), season) {
        return None;
    }
    let mut full = match model {
        Model::SeasonalNaive => snaive_full(y, season, h)?,
        Model::Ets => guarded(|| {
            let fitted = AutoETS::non_seasonal().fit(y).ok()?;
            from_augurs(fitted.predict(h, 0.80).ok()?, fitted.predict(h, 0.95).ok()?)
        })?,
        Model::MstlEts => guarded(|| {
            let fitted = mstl(season).fit(y).ok()?;
            from_augurs(fitted.predict(h, 0.80).ok()?, fitted.predict(h, 0.95).ok()?)
        })?,
    };
    let lengths_ok = [
        full.point.len(),
        full.p80.lower.len(),
        full.p80.upper.len(),
        full.p95.lower.len(),
        full.p95.upper.len(),
    ]
    .iter()
    .all(|&len| len == h);
    let finite = all_finite(&full.point)
        && all_finite(&full.p80.lower)
        && all_finite(&full.p80.upper)
        && all_finite(&full.p95.lower)
        && all_finite(&full.p95.upper);
    if !(lengths_ok && finite) {
        return None;
    }
    enforce_nesting(&mut full);
    Some(full)
}

fn mstl(season: usize) -> MSTLModel<augurs::ets::trend::AutoETSTrendModel> {
    MSTLModel::new(vec![season], AutoETS::non_seasonal().into_trend_model())
}

/// A panic inside augurs must not take down a whole batch; it just means this
/// candidate failed. Panic messages still reach the global hook (stderr), which
/// a library has no business replacing.
fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok().flatten()
}

/// The 80 % and 95 % predictions come from separate calls, so the shared point
/// forecast is taken from the first and intervals from each.
fn from_augurs(f80: augurs::Forecast, f95: augurs::Forecast) -> Option<Full> {
    let i80 = f80.intervals?;
    let i95 = f95.intervals?;
    Some(Full {
        point: f80.point,
        p80: Band {
            lower: i80.lower,
            upper: i80.upper,
        },
        p95: Band {
            lower: i95.lower,
            upper: i95.upper,
        },
    })
}

/// Separately computed bands can cross by rounding (and MSTL works in f32), so
/// widen where needed to guarantee lower95 ≤ lower80 ≤ point ≤ upper80 ≤ upper95.
fn enforce_nesting(full: &mut Full) {
    let Full { point, p80, p95 } = full;
    for (i, &p) in point.iter().enumerate() {
        if let (Some(l80), Some(u80), Some(l95), Some(u95)) = (
            p80.lower.get_mut(i),
            p80.upper.get_mut(i),
            p95.lower.get_mut(i),
            p95.upper.get_mut(i),
        ) {
            *l80 = l80.min(p);
            *u80 = u80.max(p);
            *l95 = l95.min(*l80);
            *u95 = u95.max(*u80);
        }
    }
}

fn snaive_point(y: &[f64], season: usize, h: usize) -> Option<Vec<f64>> {
    let lag = naive_lag(y.len(), season);
    let last = y.get(y.len().checked_sub(lag)?..)?;
    Some(last.iter().copied().cycle().take(h).collect())
}

/// Intervals follow the textbook seasonal-naive result: the forecast error
/// variance grows with the number of completed seasons ahead, not with every
/// step, hence the floor((j-1)/m)+1 multiplier.
fn snaive_full(y: &[f64], season: usize, h: usize) -> Option<Full> {
    let point = snaive_point(y, season, h)?;
    let lag = naive_lag(y.len(), season);
    let later = y.get(lag..)?;
    if later.is_empty() {
        return None;
    }
    // Root mean square rather than a mean-centred sd: the model has no drift
    // term, so a systematic trend in the differences is genuine forecast error.
    let sigma = (later
        .iter()
        .zip(y)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / later.len() as f64)
        .sqrt();
    let sd: Vec<f64> = (0..h)
        .map(|i| sigma * (((i / lag) + 1) as f64).sqrt())
        .collect();
    let band = |z: f64| Band {
        lower: point.iter().zip(&sd).map(|(p, s)| p - z * s).collect(),
        upper: point.iter().zip(&sd).map(|(p, s)| p + z * s).collect(),
    };
    Some(Full {
        p80: band(Z80),
        p95: band(Z95),
        point,
    })
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn snaive_repeats_last_season() {
        let y: Vec<f64> = (0..10).map(f64::from).collect();
        let p = snaive_point(&y, 4, 6).unwrap();
        assert_eq!(p, vec![6.0, 7.0, 8.0, 9.0, 6.0, 7.0]);
    }

    #[test]
    fn snaive_without_full_season_is_naive() {
        let y = [1.0, 2.0, 4.0];
        assert_eq!(snaive_point(&y, 12, 3).unwrap(), vec![4.0; 3]);
    }

    #[test]
    fn snaive_interval_steps_by_season() {
        // Seasonal differences at lag 2 are 1, -1, 1, -1 → sigma = 1.
        let y = [0.0, 0.0, 1.0, -1.0, 2.0, -2.0];
        let f = snaive_full(&y, 2, 5).unwrap();
        let half: Vec<f64> = f
            .p95
            .upper
            .iter()
            .zip(&f.point)
            .map(|(u, p)| u - p)
            .collect();
        let s2 = 2f64.sqrt();
        let s3 = 3f64.sqrt();
        let expected = [1.96, 1.96, 1.96 * s2, 1.96 * s2, 1.96 * s3];
        for (a, b) in half.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{half:?}");
        }
        let half80 = f.p80.upper[0] - f.point[0];
        assert!((half80 - 1.2816).abs() < 1e-12);
    }

    #[test]
    fn nesting_repairs_inversions() {
        let mut full = Full {
            point: vec![10.0],
            p80: Band {
                lower: vec![10.5],
                upper: vec![9.0],
            },
            p95: Band {
                lower: vec![10.2],
                upper: vec![9.5],
            },
        };
        enforce_nesting(&mut full);
        assert_eq!(full.p80.lower, vec![10.0]);
        assert_eq!(full.p80.upper, vec![10.0]);
        assert_eq!(full.p95.lower, vec![10.0]);
        assert_eq!(full.p95.upper, vec![10.0]);
    }

    #[test]
    fn guarded_turns_panics_into_none() {
        let r: Option<u8> = guarded(|| panic!("boom"));
        assert_eq!(r, None);
    }

    #[test]
    fn seasonal_strength_extremes() {
        let pattern = [1.0, 5.0, 2.0, 8.0];
        let seasonal: Vec<f64> = (0..40).map(|t| pattern[t % 4]).collect();
        assert!(seasonal_strength(&seasonal, 4).unwrap() > 0.99);
        // Flat: 0/0 variance ratio must not come out as NaN.
        assert_eq!(seasonal_strength(&[3.0; 40], 4), Some(0.0));
        // Fewer than two seasons cannot be decomposed.
        assert_eq!(seasonal_strength(&seasonal[..7], 4), None);
    }

    #[test]
    fn screen_only_applies_when_mstl_is_possible() {
        let mut c = vec![Model::SeasonalNaive, Model::Ets];
        screen_by_seasonality(&mut c, &[1.0, 2.0, 3.0], 12);
        assert_eq!(c, vec![Model::SeasonalNaive, Model::Ets]);
    }

    #[test]
    fn feasibility_rules() {
        assert!(feasible(Model::SeasonalNaive, 3, 12));
        assert!(!feasible(Model::Ets, 6, 1));
        assert!(feasible(Model::Ets, 7, 1));
        assert!(!feasible(Model::MstlEts, 100, 1));
        assert!(!feasible(Model::MstlEts, 23, 12));
        assert!(feasible(Model::MstlEts, 24, 12));
        assert!(!feasible(Model::MstlEts, 6, 3));
    }
}
