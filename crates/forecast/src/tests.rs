#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// Deterministic pseudo-noise in [-0.5, 0.5): a tiny LCG so the tests need no
/// extra dependencies and never flake.
fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}

/// Trend + 12-month season + noise, the typical shape of a monthly indicator.
fn monthly(n: usize, seed: u64) -> Vec<f64> {
    monthly_with_amplitude(n, seed, 10.0)
}

fn monthly_with_amplitude(n: usize, seed: u64, amp: f64) -> Vec<f64> {
    noise(n, seed)
        .into_iter()
        .enumerate()
        .map(|(t, e)| {
            let t = t as f64;
            100.0 + 0.5 * t + amp * (std::f64::consts::TAU * t / 12.0).sin() + 4.0 * e
        })
        .collect()
}

fn candidate_models(f: &Forecast) -> Vec<Model> {
    let bt = f.backtest.as_ref().expect("backtest expected");
    bt.candidates.iter().map(|s| s.model).collect()
}

fn assert_well_formed(f: &Forecast, h: usize) {
    for v in [
        &f.point,
        &f.p80.lower,
        &f.p80.upper,
        &f.p95.lower,
        &f.p95.upper,
    ] {
        assert_eq!(v.len(), h);
        assert!(v.iter().all(|x| x.is_finite()), "non-finite output: {f:?}");
    }
    for i in 0..h {
        let (l95, l80, p, u80, u95) = (
            f.p95.lower[i],
            f.p80.lower[i],
            f.point[i],
            f.p80.upper[i],
            f.p95.upper[i],
        );
        assert!(
            l95 <= l80 && l80 <= p && p <= u80 && u80 <= u95,
            "bands not nested at step {i}: {l95} {l80} {p} {u80} {u95}"
        );
    }
}

#[test]
fn seasonal_series_beats_seasonal_naive() {
    let y = monthly(120, 7);
    let f = forecast(&y, 12, 12).unwrap();
    assert_well_formed(&f, 12);
    assert!(matches!(f.model, Model::Ets | Model::MstlEts), "{f:?}");

    let bt = f.backtest.as_ref().expect("120 points allow a backtest");
    assert_eq!(bt.holdout, 12);
    assert_eq!(bt.baseline.model, Model::SeasonalNaive);
    assert_eq!(bt.chosen.model, f.model);
    let chosen = bt.chosen.mase.unwrap();
    let baseline = bt.baseline.mase.unwrap();
    assert!(chosen <= baseline, "chosen {chosen} > baseline {baseline}");
    // The season dominates the noise, so non-seasonal ETS is screened out.
    assert_eq!(
        candidate_models(&f),
        vec![Model::SeasonalNaive, Model::MstlEts]
    );
    for s in &bt.candidates {
        let smape = s.smape.unwrap();
        assert!((0.0..=200.0).contains(&smape));
    }
    // The chosen model has the lowest MASE of all candidates.
    let min = bt
        .candidates
        .iter()
        .filter_map(|s| s.mase)
        .fold(f64::INFINITY, f64::min);
    assert!(chosen <= min + 1e-9);
}

#[test]
fn seasonal_point_forecast_tracks_the_pattern() {
    let y = monthly(120, 11);
    let f = forecast(&y, 12, 12).unwrap();
    // True continuation without noise; the noise amplitude is ±2.
    for (j, p) in f.point.iter().enumerate() {
        let t = (120 + j) as f64;
        let truth = 100.0 + 0.5 * t + 10.0 * (std::f64::consts::TAU * t / 12.0).sin();
        assert!((p - truth).abs() < 6.0, "step {j}: {p} vs {truth}");
    }
}

#[test]
fn p95_band_is_nested_and_widens_with_horizon() {
    for seed in [1, 2, 3] {
        let y = monthly(120, seed);
        let f = forecast(&y, 12, 24).unwrap();
        assert_well_formed(&f, 24);
        let width: Vec<f64> = f
            .p95
            .upper
            .iter()
            .zip(&f.p95.lower)
            .map(|(u, l)| u - l)
            .collect();
        assert!(width[0] > 0.0);
        for w in width.windows(2) {
            assert!(w[1] >= w[0] - 1e-6 * w[0].abs(), "width shrank: {width:?}");
        }
        assert!(width[23] > width[0], "{width:?}");
    }
}

