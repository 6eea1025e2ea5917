//! A payment provider simulator: a small real HTTP service that plays the gateway. The
//! applicant (or a test) opens `/pay?payment_id=..&amount=..`; the simulator "charges" them
//! and confirms to sohoa's webhook exactly as a provider would, signed with HMAC-SHA256 over
//! the raw body, with its own transaction id, and, like real providers, sometimes delivers
//! the same confirmation more than once (`deliveries=2`).

use std::net::SocketAddr;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

#[derive(Clone)]
struct Sim {
    webhook: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Pay {
    payment_id: String,
    amount: i64,
    /// How many times to deliver the confirmation (default 1, at most 5).
    deliveries: Option<u32>,
}

async fn pay(State(sim): State<Sim>, Query(p): Query<Pay>) -> Json<serde_json::Value> {
    let mut nonce = [0u8; 8];
    let _ = getrandom_fill(&mut nonce);
    let txn = format!("SIM{}", hex::encode(nonce).to_uppercase());
    let body = serde_json::json!({
        "payment_id": p.payment_id,
        "provider_txn": txn,
        "amount": p.amount,
        "status": "paid",
    })
    .to_string();
    let signature = sohoa_web::api::payments::sign(&sim.secret, body.as_bytes());
    let mut statuses = Vec::new();
    for _ in 0..p.deliveries.unwrap_or(1).clamp(1, 5) {
        let status = sim
            .client
            .post(&sim.webhook)
            .header("content-type", "application/json")
            .header(sohoa_web::api::payments::SIGNATURE_HEADER, &signature)
            .body(body.clone())
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        statuses.push(status);
    }
    Json(serde_json::json!({"provider_txn": txn, "webhook_statuses": statuses}))
}

fn getrandom_fill(buf: &mut [u8]) -> Result<(), ring::error::Unspecified> {
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), buf)
}

/// Binds the simulator; the returned future serves until dropped.
pub async fn bind(
    listen: SocketAddr,
    webhook: String,
    secret: Vec<u8>,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>>,
)> {
    let sim = Sim {
        webhook,
        secret,
        client: reqwest::Client::new(),
    };
    let app = Router::new()
        .route("/pay", get(pay).post(pay))
        .route("/healthz", post(|| async { "ok" }).get(|| async { "ok" }))
        .with_state(sim);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    Ok((addr, async move { axum::serve(listener, app).await }))
}
