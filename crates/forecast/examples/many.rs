//! Throughput check: 1,000 synthetic monthly series, 12-step forecasts on two
//! threads. Run with `cargo run --release --example many`.

use std::time::Instant;

use sohoa_forecast::synthetic::series;
use sohoa_forecast::{forecast_many, ForecastError, Model};

fn main() {
    let data: Vec<Vec<f64>> = (0..1_000).map(|i| series(i, 120)).collect();

    let start = Instant::now();
    let results = forecast_many(&data, 12, 12, 2);
    let elapsed = start.elapsed().as_secs_f64();

    let mut counts = [0usize; 3];
    let mut errors: Vec<ForecastError> = Vec::new();
    let mut beat_baseline = 0usize;
    let mut with_backtest = 0usize;
    for r in &results {
        match r {
            Ok(f) => {
                let idx = match f.model {
                    Model::SeasonalNaive => 0,
                    Model::Ets => 1,
                    Model::MstlEts => 2,
                };
                counts[idx] += 1;
                if let Some(bt) = &f.backtest {
                    with_backtest += 1;
                    let (c, b) = (bt.chosen.mase, bt.baseline.mase);
                    if c.zip(b).is_some_and(|(c, b)| c < b) {
                        beat_baseline += 1;
                    }
                }
            }
            Err(e) => errors.push(e.clone()),
        }
    }

    println!("series: {}, elapsed: {elapsed:.2} s", data.len());
    for (model, n) in [Model::SeasonalNaive, Model::Ets, Model::MstlEts]
        .iter()
        .zip(counts)
    {
        println!("  {:<15} {n}", model.name());
    }
    println!("  backtested: {with_backtest}, chosen beat seasonal naive: {beat_baseline}");
    println!("  errors: {}", errors.len());
}
