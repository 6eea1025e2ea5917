//! The one-stop counter over the API: identifying the person at the desk, filing for them
//! through the online path, their confirmation on the spot, and handing over paper results.
//! Only translation here; the rules are `sohoa_app::counter`'s.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sohoa_domain::registry::date_text;
use utoipa::{IntoParams, ToSchema};

use sohoa_app::counter as uc;
use sohoa_app::Acting;

use super::applications::{command, created, idempotency_key, ApplicationView, NewApplication};
use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identify {
    /// The CCCD on the card the person shows.
    #[schema(value_type = sohoa_domain::CitizenId)]
    pub citizen_id: String,
}

/// The person as the registry knows them, to compare with the card in hand.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub citizen_id: String,
    pub full_name: String,
    pub date_of_birth: String,
    pub sex: String,
    pub permanent_unit: String,
    pub permanent_street: String,
    /// Where a confirmation code would go, masked; none means only a signed receipt can
    /// confirm a filing.
    pub contact: Option<String>,
}

/// Looks up the person at the counter by their CCCD (audited with purpose "counter
/// intake", in their access log). 404 for a CCCD the registry does not hold, or of a
/// resident of another ward at a ward's counter.
#[utoipa::path(post, path = "/api/v1/counter/identify", tag = "counter", security(("bearer" = [])),
    request_body = Identify,
    responses(
        (status = 200, body = PersonView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn identify(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<Identify>,
) -> ApiResult<Json<PersonView>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let p = uc::identify(&state, who, &body.citizen_id).await?;
    let c = p.citizen;
    Ok(Json(PersonView {
        citizen_id: c.citizen_id.to_string(),
        full_name: c.full_name,
        date_of_birth: date_text(c.date_of_birth),
        sex: c.sex.as_str().to_owned(),
        permanent_unit: c.permanent_address.unit_code.to_string(),
        permanent_street: c.permanent_address.street,
        contact: p.contact,
    }))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterApplication {
    /// The person at the desk, identified by their card.
    #[schema(value_type = sohoa_domain::CitizenId)]
    pub citizen_id: String,
    /// What they apply for, as an online filing would say it (`on_behalf_of` is not for
    /// the counter; `submit` is implied).
    pub application: NewApplication,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CounterFiledView {
    /// A draft until the applicant confirms it.
    pub application: ApplicationView,
    /// Where the one-time code went (masked); none: confirm by the signed receipt.
    pub code_sent_to: Option<String>,
}

/// Files an application for the person at the counter, through the same checks as online
/// filing, its channel `counter`. It stays a draft that nobody processes until the person
/// confirms it (`/confirm`): a one-time code goes to their registered phone or e-mail.
/// Send an `Idempotency-Key`: a retry is answered as the first filing.
#[utoipa::path(post, path = "/api/v1/counter/applications", tag = "counter", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1-255 visible ASCII characters, unique per filing", example = "counter-2026-12-07-0001")),
    request_body = CounterApplication,
    responses(
        (status = 201, body = CounterFiledView),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CounterApplication>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let request_hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&body).map_err(AppError::internal)?,
    ));
    let cmd = command(body.application, key, request_hash)?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let filed = uc::file(&state, who, &body.citizen_id, cmd).await?;
    let view = CounterFiledView {
        application: ApplicationView::full(filed.filed.detail, sohoa_app::calendar()?),
        code_sent_to: filed.code_sent_to,
    };
    Ok(created(view, filed.filed.replayed))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, tag = "method", rename_all = "snake_case")]
pub enum ConfirmRequest {
    /// The code the applicant was sent, as they read it out.
    Code {
        #[schema(max_length = 20, example = "7KQ2-M9XD")]
        code: String,
    },
    /// The applicant signed the printed receipt; the officer keeps it.
    SignedReceipt,
}