#[test]
fn exactly_repeating_season_picks_seasonal_naive() {
    // Seasonal naive is exact here, so nothing can beat it and the tie rule
    // must keep it. (Interval growth per season is unit-tested in `models`.)
    let pattern = [10.0, 20.0, 15.0, 5.0];
    let y: Vec<f64> = (0..40).map(|t| pattern[t % 4]).collect();
    let f = forecast(&y, 4, 8).unwrap();
    assert_eq!(f.model, Model::SeasonalNaive);
    assert_well_formed(&f, 8);
    let expected: Vec<f64> = (0..8).map(|t| pattern[t % 4]).collect();
    assert_eq!(f.point, expected);
    // No seasonal error in sample → collapsed intervals.
    assert_eq!(f.p95.lower, f.point);
    assert_eq!(f.p95.upper, f.point);
}

#[test]
fn constant_series_collapses_intervals() {
    for (n, season) in [
        (3, 1),
        (5, 12),
        (8, 1),
        (8, 4),
        (20, 4),
        (60, 12),
        (120, 12),
    ] {
        let y = vec![42.5; n];
        let f = forecast(&y, season, 12).unwrap_or_else(|e| panic!("n={n} season={season}: {e}"));
        assert_well_formed(&f, 12);
        for v in [
            &f.point,
            &f.p80.lower,
            &f.p80.upper,
            &f.p95.lower,
            &f.p95.upper,
        ] {
            for x in v.iter() {
                assert!((x - 42.5).abs() < 1e-6, "n={n} season={season}: {f:?}");
            }
        }
        if let Some(bt) = &f.backtest {
            // A flat training part has no MASE scale.
            assert_eq!(bt.baseline.mase, None);
            assert_eq!(bt.baseline.smape, Some(0.0));
            // Ties go to the simpler model.
            assert_eq!(f.model, Model::SeasonalNaive);
        }
    }
}

#[test]
fn constant_zero_series() {
    let f = forecast(&[0.0; 30], 12, 6).unwrap();
    assert_well_formed(&f, 6);
    assert!(f.point.iter().all(|&p| p == 0.0));
}

#[test]
fn too_short_series() {
    for n in 0..3 {
        let y = vec![1.0; n];
        assert_eq!(
            forecast(&y, 12, 12),
            Err(ForecastError::TooShort { need: 3, have: n })
        );
    }
}

#[test]
fn five_points_fall_back_to_naive() {
    let y = [3.0, 4.0, 6.0, 5.0, 7.0];
    for season in [1, 4, 12] {
        let f = forecast(&y, season, 6).unwrap();
        assert_eq!(f.model, Model::SeasonalNaive);
        assert!(f.backtest.is_none(), "nothing to compare with: {f:?}");
        assert_well_formed(&f, 6);
        if season != 4 {
            // No full season plus one point → plain naive: repeat the last value.
            assert_eq!(f.point, vec![7.0; 6]);
        }
        // Naive errors are 1, 2, -1, 2 → sigma = sqrt(10/4); step 1 half-width.
        let sigma: f64 = if season == 4 { 4.0 } else { 2.5f64.sqrt() };
        let half = f.p95.upper[0] - f.point[0];
        assert!(
            (half - 1.96 * sigma).abs() < 1e-9,
            "season {season}: {half}"
        );
    }
}

#[test]
fn seven_points_default_to_ets_without_backtest() {
    let y = [10.0, 11.0, 12.5, 13.0, 14.2, 15.1, 16.0];
    let f = forecast(&y, 1, 3).unwrap();
    // Holdout of 1 would leave 6 points: too few for ETS, so no comparison.
    assert!(f.backtest.is_none());
    assert_eq!(f.model, Model::Ets);
    assert_well_formed(&f, 3);
}

#[test]
fn non_finite_values_are_rejected() {
    let mut y = monthly(50, 3);
    y[3] = f64::NAN;
    assert_eq!(forecast(&y, 12, 6), Err(ForecastError::NonFinite { at: 3 }));
    y[3] = 1.0;
    y[40] = f64::INFINITY;
    assert_eq!(
        forecast(&y, 12, 6),
        Err(ForecastError::NonFinite { at: 40 })
    );
    y[0] = f64::NEG_INFINITY;
    assert_eq!(forecast(&y, 12, 6), Err(ForecastError::NonFinite { at: 0 }));
}

