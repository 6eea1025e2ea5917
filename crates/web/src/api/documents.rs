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
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::registry::clean_text;
use sohoa_storage::files::{self, Document};
use sohoa_storage::StorageError;
use utoipa::{IntoParams, ToSchema};

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
}

impl From<Document> for DocumentView {
    fn from(d: Document) -> Self {
        Self {
            document_id: d.id,
            name: d.name,
            media_type: d.media_type,
            size: d.size,
            sha256: d.sha256,
            created_at: d.created_at,
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
    let stored = keep(&state, &caller, addr, p.name.as_deref(), bytes, media).await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// Adds checked bytes to the signed-in citizen's documents (the API's upload and the
/// "my account" page's form both end here).
pub(crate) async fn keep(
    state: &AppState,
    caller: &Caller,
    addr: Option<String>,
    name: Option<&str>,
    bytes: Bytes,
    media: &'static str,
) -> Result<Document, AppError> {
    let me = super::me::own_id(caller)?.clone();
    let name = match name.map(clean_text) {
        None => "document".to_owned(),
        Some(Some(n)) if n.chars().count() <= 200 && !n.chars().any(char::is_control) => n,
        Some(_) => return Err(AppError::unprocessable("invalid_document_name").field("name")),
    };
    let store = state.files.clone();
    let data = bytes.clone();
    let sha256 = crate::auth::blocking(move || store.put(&data))
        .await?
        .map_err(AppError::from)?;
    let doc = Document {
        id: format!("doc_{}", hex::encode(crate::auth::random_bytes::<12>()?)),
        owner: me.to_string(),
        sha256,
        size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        media_type: media.to_owned(),
        name,
        created_at: sohoa_storage::applications::now(),
    };
    let record =
        AuditRecord::new(caller.actor(), "document.upload", "document", &doc.id).client_addr(addr);
    let mut tx = state.db.begin().await?;
    let stored = files::add(&mut tx, &doc, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(stored)
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
    let me = super::me::own_id(&caller)?;
    let docs = files::list(&state.db, me.as_str(), 500).await?;
    Ok(Json(docs.into_iter().map(DocumentView::from).collect()))
}

/// A document's bytes, as an attachment.
pub async fn content(state: &AppState, doc: &Document) -> Result<Response, AppError> {
    let store = state.files.clone();
    let sha = doc.sha256.clone();
    let bytes = crate::auth::blocking(move || store.get(&sha))
        .await?
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::internal(format!("the file of {} is missing", doc.id)))?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&doc.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    Ok(res)
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
    let me = super::me::own_id(&caller)?;
    let doc = files::get(&state.db, &id)
        .await?
        .filter(|d| d.owner == me.as_str())
        .ok_or_else(|| AppError::not_found("document_not_found"))?;
    content(&state, &doc).await
}
