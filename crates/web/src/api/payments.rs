//! Fees: the applicant pays online through a gateway, which confirms with a webhook signed
//! by HMAC-SHA256 over the raw body, or at the counter, where an officer records the
//! receipt. Either way once: a second delivery of a confirmation, or a receipt recorded
//! twice, changes nothing. An application is received only once its fee is paid.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_storage::payments::Payment;
use utoipa::ToSchema;

use sohoa_app::applications::payments as uc;
use sohoa_app::Acting;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ClientAddr};
use crate::AppState;

/// A payment provider: where the applicant pays, and how its confirmations are proven.
/// VNPay or MoMo plug in here with their own URL and signature schemes.
pub trait PaymentGateway: Send + Sync + std::fmt::Debug {
    /// The provider's name, stored with each payment.
    fn name(&self) -> &str;
    /// Where to send the applicant to pay.
    fn checkout_url(&self, payment_id: &str, amount: i64, number: &str) -> String;
    /// Whether a webhook body is authentic.
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> bool;
}

/// The header carrying `sha256=<hex HMAC of the raw body>`.
pub const SIGNATURE_HEADER: &str = "x-sohoa-signature";

/// A gateway that signs its webhooks with HMAC-SHA256 under a shared secret (the payment
/// simulator, and providers that do the same).
#[derive(Debug)]
pub struct HmacGateway {
    pub name: String,
    pub base_url: String,
    pub secret: Vec<u8>,
}

impl PaymentGateway for HmacGateway {
    fn name(&self) -> &str {
        &self.name
    }

    fn checkout_url(&self, payment_id: &str, amount: i64, number: &str) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("payment_id", payment_id)
            .append_pair("amount", &amount.to_string())
            .append_pair("order", number)
            .finish();
        format!("{}/pay?{query}", self.base_url.trim_end_matches('/'))
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let Some(sig) = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("sha256="))
            .and_then(|hex_sig| hex::decode(hex_sig).ok())
        else {
            return false;
        };
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.secret);
        ring::hmac::verify(&key, body, &sig).is_ok()
    }
}

/// `sha256=<hex>`: the signature header's value for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, body).as_ref())
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub payment_id: String,
    pub amount: i64,
    pub provider: String,
    pub provider_txn: Option<String>,
    /// `pending` or `paid`.
    pub status: String,
    pub created_at: String,
    pub paid_at: Option<String>,
    pub recorded_by: Option<String>,
}

impl From<Payment> for PaymentView {
    fn from(p: Payment) -> Self {
        Self {
            payment_id: p.id,
            amount: p.amount.dong(),
            provider: p.provider,
            provider_txn: p.provider_txn,
            status: p.status,
            created_at: p.created_at.to_string(),
            paid_at: p.paid_at.map(|t| t.to_string()),
            recorded_by: p.recorded_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checkout {
    pub payment_id: String,
    pub amount: i64,
    /// Send the applicant here to pay.
    pub checkout_url: String,
}

/// Starts an online payment of the application's fee: a pending payment and the gateway's
/// page to pay on.
#[utoipa::path(post, path = "/api/v1/applications/{number}/payments", tag = "services", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    responses(
        (status = 201, body = Checkout),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
) -> ApiResult<(StatusCode, Json<Checkout>)> {
    let gateway = state.config.payments.clone();
    let who = Acting::new(&caller.0, addr.as_deref());
    let payment = uc::start(&state, who, &number, gateway.as_ref().map(|g| g.name())).await?;
    let (amount, number) = (payment.amount.dong(), payment.number.to_string());
    let gateway =
        gateway.ok_or_else(|| AppError::internal("a payment started without a gateway"))?;
    Ok((
        StatusCode::CREATED,
        Json(Checkout {
            checkout_url: gateway.checkout_url(&payment.id, amount, &number),
            payment_id: payment.id,
            amount,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"payment_id": "pay_0f3a9c1d2e3f4a5b6c7d8e9f", "provider_txn": "T-20260105-0001",
    "amount": 20000, "status": "paid"}))]
pub struct WebhookBody {
    pub payment_id: String,
    /// The provider's own transaction id: a confirmation is applied once per id.
    pub provider_txn: String,
    pub amount: i64,
    /// Only `paid` confirms.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResult {
    /// `confirmed`; `already_confirmed` for a repeated delivery; `refund_due` when nothing
    /// was owed any more (paid otherwise, or withdrawn), so the money goes back.
    pub result: String,
}

/// The gateway's confirmation of a payment, signed with HMAC-SHA256 over the raw body in
/// `X-Sohoa-Signature: sha256=<hex>`. Repeated deliveries are answered 200 and change
/// nothing.
#[utoipa::path(post, path = "/api/v1/payments/webhook", tag = "services",
    request_body = WebhookBody,
    responses(
        (status = 200, body = WebhookResult),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookResult>> {
    // Without a gateway no payment is pending with one.
    let gateway = state
        .config
        .payments
        .clone()
        .ok_or_else(|| AppError::not_found("payment_not_found"))?;
    if !gateway.verify(&headers, &body) {
        tracing::warn!(target: "security", "payment webhook with a bad signature");
        return Err(AppError::new(StatusCode::UNAUTHORIZED, "invalid_signature"));
    }
    let msg: WebhookBody = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request("invalid_json").detail(e.to_string()))?;
    if msg.status != "paid" {
        return Err(AppError::unprocessable("invalid_body")
            .detail("status must be paid, with a provider_txn"));
    }
    let outcome = uc::confirm(
        &state,
        gateway.name(),
        &msg.payment_id,
        &msg.provider_txn,
        msg.amount,
    )
    .await?;
    match outcome {
        uc::Settled::Confirmed => Ok(Json(WebhookResult {
            result: "confirmed".into(),
        })),
        uc::Settled::AlreadyConfirmed => Ok(Json(WebhookResult {
            result: "already_confirmed".into(),
        })),
        // Answered 200: the gateway delivered correctly and must not retry.
        uc::Settled::RefundDue => Ok(Json(WebhookResult {
            result: "refund_due".into(),
        })),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterPayment {
    /// The receipt's number (1 to 64 characters) in the deciding agency's receipt book:
    /// recording it twice records one payment.
    #[schema(min_length = 1, max_length = 64, example = "BL-0001")]
    pub receipt: String,
}

/// An officer records a fee paid at the counter (the amount owed).
#[utoipa::path(post, path = "/api/v1/applications/{number}/counter-payments", tag = "services", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    request_body = CounterPayment,
    responses(
        (status = 201, body = PaymentView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn counter(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<CounterPayment>,
) -> ApiResult<(StatusCode, Json<PaymentView>)> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let payment = uc::counter(&state, who, &number, &body.receipt).await?;
    Ok((StatusCode::CREATED, Json(payment.into())))
}