#[test]
fn horizon_is_validated_first() {
    let y = monthly(50, 3);
    assert_eq!(forecast(&y, 12, 0), Err(ForecastError::BadHorizon));
    assert_eq!(forecast(&y, 12, 121), Err(ForecastError::BadHorizon));
    assert_eq!(forecast(&[], 12, 0), Err(ForecastError::BadHorizon));
    let f = forecast(&y, 12, 120).unwrap();
    assert_well_formed(&f, 120);
}

#[test]
fn yearly_series_never_uses_mstl() {
    let y: Vec<f64> = noise(30, 5)
        .iter()
        .enumerate()
        .map(|(t, e)| 1000.0 * 1.03f64.powi(t as i32) + 20.0 * e)
        .collect();
    let f = forecast(&y, 1, 5).unwrap();
    assert_well_formed(&f, 5);
    let bt = f.backtest.unwrap();
    assert_eq!(bt.holdout, 4);
    assert!(bt.candidates.iter().all(|s| s.model != Model::MstlEts));
    // A steady 3 % growth path is better served by ETS than by "no change".
    assert_eq!(f.model, Model::Ets);
    assert!(f.point[4] > y[29]);
}

#[test]
fn season_zero_is_treated_as_yearly() {
    let y = monthly(40, 9);
    assert_eq!(forecast(&y, 0, 4), forecast(&y, 1, 4));
}

#[test]
fn quarterly_series_with_negative_values() {
    // Crosses zero, so multiplicative ETS variants are unavailable.
    let pattern = [-3.0, 1.0, 4.0, -1.0];
    let y: Vec<f64> = noise(48, 21)
        .iter()
        .enumerate()
        .map(|(t, e)| pattern[t % 4] + 0.05 * t as f64 + e)
        .collect();
    let f = forecast(&y, 4, 8).unwrap();
    assert_well_formed(&f, 8);
    let bt = f.backtest.unwrap();
    assert_eq!(bt.holdout, 4);
    assert!(bt.chosen.mase.unwrap() <= bt.baseline.mase.unwrap());
}

#[test]
fn mstl_boundary_lengths_do_not_break() {
    for n in [23, 24, 25, 30, 36, 37] {
        let y = monthly(n, n as u64);
        let f = forecast(&y, 12, 12).unwrap_or_else(|e| panic!("n={n}: {e}"));
        assert_well_formed(&f, 12);
    }
}

#[test]
fn extreme_magnitudes_stay_finite_or_fail_cleanly() {
    for scale in [1e-300, 1e-9, 1e9, 1e200, 1e305] {
        let y: Vec<f64> = monthly(60, 4).iter().map(|v| v * scale).collect();
        match forecast(&y, 12, 12) {
            Ok(f) => assert_well_formed(&f, 12),
            Err(e) => assert_eq!(e, ForecastError::NoModel, "scale {scale}"),
        }
    }
}

#[test]
fn ranking_prefers_lower_mase_then_smape_then_simpler() {
    let s = |model, mase, smape| Score { model, mase, smape };
    let scores = [
        s(Model::SeasonalNaive, Some(1.0), Some(5.0)),
        s(Model::Ets, Some(0.5), Some(9.0)),
        s(Model::MstlEts, Some(0.7), Some(1.0)),
    ];
    assert_eq!(
        rank(&scores),
        vec![Model::Ets, Model::MstlEts, Model::SeasonalNaive]
    );

    // Undefined MASE everywhere → sMAPE decides.
    let scores = [
        s(Model::SeasonalNaive, None, Some(5.0)),
        s(Model::Ets, None, Some(2.0)),
        s(Model::MstlEts, None, Some(3.0)),
    ];
    assert_eq!(
        rank(&scores),
        vec![Model::Ets, Model::MstlEts, Model::SeasonalNaive]
    );

    // Full ties (up to rounding noise) keep the simpler model first.
    let scores = [
        s(Model::SeasonalNaive, Some(0.8), Some(4.0)),
        s(Model::Ets, Some(0.8 + 1e-13), Some(4.0)),
        s(Model::MstlEts, Some(0.8), Some(4.0 - 1e-13)),
    ];
    assert_eq!(
        rank(&scores),
        vec![Model::SeasonalNaive, Model::Ets, Model::MstlEts]
    );

    // MASE tie → sMAPE breaks it.
    let scores = [
        s(Model::SeasonalNaive, Some(0.8), Some(4.0)),
        s(Model::Ets, Some(0.8), Some(3.0)),
    ];
    assert_eq!(rank(&scores), vec![Model::Ets, Model::SeasonalNaive]);
}

