//! Synthetic series with the shapes of indicator data (trend with strong season, flat with
//! weak season, random walks), deterministic for an index: for benchmarks and examples.

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
pub fn series(i: u64, len: usize) -> Vec<f64> {
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
    (0..len)
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
