//! `sohoa bench load`: an HTTP load generator for the benchmarks under `bench/`. The Python
//! scripts there set a server up; this drives it, because a Python client on the same
//! 2-core machine spends more CPU per request than the server it measures.
//!
//! Each of `clients` connections sends requests back to back until the time is up, cycling
//! through the given paths and bearer tokens; a POST carries the body and, if asked, a fresh
//! `Idempotency-Key`. Any answer other than the expected status stops the run: a benchmark
//! that counts failures as throughput measures nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub base_url: String,
    pub method: reqwest::Method,
    /// Paths (with query) to cycle through.
    pub paths: Vec<String>,
    /// Bearer tokens to cycle through; empty for none.
    pub tokens: Vec<String>,
    pub body: Option<Vec<u8>>,
    /// Send `Idempotency-Key: {prefix}-{client}-{n}`.
    pub idempotency_prefix: Option<String>,
    pub expect: u16,
    pub clients: usize,
    pub duration: Duration,
}

#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub requests: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("nothing to request: give at least one path")]
    NoPaths,
    #[error("{method} {path}: {error}")]
    Transport {
        method: reqwest::Method,
        path: String,
        error: reqwest::Error,
    },
    #[error("{method} {path}: expected {expected}, got {status}: {body}")]
    Unexpected {
        method: reqwest::Method,
        path: String,
        expected: u16,
        status: u16,
        body: String,
    },
    #[error("a client task failed: {0}")]
    Task(String),
}

/// Runs the load and reports throughput and latency percentiles.
pub async fn run(spec: LoadSpec) -> Result<LoadReport, LoadError> {
    if spec.paths.is_empty() {
        return Err(LoadError::NoPaths);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(spec.clients)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|error| LoadError::Transport {
            method: spec.method.clone(),
            path: String::new(),
            error,
        })?;
    let spec = Arc::new(spec);
    let start = Instant::now();
    let deadline = start + spec.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..spec.clients {
        let (spec, client) = (spec.clone(), client.clone());
        tasks.spawn(async move { one_client(&spec, &client, c, deadline).await });
    }
    let mut latencies: Vec<f64> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(mut l)) => latencies.append(&mut l),
            Ok(Err(e)) => {
                tasks.abort_all();
                return Err(e);
            }
            Err(e) => return Err(LoadError::Task(e.to_string())),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i.min(latencies.len() - 1)] * 1e3
    };
    Ok(LoadReport {
        requests: latencies.len() as u64,
        seconds,
        per_second: latencies.len() as f64 / seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
    })
}

async fn one_client(
    spec: &LoadSpec,
    client: &reqwest::Client,
    c: usize,
    deadline: Instant,
) -> Result<Vec<f64>, LoadError> {
    let mut latencies = Vec::new();
    let mut n = 0usize;
    while Instant::now() < deadline {
        // Spread the clients over paths and tokens so they do not move in step.
        let path = &spec.paths[(c + n * spec.clients) % spec.paths.len()];
        let mut req = client.request(spec.method.clone(), format!("{}{path}", spec.base_url));
        if !spec.tokens.is_empty() {
            req = req.bearer_auth(&spec.tokens[(c + n * spec.clients) % spec.tokens.len()]);
        }
        if let Some(body) = &spec.body {
            req = req
                .header("content-type", "application/json")
                .body(body.clone());
        }
        if let Some(prefix) = &spec.idempotency_prefix {
            req = req.header("idempotency-key", format!("{prefix}-{c}-{n}"));
        }
        let t = Instant::now();
        let transport = |error| LoadError::Transport {
            method: spec.method.clone(),
            path: path.clone(),
            error,
        };
        let res = req.send().await.map_err(transport)?;
        let status = res.status().as_u16();
        let body = res.bytes().await.map_err(transport)?;
        latencies.push(t.elapsed().as_secs_f64());
        if status != spec.expect {
            return Err(LoadError::Unexpected {
                method: spec.method.clone(),
                path: path.clone(),
                expected: spec.expect,
                status,
                body: String::from_utf8_lossy(&body).chars().take(500).collect(),
            });
        }
        n += 1;
    }
    Ok(latencies)
}