/// The applicant confirms a counter filing: submitted as if they had submitted it
/// themselves, the confirmation recorded in its history and the audit log. A wrong code
/// answers 422 (five void it; send another with `/confirmation-code`).
#[utoipa::path(post, path = "/api/v1/counter/applications/{number}/confirm", tag = "counter", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    request_body = ConfirmRequest,
    responses(
        (status = 200, body = ApplicationView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> ApiResult<Json<ApplicationView>> {
    let how = match body {
        ConfirmRequest::Code { code } => uc::Confirmation::Code(code),
        ConfirmRequest::SignedReceipt => uc::Confirmation::SignedReceipt,
    };
    let who = Acting::new(&caller.0, addr.as_deref());
    let d = uc::confirm(&state, who, &number, how).await?;
    Ok(Json(ApplicationView::full(d, sohoa_app::calendar()?)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// Where the code went (masked); none when the registry holds no contact.
    pub code_sent_to: Option<String>,
}

/// Sends a fresh confirmation code (the previous one is void).
#[utoipa::path(post, path = "/api/v1/counter/applications/{number}/confirmation-code", tag = "counter", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    responses(
        (status = 200, body = CodeSent),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn resend_code(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
) -> ApiResult<Json<CodeSent>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let code_sent_to = uc::resend_code(&state, who, &number).await?;
    Ok(Json(CodeSent { code_sent_to }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverRequest {
    /// The name of the person who takes the paper result, as on the document shown.
    #[schema(max_length = 200, example = "Nguyễn Văn An")]
    pub recipient_name: String,
    /// The identity document checked: kind and number.
    #[schema(max_length = 100, example = "CCCD 079085000011")]
    pub id_document: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverView {
    pub number: String,
    pub recipient: String,
    pub handed_by: String,
    pub agency: String,
    pub handed_at: String,
}

/// Records the handover of an issued result's paper copy at this counter (once; the
/// signed result online stays the same record). 409 before the result is issued, or when
/// it was handed over already.
#[utoipa::path(post, path = "/api/v1/counter/applications/{number}/handover", tag = "counter", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    request_body = HandoverRequest,
    responses(
        (status = 201, body = HandoverView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn handover(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<HandoverRequest>,
) -> ApiResult<(StatusCode, Json<HandoverView>)> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let cmd = uc::HandoverCmd {
        recipient_name: body.recipient_name,
        id_document: body.id_document,
    };
    let h = uc::hand_over(&state, who, &number, &cmd).await?;
    Ok((
        StatusCode::CREATED,
        Json(HandoverView {
            number: h.number,
            recipient: h.recipient,
            handed_by: h.handed_by,
            agency: h.agency,
            handed_at: h.handed_at.to_string(),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScanParams {
    /// Whose paper it is: the document goes into their store.
    #[param(value_type = sohoa_domain::CitizenId, example = "079085000011")]
    pub citizen_id: String,
    /// What it is.
    #[param(max_length = 200, example = "Giấy khai sinh")]
    pub name: String,
    /// The officer compared the scan with the original paper.
    #[serde(default)]
    pub checked_against_original: bool,
}

/// The most a scan may weigh, all pages together.
pub const MAX_SCAN: usize = 20 * 1024 * 1024;

/// Scans paper the person brought into their document store: the body is one file (a PDF,
/// or one page as JPEG or PNG), or `multipart/form-data` with a part per page (images, in
/// order), made into one PDF. Each file must be what it says it is. The same paper twice is
/// one document. Audited, and in the person's access log.
#[utoipa::path(post, path = "/api/v1/counter/documents", tag = "counter", security(("bearer" = [])),
    params(ScanParams),
    request_body(description = "One file, or pages as multipart/form-data parts; 20 MiB in all",
        content(
            (super::Binary = "image/jpeg"),
            (super::Binary = "image/png"),
            (super::Binary = "application/pdf"),
            (super::Binary = "multipart/form-data"))),
    responses(
        (status = 201, body = super::documents::DocumentView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn scan(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiQuery(p): ApiQuery<ScanParams>,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, Json<super::documents::DocumentView>)> {
    let pages = read_pages(&state, req).await?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let scan = uc::Scan {
        citizen: p.citizen_id,
        name: p.name,
        checked_against_original: p.checked_against_original,
        pages,
    };
    let doc = uc::scan(&state, who, scan).await?;
    Ok((StatusCode::CREATED, Json(doc.into())))
}

/// The pages of a scan: the body as one file, or each part of a multipart body; each file's
/// declared type checked against its first bytes.
pub(crate) async fn read_pages(
    state: &AppState,
    req: axum::extract::Request,
) -> Result<Vec<(&'static str, Vec<u8>)>, AppError> {
    use super::documents::{read_upload, sniff, KINDS};
    use axum::extract::FromRequest;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !declared.starts_with("multipart/form-data") {
        let (headers, body) = (req.headers().clone(), req.into_body());
        let (bytes, media) = read_upload(&headers, body, MAX_SCAN, KINDS).await?;
        return Ok(vec![(media, bytes.to_vec())]);
    }
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::bad_request("invalid_body").detail(e.body_text())
    };
    let mut form = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| AppError::bad_request("invalid_body").detail(e.body_text()))?;
    let mut pages = Vec::new();
    while let Some(field) = form.next_field().await.map_err(bad)? {
        if field.file_name().is_none() {
            continue;
        }
        let media = field
            .content_type()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = field.bytes().await.map_err(bad)?;
        if bytes.is_empty() {
            // A file input left empty sends an empty part: not a page.
            continue;
        }
        pages.push((sniff(&media, &bytes, KINDS)?, bytes.to_vec()));
    }
    Ok(pages)
}

/// The public status page of `number`, as this server is reached (the configured public
/// address, else the request's own host).
pub(crate) fn status_url(state: &AppState, headers: &HeaderMap, number: &str) -> String {
    let base = match &state.config.public_url {
        Some(u) => u.clone(),
        None => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let scheme = if state.config.tls { "https" } else { "http" };
            format!("{scheme}://{host}")
        }
    };
    format!("{base}/status?number={number}")
}

/// The receipt as a PDF response (it holds the lookup code: never cached).
pub(crate) fn receipt_response(state: &AppState, headers: &HeaderMap, r: &uc::Receipt) -> Response {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    let a = &r.application;
    let owed = a
        .fee_payable
        .filter(|f| f.dong() > 0 && a.fee_paid_at.is_none() && !a.status.is_closed());
    let vietqr = match (owed, &state.config.vietqr) {
        (Some(amount), Some(acc)) => sohoa_domain::payments::vietqr::Payload::new(
            &acc.bin,
            &acc.account,
            Some(amount),
            Some(a.number.as_str()),
        )
        .ok()
        .map(|p| p.encode()),
        _ => None,
    };
    let pdf = crate::receipt::render(
        r,
        &status_url(state, headers, a.number.as_str()),
        vietqr.as_deref(),
    );
    let mut res = pdf.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"receipt-{}.pdf\"", a.number))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// The receipt (phiếu tiếp nhận và hẹn trả kết quả) as a printable PDF: number, lookup
/// code, due day, documents handed in (and whether checked against the original), the fee
/// with its VietQR code, a QR code to the status page. For the counter that took it in.
#[utoipa::path(get, path = "/api/v1/counter/applications/{number}/receipt.pdf", tag = "counter", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    responses(
        (status = 200, description = "The receipt", content_type = "application/pdf"),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn receipt(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let r = uc::receipt(&state, who, &number).await?;
    Ok(receipt_response(&state, &headers, &r))
}

/// The receipt of one's own application, as the counter printed it.
#[utoipa::path(get, path = "/api/v1/applications/{number}/receipt.pdf", tag = "services", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    responses(
        (status = 200, description = "The receipt", content_type = "application/pdf"),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn own_receipt(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let r = uc::receipt(&state, who, &number).await?;
    Ok(receipt_response(&state, &headers, &r))
}
