//! The citizen's personal document store: a scan uploaded once (an ID card, a birth
//! certificate) is offered again for every application that asks for it. Uploads are
//! limited in size and type (PDF, JPEG, PNG, checked by their first bytes, not only by what
//! the client says) and stored once by SHA-256.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_storage::files::{Document, Origin};
use utoipa::{IntoParams, ToSchema};

use sohoa_app::documents as uc;
use sohoa_app::Acting;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiQuery, ClientAddr};
use crate::AppState;

/// The largest upload: a multi-page scan.
pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;

/// What may be uploaded, with the bytes each kind of file starts with.
pub(crate) const KINDS: &[(&str, &[u8])] = &[
    ("application/pdf", b"%PDF-"),
    ("image/jpeg", b"\xFF\xD8\xFF"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
];

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub document_id: String,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub created_at: String,
    /// `upload` (by the citizen), `counter_scan` (paper scanned at a one-stop counter) or
    /// `result` (issued on an application).
    pub origin: String,
    /// For a scan: the officer who compared it with the original paper, and when.
    pub checked_by: Option<String>,
    pub checked_at: Option<String>,
    /// For a result: the application it was issued on.
    pub result_of: Option<String>,
}

impl From<Document> for DocumentView {
    fn from(d: Document) -> Self {
        Self {
            document_id: d.id,
            name: d.name,
            media_type: d.media_type,
            size: d.size,
            sha256: d.sha256,
            created_at: d.created_at.to_string(),
            origin: d.origin.as_str().to_owned(),
            checked_by: match &d.origin {
                Origin::CounterScan {
                    checked: Some((by, _)),
                    ..
                } => Some(by.clone()),
                _ => None,
            },
            checked_at: match &d.origin {
                Origin::CounterScan {
                    checked: Some((_, at)),
                    ..
                } => Some(at.to_string()),
                _ => None,
            },
            result_of: match &d.origin {
                Origin::Result(n) => Some(n.to_string()),
                _ => None,
            },
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// A name to recognise it by (default: "document").
    pub name: Option<String>,
}

/// Adds a file (the request body, `Content-Type` application/pdf, image/jpeg or image/png,
/// at most 10 MiB) to the signed-in citizen's documents. The same bytes twice make one
/// document.
#[utoipa::path(post, path = "/api/v1/me/documents", tag = "identity", security(("bearer" = [])),
    params(UploadParams),
    request_body(description = "The file's bytes: a PDF, JPEG or PNG of at most 10 MiB, sent as the body with its Content-Type",
        content(
            (super::Binary = "application/pdf", example = json!("%PDF-1.4\n% Giấy chứng sinh\n")),
            (super::Binary = "image/jpeg"),
            (super::Binary = "image/png"))),
    responses(
        (status = 201, body = DocumentView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<UploadParams>,
    body: Body,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    let (bytes, media) = read_upload(&headers, body, MAX_UPLOAD, KINDS).await?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let stored = uc::keep(&state, who, p.name.as_deref(), Vec::from(bytes), media).await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// Reads an uploaded file of at most `max` bytes whose declared `Content-Type` is one of
/// `kinds` and whose first bytes agree with it (what the client says is not enough).
pub(crate) async fn read_upload(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    kinds: &[(&'static str, &[u8])],
) -> Result<(Bytes, &'static str), AppError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let bytes: Bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
        AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").arg("limit", max)
    })?;
    let media = sniff(&declared, &bytes, kinds)?;
    Ok((bytes, media))
}

/// The kind of a file whose declared media type is one of `kinds` and whose first bytes
/// agree with it.
pub(crate) fn sniff(
    declared: &str,
    bytes: &[u8],
    kinds: &[(&'static str, &[u8])],
) -> Result<&'static str, AppError> {
    if bytes.is_empty() {
        return Err(AppError::unprocessable("empty_file"));
    }
    kinds
        .iter()
        .find(|(media, magic)| *media == declared && bytes.starts_with(magic))
        .map(|(media, _)| *media)
        .ok_or_else(|| AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type"))
}

/// The signed-in citizen's documents, newest first: what an application can reuse.
#[utoipa::path(get, path = "/api/v1/me/documents", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = Vec<DocumentView>), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<DocumentView>>> {
    let docs = uc::list(&state, &caller.0).await?;
    Ok(Json(docs.into_iter().map(DocumentView::from).collect()))
}

/// A document's bytes, as an attachment of its media type.
pub(crate) fn attachment(doc: &Document, bytes: Vec<u8>) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&doc.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    res
}

/// One of the signed-in citizen's documents. Another's answers 404.
#[utoipa::path(get, path = "/api/v1/me/documents/{document_id}", tag = "identity", security(("bearer" = [])),
    params(("document_id" = String, Path, description = "Document id", example = "doc_0f3a9c")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (doc, bytes) = uc::read_own(&state, &caller.0, &id).await?;
    Ok(attachment(&doc, bytes))
}
