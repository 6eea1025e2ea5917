//! The payment rails residents of Vietnam use, beside the generic gateway: VNPay (the
//! applicant is sent to VNPay's page with a signed URL; VNPay's IPN confirms, checked by the
//! same signature, idempotent on `vnp_TxnRef`) and VietQR (a code any banking app scans to
//! transfer the fee to the city's account, the application's number as the note; the bank
//! statement settles it, `sohoa payments reconcile`).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::payments::vietqr::{Payload, VietQrError};
use sohoa_domain::payments::vnpay::{Merchant, Order, Outcome, Refusal, RspCode};
use utoipa::ToSchema;

use sohoa_app::applications::payments as uc;
use sohoa_app::Acting;

use super::payments::Checkout;
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ClientAddr};
use crate::AppState;

/// The name VNPay payments are stored under.
pub const VNPAY: &str = "vnpay";

/// The city's merchant account with VNPay.
#[derive(Debug, Clone)]
pub struct Vnpay {
    pub merchant: Merchant,
    /// The gateway's payment page (`.../paymentv2/vpcpay.html`).
    pub pay_url: String,
    /// Where VNPay sends the applicant back: this server's `/payments/vnpay/return`.
    pub return_url: String,
}

/// The city's account that VietQR transfers go to.
#[derive(Debug, Clone)]
pub struct VietQrAccount {
    /// The bank's six-digit BIN.
    pub bin: String,
    pub account: String,
    /// The account holder's name, shown beside the code.
    pub name: String,
}

/// The query pairs as received, decoded.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// Starts paying the fee through VNPay: a pending payment (its id is `vnp_TxnRef`) and the
/// signed URL of VNPay's page.
#[utoipa::path(post, path = "/api/v1/applications/{number}/payments/vnpay", tag = "services", security(("bearer" = [])),
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
    let vnpay = state.config.vnpay.clone();
    let who = Acting::new(&caller.0, addr.as_deref());
    let payment = uc::start(&state, who, &number, vnpay.as_ref().map(|_| VNPAY)).await?;
    let vnpay = vnpay.ok_or_else(|| AppError::internal("a payment started without VNPay"))?;
    let info = format!("Le phi ho so {}", payment.number);
    let url = vnpay.merchant.payment_url(
        &vnpay.pay_url,
        &Order {
            txn_ref: &payment.id,
            amount: payment.amount,
            info: &info,
            locale_vi: true,
            return_url: &vnpay.return_url,
            client_ip: addr.as_deref().unwrap_or("127.0.0.1"),
            created: payment.created_at.datetime(),
        },
    );
    Ok((
        StatusCode::CREATED,
        Json(Checkout {
            checkout_url: url,
            amount: payment.amount.dong(),
            payment_id: payment.id,
        }),
    ))
}

/// VNPay's answer format for an IPN.
#[derive(Debug, Serialize, ToSchema)]
pub struct IpnAnswer {
    #[serde(rename = "RspCode")]
    #[schema(example = "00")]
    pub rsp_code: String,
    #[serde(rename = "Message")]
    pub message: String,
}

fn answer(code: RspCode) -> Json<IpnAnswer> {
    Json(IpnAnswer {
        rsp_code: code.code().to_owned(),
        message: code.message().to_owned(),
    })
}

/// VNPay's Instant Payment Notification: the outcome of a payment, signed with HMAC-SHA512.
/// Always answered 200 with VNPay's codes (`00` confirmed, `01` unknown payment, `02`
/// already confirmed, `04` wrong amount, `97` bad signature, `99` other), so VNPay stops
/// retrying; a refused notification is kept in the audit log and confirms nothing.
#[utoipa::path(get, path = "/api/v1/payments/vnpay/ipn", tag = "services",
    params(("vnp_SecureHash" = String, Query, description = "HMAC-SHA512 of the other vnp_ parameters", example = "3e0d1a...")),
    responses((status = 200, body = IpnAnswer)))]
