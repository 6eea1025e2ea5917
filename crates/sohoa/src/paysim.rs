//! A payment provider simulator: a small real HTTP service that plays the gateway. The
//! applicant (or a test) opens `/pay?payment_id=..&amount=..`; the simulator "charges" them
//! and confirms to sohoa's webhook exactly as a provider would, signed with HMAC-SHA256 over
//! the raw body, with its own transaction id, and, like real providers, sometimes delivers
//! the same confirmation more than once (`deliveries=2`).
//!
//! It also plays VNPay (2.1.0): `/paymentv2/vpcpay.html` checks the merchant's signed
//! payment URL as VNPay does, calls the merchant's IPN by GET with the outcome signed by
//! HMAC-SHA512 (`sim_deliveries=N` times; `sim_result=24` for a cancelled payment;
//! `sim_amount=` to report another amount; `sim_tamper=1` to sign with a wrong secret),
//! and sends the browser back to `vnp_ReturnUrl` with the same parameters.

use std::net::SocketAddr;

use std::collections::BTreeMap;

use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sohoa_domain::payments::vnpay::{self, Merchant};

#[derive(Clone)]
struct Sim {
    webhook: String,
    secret: Vec<u8>,
    client: reqwest::Client,
    vnpay: Option<SimVnpay>,
}

/// The merchant VNPay knows: its code and secret, and its IPN address.
#[derive(Debug, Clone)]
pub struct SimVnpay {
    pub merchant: Merchant,
    pub ipn_url: String,
}

async fn vnpay_pay(
    State(sim): State<Sim>,
    RawQuery(raw): RawQuery,
) -> Result<axum::response::Response, (StatusCode, String)> {
    let refuse = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned());
    let v = sim
        .vnpay
        .clone()
        .ok_or_else(|| refuse("VNPay is not simulated here"))?;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let knob = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // VNPay shows "invalid signature" for a URL it did not get from the merchant.
    let asked = v
        .merchant
        .verify(&pairs)
        .map_err(|_| refuse("Sai chữ ký / invalid signature"))?;
    if asked.get("vnp_TmnCode") != Some(&v.merchant.tmn_code) {
        return Err(refuse("unknown merchant"));
    }
    let out = outcome_of(&asked, knob("sim_result"), knob("sim_amount"));
    let signer = if knob("sim_tamper").is_some() {
        Merchant {
            tmn_code: v.merchant.tmn_code.clone(),
            secret: b"not-the-merchant-secret".to_vec(),
        }
    } else {
        v.merchant.clone()
    };
    let data = vnpay::hash_data(&out);
    let query = format!("{data}&vnp_SecureHash={}", signer.sign(&data));
    let deliveries: u32 = knob("sim_deliveries")
        .and_then(|d| d.parse().ok())
        .unwrap_or(1);
    let answers = deliver(&sim.client, &format!("{}?{query}", v.ipn_url), deliveries).await;
    let back = asked.get("vnp_ReturnUrl").cloned().unwrap_or_default();
    let location = format!("{back}?{query}");
    axum::response::Response::builder()
        .status(StatusCode::FOUND)
        .header("location", location)
        .header("x-sim-ipn", answers.join(","))
        .body(axum::body::Body::empty())
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
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

/// What VNPay reports of a payment it was asked to take: `result` `00` paid (else the
/// response code of a failure), `amount` to report another amount than asked.
fn outcome_of(
    asked: &BTreeMap<String, String>,
    result: Option<String>,
    amount: Option<String>,
) -> BTreeMap<String, String> {
    let mut nonce = [0u8; 4];
    let _ = getrandom_fill(&mut nonce);
    let result = result.unwrap_or_else(|| "00".into());
    let mut out = BTreeMap::new();
    for k in ["vnp_Amount", "vnp_OrderInfo", "vnp_TmnCode", "vnp_TxnRef"] {
        out.insert(k.to_owned(), asked.get(k).cloned().unwrap_or_default());
    }
    if let Some(a) = amount {
        out.insert("vnp_Amount".into(), a);
    }
    out.insert("vnp_BankCode".into(), "NCB".into());
    out.insert("vnp_CardType".into(), "ATM".into());
    let date = asked.get("vnp_CreateDate").cloned().unwrap_or_default();
    out.insert("vnp_PayDate".into(), date);
    let status = if result == "00" { "00" } else { "02" };
    out.insert("vnp_ResponseCode".into(), result);
    out.insert("vnp_TransactionStatus".into(), status.into());
    let no = u32::from_le_bytes(nonce).to_string();
    out.insert("vnp_TransactionNo".into(), no);
    out
}

/// Calls the IPN `times` times, as VNPay retries; answers each `RspCode` (`--` when the
/// merchant could not be reached).
async fn deliver(client: &reqwest::Client, url: &str, times: u32) -> Vec<String> {
    let mut answers = Vec::new();
    for _ in 0..times.clamp(1, 5) {
        let code = match client.get(url).send().await {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|b| b["RspCode"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "??".into()),
            Err(_) => "--".into(),
        };
        answers.push(code);
    }
    answers
}

fn getrandom_fill(buf: &mut [u8]) -> Result<(), ring::error::Unspecified> {
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), buf)
}

/// The simulator's bound address and the future that serves it.
pub type Bound = (
    SocketAddr,
    std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>,
);

/// Binds the simulator; the returned future serves until dropped.
pub async fn bind(listen: SocketAddr, webhook: String, secret: Vec<u8>) -> std::io::Result<Bound> {
    bind_with(listen, webhook, secret, None).await
}

/// [`bind`], playing VNPay too.
pub async fn bind_with(
    listen: SocketAddr,
    webhook: String,
    secret: Vec<u8>,
    vnpay: Option<SimVnpay>,
) -> std::io::Result<Bound> {
    let sim = Sim {
        webhook,
        secret,
        client: reqwest::Client::new(),
        vnpay,
    };
    let app = Router::new()
        .route("/pay", get(pay).post(pay))
        .route("/paymentv2/vpcpay.html", get(vnpay_pay))
        .route("/healthz", post(|| async { "ok" }).get(|| async { "ok" }))
        .with_state(sim);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    Ok((
        addr,
        Box::pin(async move { axum::serve(listener, app).await }),
    ))
}
