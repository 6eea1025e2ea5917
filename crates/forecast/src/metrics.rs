//! Holdout accuracy measures used to pick a model.

/// Lag used for the seasonal-naive scale and forecast: a seasonal lag only makes
/// sense once at least one full season plus one point is available, otherwise
/// there is no seasonal difference to learn from and we degrade to lag 1.
pub(crate) fn naive_lag(n: usize, season: usize) -> usize {
    if season > 1 && n > season {
        season
    } else {
        1
    }
}

/// MASE scaled by the in-sample seasonal-naive error of the *training* part, so
/// that the score is comparable across series of very different magnitudes
/// (GDP in billions vs. rates in percent).
///
/// `None` when the scale is zero or undefined (e.g. a flat training series):
/// dividing by zero would make every model look infinitely bad or good.
pub(crate) fn mase(train: &[f64], actual: &[f64], fc: &[f64], season: usize) -> Option<f64> {
    if actual.is_empty() || actual.len() != fc.len() {
        return None;
    }
    let lag = naive_lag(train.len(), season);
    let diffs = train.get(lag..)?;
    if diffs.is_empty() {
        return None;
    }
    let scale = diffs
        .iter()
        .zip(train)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / diffs.len() as f64;
    if !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    let mae = mean_abs_error(actual, fc)?;
    let value = mae / scale;
    value.is_finite().then_some(value)
}

/// Symmetric MAPE in percent (0–200). Unlike MASE it stays defined for flat
/// series, which is why it is the tie-breaker.
pub(crate) fn smape(actual: &[f64], fc: &[f64]) -> Option<f64> {
    if actual.is_empty() || actual.len() != fc.len() {
        return None;
    }
    let total: f64 = actual
        .iter()
        .zip(fc)
        .map(|(a, f)| {
            let denom = a.abs() + f.abs();
            // Both zero means a perfect forecast of zero, not an undefined ratio.
            if denom == 0.0 {
                0.0
            } else {
                2.0 * (a - f).abs() / denom
            }
        })
        .sum();
    let value = 100.0 * total / actual.len() as f64;
    value.is_finite().then_some(value)
}

fn mean_abs_error(actual: &[f64], fc: &[f64]) -> Option<f64> {
    let total: f64 = actual.iter().zip(fc).map(|(a, f)| (a - f).abs()).sum();
    let value = total / actual.len() as f64;
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn lag_degrades_to_one_without_a_full_season() {
        assert_eq!(naive_lag(12, 12), 1);
        assert_eq!(naive_lag(13, 12), 12);
        assert_eq!(naive_lag(100, 1), 1);
        assert_eq!(naive_lag(100, 0), 1);
    }

    #[test]
    fn mase_uses_training_scale() {
        // Naive in-sample errors are all 1 → scale 1, so MASE equals the MAE.
        let train = [1.0, 2.0, 3.0, 4.0];
        let m = mase(&train, &[5.0, 6.0], &[5.5, 5.0], 1).unwrap();
        assert!((m - 0.75).abs() < 1e-12);
    }

    #[test]
    fn mase_seasonal_scale() {
        // Seasonal differences at lag 2 are all 10 → scale 10.
        let train = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0];
        let m = mase(&train, &[30.0], &[20.0], 2).unwrap();
        assert!((m - 1.0).abs() < 1e-12);
    }

    #[test]
    fn mase_none_for_flat_training() {
        assert_eq!(mase(&[3.0; 10], &[3.0, 4.0], &[3.0, 3.0], 1), None);
    }

    #[test]
    fn smape_handles_zeros_and_range() {
        assert_eq!(smape(&[0.0, 0.0], &[0.0, 0.0]), Some(0.0));
        // Forecasting zero for a non-zero actual is the worst case: 200 %.
        assert_eq!(smape(&[5.0], &[0.0]), Some(200.0));
        let s = smape(&[100.0, 100.0], &[110.0, 90.0]).unwrap();
        let expected = 100.0 * (20.0 / 210.0 + 20.0 / 190.0) / 2.0;
        assert!((s - expected).abs() < 1e-9);
    }

    #[test]
    fn mismatched_lengths_are_none() {
        assert_eq!(smape(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(mase(&[1.0, 2.0, 3.0], &[], &[], 1), None);
    }
}