#[test]
fn holdout_rules() {
    assert_eq!(holdout_len(120, 12, 12), 12);
    assert_eq!(holdout_len(120, 12, 6), 6);
    assert_eq!(holdout_len(120, 12, 36), 12);
    assert_eq!(holdout_len(40, 12, 12), 10);
    assert_eq!(holdout_len(30, 1, 10), 4);
    assert_eq!(holdout_len(3, 1, 10), 0);
}

#[test]
fn model_names() {
    assert_eq!(Model::SeasonalNaive.name(), "seasonal_naive");
    assert_eq!(Model::Ets.name(), "ets");
    assert_eq!(Model::MstlEts.name(), "mstl_ets");
}

#[test]
fn forecast_many_preserves_order_and_matches_forecast() {
    let mut series: Vec<Vec<f64>> = (0..9).map(|i| monthly(36 + 10 * i, i as u64)).collect();
    series.insert(2, vec![1.0, 2.0]);
    series.insert(5, vec![1.0, f64::NAN, 3.0, 4.0]);
    series.push(vec![5.0; 30]);
    let expected: Vec<_> = series.iter().map(|y| forecast(y, 12, 6)).collect();
    assert!(matches!(expected[2], Err(ForecastError::TooShort { .. })));
    assert!(matches!(
        expected[5],
        Err(ForecastError::NonFinite { at: 1 })
    ));
    for threads in [0, 1, 2, 3, 64] {
        let got = forecast_many(&series, 12, 6, threads);
        assert_eq!(got, expected, "threads = {threads}");
    }
}

#[test]
fn forecast_many_empty_and_bad_horizon() {
    assert!(forecast_many(&[], 12, 6, 2).is_empty());
    let series = vec![monthly(40, 1), monthly(40, 2)];
    let got = forecast_many(&series, 12, 0, 2);
    assert_eq!(got, vec![Err(ForecastError::BadHorizon); 2]);
}

#[test]
fn seasonality_screen_picks_the_competing_candidates() {
    // No season: MSTL would only fit noise.
    let flat = forecast(&monthly_with_amplitude(120, 5, 0.0), 12, 12).unwrap();
    assert_eq!(
        candidate_models(&flat),
        vec![Model::SeasonalNaive, Model::Ets]
    );
    // Moderate season: everything competes.
    let mid = forecast(&monthly_with_amplitude(120, 5, 2.5), 12, 12).unwrap();
    assert_eq!(candidate_models(&mid), CANDIDATES.to_vec());
    // Dominant season: non-seasonal ETS is pointless.
    let strong = forecast(&monthly_with_amplitude(120, 5, 10.0), 12, 12).unwrap();
    assert_eq!(
        candidate_models(&strong),
        vec![Model::SeasonalNaive, Model::MstlEts]
    );
}

#[test]
fn seasonality_screen_uses_only_the_training_part() {
    for (i, amp) in [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0]
        .into_iter()
        .enumerate()
    {
        let y = monthly_with_amplitude(96, i as u64, amp);
        let f = forecast(&y, 12, 12).unwrap();
        let bt = f.backtest.as_ref().unwrap();
        let train = &y[..y.len() - bt.holdout];
        let s = models::seasonal_strength(train, 12).unwrap();
        let models = candidate_models(&f);
        // A candidate can also be absent because its fit failed, so only
        // check that screened-out models are really absent.
        if s < models::WEAK_SEASONALITY {
            assert!(!models.contains(&Model::MstlEts), "amp {amp}, s {s}");
        }
        if s >= models::STRONG_SEASONALITY {
            assert!(!models.contains(&Model::Ets), "amp {amp}, s {s}");
        }
        if (models::WEAK_SEASONALITY..models::STRONG_SEASONALITY).contains(&s) {
            assert_eq!(models, CANDIDATES.to_vec(), "amp {amp}, s {s}");
        }
    }
}

#[test]
fn quarterly_and_short_series_skip_the_screen_gracefully() {
    // 30 monthly points: MSTL infeasible on the training part, no STL needed.
    let f = forecast(&monthly(30, 2), 12, 12).unwrap();
    assert!(!candidate_models(&f).contains(&Model::MstlEts));
    assert_well_formed(&f, 12);
}
