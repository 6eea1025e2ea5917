//! Residents' reports (phản ánh, kiến nghị) over the JSON API: filing (signed in, or
//! anonymous with a contact), the public map's GeoJSON, the responsible agency's queue and
//! moves, and the reporter's follow-up (photos, rating, reopening). Open311 clients reach
//! the same [`file`] through `crate::open311`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::feedback::geo::{BBox, Point};
use sohoa_domain::feedback::report::ReportStatus;
use sohoa_domain::UnitCode;
use sohoa_storage::feedback::{PublicReport, Report};
use utoipa::{IntoParams, ToSchema};

use sohoa_app::feedback::public as map;
use sohoa_app::feedback::reports::{self as uc};
use sohoa_app::feedback::{photos, routing, Filing};
use sohoa_app::Acting;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

/// Header carrying the code a reporter was given when filing, for follow-up without an
/// account.
pub const REPORTER_CODE_HEADER: &str = "x-reporter-code";
pub(crate) use sohoa_app::feedback::photos::MAX_PHOTOS;
pub(crate) const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
pub(crate) const PHOTO_KINDS: &[(&str, &[u8])] = &[
    ("image/jpeg", b"\xFF\xD8\xFF"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
];

// ---------------------------------------------------------------------------------------
// Filing

// ---------------------------------------------------------------------------------------
// Views

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportEventView {
    pub from_status: Option<ReportStatus>,
    pub to_status: ReportStatus,
    pub from_agency: Option<String>,
    pub to_agency: String,
    pub actor: String,
    pub at: String,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoView {
    pub seq: i64,
    /// `report` (the reporter's) or `resolution` (the officer's).
    pub kind: String,
    pub content_type: String,
    pub size: i64,
    pub at: String,
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: String,
    /// Open311's token for this request.
    pub token: String,
    pub status: ReportStatus,
    pub category: String,
    pub agency_code: String,
    pub unit_code: String,
    pub lat: f64,
    pub long: f64,
    pub address: Option<String>,
    pub description: String,
    #[schema(value_type = Object)]
    pub attributes: Value,
    pub media_url: Option<String>,
    pub supporters: i64,
    /// The agency's latest public answer.
    pub status_note: Option<String>,
    pub resolution_note: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The day it is to be resolved by (working days after filing, per category).
    pub due_on: String,
    pub overdue: bool,
    pub resolved_at: Option<String>,
    pub rating: Option<i64>,
    pub reopened: i64,
    /// For the reporter and the responsible agency only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<ReportEventView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<PhotoView>>,
}

impl ReportView {
    pub(crate) fn public(r: &Report) -> Self {
        Self {
            id: r.id.clone(),
            token: r.token.clone(),
            status: r.status,
            category: r.category_code.clone(),
            agency_code: r.agency_code.to_string(),
            unit_code: r.unit_code.clone(),
            lat: r.lat,
            long: r.lon,
            address: r.address.clone(),
            description: r.description.clone(),
            attributes: serde_json::from_str(&r.attributes).unwrap_or(Value::Null),
            media_url: r.media_url.clone(),
            supporters: r.supporters,
            status_note: r.status_note.clone(),
            resolution_note: r.resolution_note.clone(),
            created_at: r.created_at.to_string(),
            updated_at: r.updated_at.to_string(),
            due_on: super::date_text(r.due_on),
            overdue: uc::overdue(r, sohoa_domain::timestamp::today()),
            resolved_at: r.resolved_at.map(|t| t.to_string()),
            rating: r.rating,
            reopened: r.reopened,
            contact: None,
            events: None,
            photos: None,
        }
    }
}

fn reporter_code(headers: &HeaderMap, body: Option<&str>) -> Option<String> {
    body.map(str::to_owned).or_else(|| {
        headers
            .get(REPORTER_CODE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

impl ReportView {
    /// A report in full, for its reporter and its agency's officers.
    pub(crate) fn full(d: uc::Detail) -> Self {
        let mut v = ReportView::public(&d.report);
        v.contact = d.contact;
        v.events = Some(
            d.events
                .into_iter()
                .map(|e| ReportEventView {
                    from_status: e.from_status,
                    to_status: e.to_status,
                    from_agency: e.from_agency,
                    to_agency: e.to_agency,
                    actor: e.actor,
                    at: e.at.to_string(),
                    note: e.note,
                })
                .collect(),
        );
        v.photos = Some(
            d.photos
                .into_iter()
                .map(|p| PhotoView {
                    url: format!("/api/v1/reports/{}/photos/{}", d.report.id, p.seq),
                    seq: p.seq,
                    kind: p.kind,
                    content_type: p.content_type,
                    size: p.size,
                    at: p.at.to_string(),
                })
                .collect(),
        );
        v
    }

    pub(crate) fn seen(seen: uc::Seen) -> Self {
        match seen {
            uc::Seen::Full(d) => Self::full(*d),
            uc::Seen::Public(r) => Self::public(&r),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Endpoints

/// A JSON body's attribute answers: a value, or a list of them for a multi-value list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AttributeInput {
    One(String),
    Number(f64),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"category": "flooding", "lat": 10.7725, "long": 106.698,
    "description": "Ngập tới đầu gối trước chợ Bến Thành", "attributes": {"depth": "knee"},
    "email": "mai@example.vn"}))]
pub struct NewReport {
    /// A category (Open311 service code): see `/open311/v2/services.json`.
    pub category: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    /// Where, in words; without `lat`/`long`, the commune it names places the report.
    #[schema(max_length = 300)]
    pub address: Option<String>,
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeInput>,
    /// A way to reach an anonymous reporter (one of these is required without a session).
    #[schema(max_length = 254)]
    pub email: Option<String>,
    pub phone: Option<String>,
    #[schema(max_length = 2000)]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub media_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FiledView {
    pub report: ReportView,
    /// Keep it: with it (header `X-Reporter-Code`) the reporter adds photos, rates and
    /// reopens without an account. Shown once.
    pub reporter_code: String,
    /// Open reports of the same category close by: the reporter may join one of them
    /// (`POST /api/v1/reports/{id}/supporters`).
    pub nearby: Vec<String>,
}

/// Files a report. Signed-in citizens are its reporter; anyone else gives an e-mail address
/// or phone number.
#[utoipa::path(post, path = "/api/v1/reports", tag = "feedback", request_body = NewReport,
    responses((status = 201, body = FiledView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<NewReport>,
) -> ApiResult<(StatusCode, Json<FiledView>)> {
    let attributes = body
        .attributes
        .into_iter()
        .map(|(k, v)| {
            let values = match v {
                AttributeInput::One(s) => vec![s],
                AttributeInput::Number(n) => vec![n.to_string()],
                AttributeInput::Many(v) => v,
            };
            (k, values)
        })
        .collect();
    let filed = sohoa_app::feedback::file(
        &state,
        Acting::new(&caller.0, addr.as_deref()),
        Filing {
            category: body.category,
            lat: body.lat,
            lon: body.long,
            address: body.address,
            description: body.description,
            attributes,
            email: body.email,
            phone: body.phone,
            name: body.name,
            media_url: body.media_url,
            channel: "api".into(),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(FiledView {
            report: ReportView::public(&filed.report),
            reporter_code: filed.reporter_code,
            nearby: filed.nearby.into_iter().map(|r| r.id).collect(),
        }),
    ))
}

/// One report. Anyone sees what the public map shows; its reporter (by session or
/// `X-Reporter-Code`) and the responsible agency's officers also see the contact, history
/// and photos (officers' reads are audited).
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "feedback",
    params(("id" = String, Path, description = "Report id", example = "rp_0f3a9c1d")),
    responses((status = 200, body = ReportView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_report(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<ReportView>> {
    let code = reporter_code(&headers, None);
    let who = Acting::new(&caller.0, addr.as_deref());
    let seen = uc::read(&state, who, &id, code.as_deref()).await?;
    Ok(Json(ReportView::seen(seen)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// One status; default: every one but `closed`.
    #[param(value_type = Option<sohoa_domain::feedback::report::ReportStatus>)]
    pub status: Option<String>,
    /// At most this many (1-500, default 100), soonest due first.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The officer's agency's reports, soonest due first, with overdue ones flagged.
#[utoipa::path(get, path = "/api/v1/reports", tag = "feedback", security(("bearer" = [])),
    params(QueueParams),
    responses((status = 200, body = Vec<ReportView>), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<QueueParams>,
) -> ApiResult<Json<Vec<ReportView>>> {
    let status = match p.status.as_deref() {
        Some(s) => Some(
            ReportStatus::parse(s)
                .ok_or_else(|| AppError::bad_request("invalid_report_status").field("status"))?,
        ),
        None => None,
    };
    let limit = p.limit.unwrap_or(100);
    let rows = uc::queue(&state, &caller.0, status, limit).await?;
    Ok(Json(rows.iter().map(ReportView::public).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "acknowledged", "note": "Đã tiếp nhận, sẽ kiểm tra trong ngày."}))]
pub struct Transition {
    /// `acknowledged`, `in_progress`, `resolved` (with a note saying what was done) or
    /// `closed`.
    #[schema(value_type = sohoa_domain::feedback::report::ReportStatus)]
    pub to: String,
    /// A public answer: shown to everyone as the report's status notes.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// An officer of the responsible agency moves the report and answers publicly.
#[utoipa::path(post, path = "/api/v1/reports/{id}/transitions", tag = "feedback", security(("bearer" = [])),
    params(("id" = String, Path, description = "Report id", example = "rp_0f3a9c1d")), request_body = Transition,
    responses((status = 200, body = ReportView), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Transition>,
) -> ApiResult<Json<ReportView>> {
    let to = ReportStatus::parse(&body.to)
        .ok_or_else(|| AppError::unprocessable("invalid_report_status").field("to"))?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let d = uc::transition(&state, who, &id, to, body.note.as_deref()).await?;
    Ok(Json(ReportView::full(d)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Forward {
    #[schema(value_type = sohoa_domain::agency::AgencyCode)]
    pub agency_code: String,
    /// Why: shown to the public.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Hands the report to another agency, which answers it from now on (open again there).
#[utoipa::path(post, path = "/api/v1/reports/{id}/forward", tag = "feedback", security(("bearer" = [])),
    params(("id" = String, Path, description = "Report id", example = "rp_0f3a9c1d")), request_body = Forward,
    responses((status = 200, body = ReportView), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn forward(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Forward>,
) -> ApiResult<Json<ReportView>> {
    let to = AgencyCode::parse(&body.agency_code)
        .map_err(|_| AppError::unprocessable("invalid_agency_code").field("agency_code"))?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let r = uc::forward(&state, who, &id, &to, body.note.as_deref()).await?;
    Ok(Json(ReportView::public(&r)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"score": 5, "comment": "Xử lý nhanh", "reporter_code": "7K3M-Q9TX"}))]
pub struct Rating {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    #[schema(minimum = 1, maximum = 5)]
    pub score: i64,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// The code given when filing, for a reporter without a session.
    #[schema(value_type = Option<sohoa_domain::services::application::LookupCode>)]
    pub reporter_code: Option<String>,
}

/// The reporter rates the resolution, once; the report is closed by it.
#[utoipa::path(post, path = "/api/v1/reports/{id}/rating", tag = "feedback",
    params(("id" = String, Path, description = "Report id", example = "rp_0f3a9c1d")), request_body = Rating,
    responses((status = 200, body = ReportView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Rating>,
) -> ApiResult<Json<ReportView>> {
    let code = reporter_code(&headers, body.reporter_code.as_deref());
    let who = Acting::new(&caller.0, addr.as_deref());
    let d = uc::rate(
        &state,
        who,
        &id,
        code.as_deref(),
        body.score,
        body.comment.as_deref(),
    )
    .await?;
    Ok(Json(ReportView::full(d)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Vẫn còn ngập sau cơn mưa chiều nay", "reporter_code": "7K3M-Q9TX"}))]
pub struct Reopen {
    /// What is still wrong.
    #[schema(max_length = 2000)]
    pub reason: String,
    #[schema(value_type = Option<sohoa_domain::services::application::LookupCode>)]
    pub reporter_code: Option<String>,
}

/// The reporter reopens a resolved report within 7 days of its resolution, before rating it.
#[utoipa::path(post, path = "/api/v1/reports/{id}/reopen", tag = "feedback",
    params(("id" = String, Path, description = "Report id", example = "rp_0f3a9c1d")), request_body = Reopen,
    responses((status = 200, body = ReportView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Reopen>,
) -> ApiResult<Json<ReportView>> {
    let code = reporter_code(&headers, body.reporter_code.as_deref());
    let who = Acting::new(&caller.0, addr.as_deref());
    let d = uc::reopen(&state, who, &id, code.as_deref(), &body.reason).await?;
    Ok(Json(ReportView::full(d)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Support {
    /// Without a session: the supporter's e-mail address or phone number (counted once).
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Supported {
    pub id: String,
    pub supporters: i64,
    /// False when this supporter had joined before (nothing changed).
    pub joined: bool,
}

/// Joins an open report instead of filing the same problem again.
#[utoipa::path(post, path = "/api/v1/reports/{id}/supporters", tag = "feedback",
    params(("id" = String, Path, description = "Report id", example = "rp_0f3a9c1d")), request_body = Support,
    responses((status = 200, body = Supported), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn support(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Support>,
) -> ApiResult<Json<Supported>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let (r, joined) = uc::support(
        &state,
        who,
        &id,
        body.email.as_deref(),
        body.phone.as_deref(),
    )
    .await?;
    Ok(Json(Supported {
        supporters: r.supporters + i64::from(joined),
        id: r.id,
        joined,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearbyParams {
    /// A category (Open311 service code).
    #[param(example = "flooding")]
    pub category: String,
    #[param(minimum = -90.0, maximum = 90.0, example = 10.7725)]
    pub lat: f64,
    #[param(minimum = -180.0, maximum = 180.0, example = 106.698)]
    pub long: f64,
}

/// Open reports of a category within 150 m filed in the last 30 days: what a resident about
/// to file the same problem is offered to join.
#[utoipa::path(get, path = "/api/v1/feedback/nearby", tag = "feedback", params(NearbyParams),
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json", body = Object),
        (status = 400, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn nearby(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<NearbyParams>,
) -> ApiResult<Response> {
    let point = Point::new(p.lat, p.long)
        .map_err(|_| AppError::unprocessable("invalid_location").field("lat"))?;
    let found = sohoa_app::feedback::nearby(&state, &p.category, point).await?;
    Ok(geo_bytes(feature_collection(&found, false)))
}

#[derive(Serialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

#[derive(Serialize)]
struct Properties<'a> {
    id: &'a str,
    category: &'a str,
    status: &'static str,
    unit_code: &'a str,
    supporters: i64,
    created_at: String,
}

#[derive(Serialize)]
struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    geometry: Geometry,
    properties: Properties<'a>,
}

#[derive(Serialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<Feature<'a>>,
    truncated: bool,
}

/// A GeoJSON FeatureCollection of reports, serialized straight from the rows (a map of a
/// busy district is thousands of features: no intermediate JSON tree).
fn feature_collection(rows: &[PublicReport], truncated: bool) -> Vec<u8> {
    let features = rows
        .iter()
        .map(|r| Feature {
            kind: "Feature",
            id: &r.id,
            geometry: Geometry {
                kind: "Point",
                coordinates: [r.lon, r.lat],
            },
            properties: Properties {
                id: &r.id,
                category: &r.category_code,
                status: r.status.as_str(),
                unit_code: &r.unit_code,
                supporters: r.supporters,
                created_at: r.created_at.to_string(),
            },
        })
        .collect();
    serde_json::to_vec(&Collection {
        kind: "FeatureCollection",
        features,
        truncated,
    })
    .unwrap_or_default()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapParams {
    /// `min_long,min_lat,max_long,max_lat`.
    #[param(example = "106.68,10.76,106.72,10.79")]
    pub bbox: String,
    /// `open` or `closed` (Open311's), or one of sohoa's statuses.
    #[param(value_type = Option<sohoa_domain::feedback::report::ReportStatus>)]
    pub status: Option<String>,
    pub category: Option<String>,
    /// At most this many features (1-5,000, default 2,000); `truncated` says if the box
    /// held more: zoom in.
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<i64>,
}

/// Reports inside a box as GeoJSON, for the public map: where, what kind, how far along,
/// how many joined (the rest of a report is at `/api/v1/reports/{id}`); nothing about who
/// reported.
#[utoipa::path(get, path = "/api/v1/reports.geojson", tag = "feedback", params(MapParams),
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json", body = Object),
        (status = 400, body = crate::error::ErrorBody)))]
pub async fn geojson(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<MapParams>,
) -> ApiResult<Response> {
    let bbox =
        BBox::parse(&p.bbox).map_err(|_| AppError::bad_request("invalid_bbox").field("bbox"))?;
    let statuses = map::statuses_of(p.status.as_deref())?;
    let limit = p.limit.unwrap_or(2000);
    let (features, truncated) = map::in_box_geojson(
        &state,
        &bbox,
        statuses.as_deref(),
        p.category.as_deref(),
        limit,
    )
    .await?;
    let body = format!(
        "{{\"type\":\"FeatureCollection\",\"truncated\":{truncated},\"features\":{features}}}"
    );
    Ok(geo_bytes(body.into_bytes()))
}

fn geo_response(v: Value) -> Response {
    geo_bytes(v.to_string().into_bytes())
}

fn geo_bytes(body: Vec<u8>) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    res
}

/// The communes' boundaries as GeoJSON; `approximate` is true while they are the shipped
/// approximation rather than official geometry.
#[utoipa::path(get, path = "/api/v1/boundaries.geojson", tag = "feedback",
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json", body = Object)))]
pub async fn boundaries(State(state): State<AppState>) -> ApiResult<Response> {
    let geo = map::geography(&state).await?;
    let features: Vec<Value> = geo
        .boundaries
        .areas()
        .iter()
        .map(|a| {
            json!({"type": "Feature", "id": a.code.as_str(), "geometry": a.geometry(),
                   "properties": {"unit_code": a.code.as_str()}})
        })
        .collect();
    Ok(geo_response(json!({
        "type": "FeatureCollection",
        "approximate": geo.approximate,
        "features": features,
    })))
}

/// Adds a photo (the body; image/jpeg or image/png, at most 5 MiB): the reporter's of the
/// problem, or the responsible officer's of the fix. Five of each at most.
#[utoipa::path(post, path = "/api/v1/reports/{id}/photos", tag = "feedback",
    params(("id" = String, Path, description = "Report id", example = "rp_0f3a9c1d")),
    request_body(description = "A JPEG or PNG of at most 5 MiB, sent as the body with its Content-Type",
        content((super::Binary = "image/jpeg"), (super::Binary = "image/png"))),
    responses((status = 201, body = PhotoView), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody)))]
pub async fn add_photo(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<PhotoView>)> {
    let code = reporter_code(&headers, None);
    let (r, kind) = photos::may_add(&state, &caller.0, &id, code.as_deref()).await?;
    let (bytes, media) =
        super::documents::read_upload(&headers, body, MAX_PHOTO_BYTES, PHOTO_KINDS).await?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let (seq, photo) = photos::keep(&state, who, &r.id, kind, Vec::from(bytes), media).await?;
    Ok((
        StatusCode::CREATED,
        Json(PhotoView {
            url: format!("/api/v1/reports/{}/photos/{seq}", r.id),
            seq,
            kind: photo.kind,
            content_type: photo.content_type,
            size: photo.size,
            at: photo.at.to_string(),
        }),
    ))
}

/// One photo: for the reporter and the responsible agency's officers.
#[utoipa::path(get, path = "/api/v1/reports/{id}/photos/{seq}", tag = "feedback",
    params(("id" = String, Path, description = "Report id", example = "rp_0f3a9c1d"), ("seq" = i64, Path, description = "Photo number", example = 1)),
    responses((status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_photo(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, seq)): Path<(String, String)>,
) -> ApiResult<Response> {
    let code = reporter_code(&headers, None);
    let (photo, bytes) = photos::read(&state, &caller.0, &id, &seq, code.as_deref()).await?;
    let mut res = bytes.into_response();
    if let Ok(v) = HeaderValue::from_str(&photo.content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(res)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RouteView {
    pub category: String,
    /// `*`: every commune without a route of its own.
    pub unit_code: String,
    pub agency_code: String,
    pub updated_at: String,
    pub updated_by: String,
}

/// The routing table: which agency answers which category where. Without a route, the
/// commune's People's Committee answers.
#[utoipa::path(get, path = "/api/v1/feedback/routes", tag = "feedback",
    responses((status = 200, body = Vec<RouteView>)))]
pub async fn list_routes(State(state): State<AppState>) -> ApiResult<Json<Vec<RouteView>>> {
    Ok(Json(
        routing::routes(&state)
            .await?
            .into_iter()
            .map(|r| RouteView {
                category: r.category_code,
                unit_code: r.unit_code,
                agency_code: r.agency_code.to_string(),
                updated_at: r.updated_at.to_string(),
                updated_by: r.updated_by,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"category": "flooding", "unit_code": "26743", "agency_code": "UBND-26743"}))]
pub struct RouteChange {
    pub category: String,
    /// A commune's code, or `*` for every commune without its own route.
    #[schema(value_type = sohoa_domain::UnitCode)]
    pub unit_code: String,
    /// The agency that answers; `null` removes the route.
    #[schema(value_type = Option<sohoa_domain::agency::AgencyCode>)]
    pub agency_code: Option<String>,
}

/// Sets or removes one route (city administrators).
#[utoipa::path(put, path = "/api/v1/feedback/routes", tag = "feedback", security(("bearer" = [])),
    request_body = RouteChange,
    responses((status = 204, description = "Saved"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn put_route(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<RouteChange>,
) -> ApiResult<StatusCode> {
    let unit = match body.unit_code.as_str() {
        "*" => None,
        u => Some(
            UnitCode::parse(u)
                .map_err(|_| AppError::unprocessable("invalid_unit_code").field("unit_code"))?,
        ),
    };
    let agency = match body.agency_code.as_deref() {
        Some(a) => Some(
            AgencyCode::parse(a)
                .map_err(|_| AppError::unprocessable("invalid_agency_code").field("agency_code"))?,
        ),
        None => None,
    };
    let who = Acting::new(&caller.0, addr.as_deref());
    routing::set_route(&state, who, &body.category, unit.as_ref(), agency.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