pub async fn ipn(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<IpnAnswer>> {
    let Some(vnpay) = state.config.vnpay.clone() else {
        return Ok(answer(RspCode::OrderNotFound));
    };
    let pairs = query_pairs(raw.as_deref());
    let reference = pairs
        .iter()
        .find(|(k, _)| k == "vnp_TxnRef")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let checked = vnpay
        .merchant
        .verify(&pairs)
        .and_then(|p| Outcome::read(&p));
    let outcome = match checked {
        Ok(o) => o,
        Err(Refusal::BadSignature) => {
            tracing::warn!(target: "security", "VNPay IPN with a bad signature");
            uc::refused(&state, VNPAY, &reference, "invalid signature").await?;
            return Ok(answer(RspCode::InvalidSignature));
        }
        Err(Refusal::Malformed) => {
            uc::refused(&state, VNPAY, &reference, "malformed notification").await?;
            return Ok(answer(RspCode::Other));
        }
    };
    if !outcome.paid {
        // The applicant did not pay (cancelled, declined): the payment stays pending and
        // they may try again; VNPay is told it was heard.
        let why = format!("payment not made (response {})", outcome.response_code);
        uc::refused(&state, VNPAY, &outcome.txn_ref, &why).await?;
        return Ok(answer(RspCode::Confirmed));
    }
    let settled = uc::confirm(
        &state,
        VNPAY,
        &outcome.txn_ref,
        &outcome.transaction_no,
        outcome.amount.dong(),
    )
    .await;
    Ok(answer(match settled {
        Ok(uc::Settled::Confirmed | uc::Settled::RefundDue) => RspCode::Confirmed,
        Ok(uc::Settled::AlreadyConfirmed) => RspCode::AlreadyConfirmed,
        Err(e) if e.code == "payment_not_found" => RspCode::OrderNotFound,
        Err(e) if e.code == "payment_amount_mismatch" => RspCode::InvalidAmount,
        Err(e) if e.is_systemic() => return Err(e.into()),
        Err(_) => RspCode::Other,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VietQrView {
    /// The text to draw as a QR code (EMVCo, NAPAS' VietQR profile).
    pub payload: String,
    pub bank_bin: String,
    pub account: String,
    pub account_name: String,
    /// What is owed, in đồng.
    pub amount: i64,
    /// The transfer note: the application's number, which matches the transfer to it.
    pub note: String,
    /// The code drawn as SVG.
    pub svg: String,
}

/// The VietQR code to pay an application's fee by bank transfer from any banking app: the
/// city's account, the amount owed and the application's number as the note.
#[utoipa::path(get, path = "/api/v1/applications/{number}/vietqr", tag = "services", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    responses(
        (status = 200, body = VietQrView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn vietqr(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<VietQrView>> {
    let (number, amount) = uc::amount_owed(&state, &caller.0, &number).await?;
    Ok(Json(vietqr_view(&state, number.as_str(), amount)?))
}

/// The VietQR view of `amount` owed on `number`, to the configured account.
pub(crate) fn vietqr_view(
    state: &AppState,
    number: &str,
    amount: sohoa_domain::Money,
) -> Result<VietQrView, AppError> {
    let account = state
        .config
        .vietqr
        .clone()
        .ok_or_else(|| AppError::new(StatusCode::SERVICE_UNAVAILABLE, "vietqr_unavailable"))?;
    let payload = Payload::new(&account.bin, &account.account, Some(amount), Some(number))
        .map_err(|e| AppError::internal(format!("the configured VietQR account: {e}")))?
        .encode();
    Ok(VietQrView {
        svg: sohoa_pdf::qr::svg(&payload)
            .ok_or_else(|| AppError::internal("a VietQR payload too long for a QR code"))?,
        payload,
        bank_bin: account.bin,
        account: account.account,
        account_name: account.name,
        amount: amount.dong(),
        note: number.to_owned(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecodeVietQr {
    /// The text a scanner read from the code (EMVCo codes hold at most 512 characters).
    #[schema(
        max_length = 512,
        example = "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN62170813ung ho lu lut6304C15C"
    )]
    pub payload: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecodedVietQr {
    pub bank_bin: String,
    pub account: String,
    pub amount: Option<i64>,
    pub note: Option<String>,
    /// To a card rather than an account.
    pub to_card: bool,
}

/// Reads a VietQR code as a bank would (the CRC first): whoever holds a printed receipt
/// can check where its code sends the money. 422 `invalid_vietqr` says what is wrong.
#[utoipa::path(post, path = "/api/v1/vietqr/decode", tag = "services",
    request_body = DecodeVietQr,
    responses((status = 200, body = DecodedVietQr), (status = 422, body = crate::error::ErrorBody)))]
pub async fn decode(ApiJson(body): ApiJson<DecodeVietQr>) -> ApiResult<Json<DecodedVietQr>> {
    let text = body.payload.trim();
    let parsed = if text.len() > 512 {
        Err(VietQrError::Malformed)
    } else {
        Payload::parse(text)
    };
    let p = parsed.map_err(|e: VietQrError| {
        AppError::unprocessable("invalid_vietqr")
            .field("payload")
            .arg("detail", e.to_string())
            .detail(e.to_string())
    })?;
    Ok(Json(DecodedVietQr {
        bank_bin: p.bin,
        account: p.account,
        amount: p.amount.map(|a| a.dong()),
        note: p.note,
        to_card: p.to_card,
    }))
}
