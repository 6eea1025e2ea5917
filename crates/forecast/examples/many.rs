//! Throughput check: 1,000 synthetic monthly series, 12-step forecasts on two
//! threads. Run with `cargo run --release --example many`.

use std::time::Instant;

use sohoa_forecast::{forecast_many, ForecastError, Model};

/// xorshift64*: deterministic across platforms and runs, no extra dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly standard normal (sum of uniforms), good enough for test data.
    fn noise(&mut self) -> f64 {
        (0..12).map(|_| self.next_f64()).sum::<f64>() - 6.0
    }
}

/// A mix of shapes seen in indicator data: trending with strong seasonality,
/// flat with weak seasonality, and random walks.
fn series(i: u64) -> Vec<f64> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    let level = 50.0 + 200.0 * rng.next_f64();
    let slope = (rng.next_f64() - 0.3) * 1.5;
    let amp = match i % 3 {
        0 => 0.0,
        1 => 2.0 + 5.0 * rng.next_f64(),
        _ => 10.0 + 20.0 * rng.next_f64(),
    };
    let sd = 0.5 + 4.0 * rng.next_f64();
    let walk = i % 5 == 4;
    let phase = rng.next_f64() * std::f64::consts::TAU;
    let mut rw = 0.0;
    (0..120)
        .map(|t| {
            let e = sd * rng.noise();
            let season = amp * (std::f64::consts::TAU * t as f64 / 12.0 + phase).sin();
            if walk {
                rw += e;
                level + season + rw
            } else {
                level + slope * t as f64 + season + e
            }
        })
        .collect()
}

fn main() {
    let data: Vec<Vec<f64>> = (0..1_000).map(series).collect();

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
