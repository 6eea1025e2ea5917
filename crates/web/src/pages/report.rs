//! Reporting a problem on the web: category, description, where (a tap on the communes' map
//! fills the coordinates; typing them or an address works without script), photos, and a
//! way back for someone not signed in. Filing goes through the one use case
//! (`sohoa_app::feedback::file`), photos through `sohoa_app::feedback::photos::keep`; all photos are checked before
//! the report is filed, so a refused photo files nothing. The report's page lets its
//! reporter follow the answers and rate the resolution.

use std::fmt::Write as _;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sohoa_domain::policy::Principal;

use super::charts::esc;
use super::feedback::{category_label, overlaps, status_label, Projection, CORE, WIDTH};
use super::{render, PageCtx, Shell};
use crate::api::reports as api;
use crate::auth::{self, Caller};
use crate::error::AppError;
use crate::extract::ClientAddr;
use crate::html::{PageErrorExt, PageResult};
use crate::i18n::{Lang, Tr};
use crate::AppState;
use sohoa_app::feedback::Filing;

/// What was typed, kept when the form comes back with an error.
#[derive(Default)]
struct Typed {
    category: String,
    description: String,
    lat: String,
    long: String,
    address: String,
    name: String,
    email: String,
    phone: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportFormTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    categories: Vec<(String, String)>,
    map: String,
    signed_in: bool,
    typed: Typed,
    /// The control the error is about (`category`, `description`, `lat`, `address`,
    /// `photos`, `email`), and the message.
    error: Option<(&'static str, String)>,
}

/// The control of the form an error of the filing path is about.
fn control_of(e: &AppError) -> &'static str {
    match e.field.as_deref() {
        Some("service_code") => "category",
        Some("description") => "description",
        Some("lat" | "long") => "lat",
        Some("address_string") => "address",
        Some("email" | "phone") => "email",
        Some("photos") => "photos",
        _ => "category",
    }
}

async fn form_page(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
    caller: &Caller,
    typed: Typed,
    error: Option<&AppError>,
) -> Result<Response, AppError> {
    let (csrf, cookie) = auth::csrf_token(headers)?;
    let t = ctx.t();
    let categories = sohoa_app::feedback::public::categories(state)
        .await?
        .iter()
        .map(|c| {
            let name = match ctx.lang {
                Lang::Vi => c.name_vi.clone(),
                Lang::En => c.name_en.clone(),
            };
            (c.code.clone(), name)
        })
        .collect();
    let geo = sohoa_app::feedback::public::geography(state).await?;
    let proj = Projection::new(CORE);
    let mut map = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {h:.0}\" role=\"img\" \
         aria-labelledby=\"pick-title\" class=\"map pick\" data-min-lon=\"{}\" data-min-lat=\"{}\" \
         data-max-lon=\"{}\" data-max-lat=\"{}\"><title id=\"pick-title\">{}</title>\
         <rect width=\"{WIDTH}\" height=\"{h:.0}\" fill=\"#e3f2fd\"/>",
        CORE.min_lon,
        CORE.min_lat,
        CORE.max_lon,
        CORE.max_lat,
        esc(&t.get("report-map-title")),
        h = proj.height,
    );
    for area in geo
        .boundaries
        .areas()
        .iter()
        .filter(|a| overlaps(&a.bbox(), &CORE))
    {
        let _ = write!(
            map,
            "<path d=\"{}\" fill=\"#fafafa\" stroke=\"#90a4ae\" stroke-width=\"0.8\"/>",
            proj.path(area)
        );
    }
    map.push_str("<circle class=\"pin\" r=\"7\" cx=\"-20\" cy=\"-20\" fill=\"#c62828\"/></svg>");
    let error = error.map(|e| (control_of(e), e.message(ctx.lang)));
    let tpl = ReportFormTemplate {
        shell: ctx.shell("map", t.get("report-new-title")),
        csrf,
        categories,
        map,
        signed_in: matches!(caller.0, Principal::Citizen(_)),
        typed,
        error,
        t,
    };
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

pub async fn new_report(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
) -> PageResult<Response> {
    form_page(&state, &ctx, &headers, &caller, Typed::default(), None)
        .await
        .page(ctx.lang)
}

/// An optional coordinate as typed: empty is none, anything else must be a number.
fn coordinate(s: &str) -> Result<Option<f64>, AppError> {
    let s = s.trim().replace(',', ".");
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or_else(|| AppError::unprocessable("invalid_location").field("lat"))
}

pub async fn file_report(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let (parts, trouble) = super::read_parts(form).await;
    let text = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(super::Part::text)
            .unwrap_or_default()
    };
    auth::check_csrf(&headers, &text("csrf")).page(lang)?;
    let typed = Typed {
        category: text("category"),
        description: text("description"),
        lat: text("lat"),
        long: text("long"),
        address: text("address"),
        name: text("name"),
        email: text("email"),
        phone: text("phone"),
    };
    let photos = parts
        .iter()
        .filter(|p| p.name == "photos")
        // A file input left empty sends one empty part with no file name.
        .filter(|p| !(p.bytes.is_empty() && p.file_name.is_empty()))
        .map(|p| (p.content_type.clone(), p.bytes.clone()))
        .collect();
    match file_checked(&state, &caller, addr, &typed, photos, trouble).await {
        Ok(id) => Ok(Redirect::to(&format!("/reports/{id}")).into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            let mut res = form_page(&state, &ctx, &headers, &caller, typed, Some(&e))
                .await
                .page(lang)?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e).page(lang),
    }
}

fn too_large() -> AppError {
    AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        .arg("limit", api::MAX_PHOTO_BYTES)
        .field("photos")
}

/// Checks the photos, files the report, then keeps the photos. Returns the report's id.
async fn file_checked(
    state: &AppState,
    caller: &Caller,
    addr: Option<String>,
    typed: &Typed,
    photos: Vec<(String, axum::body::Bytes)>,
    trouble: Option<super::FormTrouble>,
) -> Result<String, AppError> {
    match trouble {
        Some(super::FormTrouble::TooLarge) => return Err(too_large()),
        Some(super::FormTrouble::Unreadable) => {
            return Err(AppError::bad_request("invalid_body").field("photos"))
        }
        None => {}
    }
    if photos.len() as i64 > api::MAX_PHOTOS {
        return Err(AppError::conflict("too_many_photos")
            .arg("max", api::MAX_PHOTOS)
            .field("photos"));
    }
    let mut checked = Vec::new();
    for (declared, bytes) in photos {
        if bytes.len() > api::MAX_PHOTO_BYTES {
            return Err(too_large());
        }
        let media = crate::api::documents::sniff(&declared, &bytes, api::PHOTO_KINDS)
            .map_err(|e| e.field("photos"))?;
        checked.push((bytes, media));
    }
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let filing = Filing {
        category: typed.category.clone(),
        lat: coordinate(&typed.lat)?,
        lon: coordinate(&typed.long)?,
        address: text(&typed.address),
        description: text(&typed.description),
        email: text(&typed.email),
        phone: text(&typed.phone),
        name: text(&typed.name),
        channel: "web".into(),
        ..Filing::default()
    };
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    let filed = sohoa_app::feedback::file(state, who, filing).await?;
    let id = filed.report.id.clone();
    for (bytes, media) in checked {
        let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
        sohoa_app::feedback::photos::keep(state, who, &id, "report", Vec::from(bytes), media)
            .await?;
    }
    Ok(id)
}

#[derive(Template)]
#[template(path = "report_view.html")]
struct ReportViewTemplate {
    shell: Shell,
    t: Tr,
    csrf: String,
    id: String,
    category: String,
    status: String,
    unit: String,
    due: String,
    overdue: bool,
    description: String,
    answers: Vec<(String, String)>,
    history: Vec<(String, String, String)>,
    photos: usize,
    mine: bool,
    can_rate: bool,
    rating: Option<i64>,
    rating_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ViewParams {
    rating_error: Option<String>,
}

/// Refusals of a rating the page explains.
const RATING_ERRORS: &[&str] = &[
    "invalid_score",
    "report_not_resolved",
    "report_already_rated",
];

pub async fn view(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    params: Result<axum::extract::Query<ViewParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let (csrf, cookie) = auth::csrf_token(&headers).page(lang)?;
    // Its reporter and the agency's officers see the history and photos (an officer's read
    // is audited), as the API shows them; anyone else what the public map shows.
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    let seen = sohoa_app::feedback::reports::read(&state, who, &id, None)
        .await
        .map_err(AppError::from)
        .page(lang)?;
    let mine = match &seen {
        sohoa_app::feedback::reports::Seen::Full(d) => {
            sohoa_app::feedback::reports::is_reporter(&caller.0, &d.report, None)
        }
        sohoa_app::feedback::reports::Seen::Public(_) => false,
    };
    let view = api::ReportView::seen(seen);
    let t = ctx.t();
    let mut answers = Vec::new();
    if let Some(n) = &view.status_note {
        answers.push((t.get("report-answer"), n.clone()));
    }
    if let Some(n) = &view.resolution_note {
        answers.push((t.get("report-resolution"), n.clone()));
    }
    let history = view
        .events
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                sohoa_domain::Timestamp::parse(&e.at)
                    .map(|t| t.local_display())
                    .unwrap_or_else(|_| e.at.clone()),
                status_label(&t, e.to_status),
                e.note.clone().unwrap_or_default(),
            )
        })
        .collect();
    let rating_error = params
        .ok()
        .and_then(|p| p.0.rating_error)
        .filter(|c| RATING_ERRORS.contains(&c.as_str()))
        .map(|c| t.get(&crate::error::message_key(&c)));
    let tpl = ReportViewTemplate {
        shell: ctx.shell("map", format!("{} {}", t.get("report-view-title"), view.id)),
        csrf,
        category: category_label(&t, &view.category),
        status: status_label(&t, view.status),
        unit: view.unit_code.clone(),
        due: view.due_on.clone(),
        overdue: view.overdue,
        description: view.description.clone(),
        answers,
        history,
        photos: view.photos.as_ref().map_or(0, Vec::len),
        can_rate: mine && view.status.is_settled() && view.rating.is_none(),
        mine,
        rating: view.rating,
        rating_error,
        id: view.id,
        t,
    };
    Ok(super::account::with_cookie(render(&tpl), cookie))
}

#[derive(Debug, Deserialize)]
pub struct RatingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

pub async fn rate(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    form: Result<Form<RatingForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let lang = ctx.lang;
    let Ok(Form(f)) = form else {
        return Ok(
            Redirect::to(&format!("/reports/{id}?rating_error=invalid_score#rating"))
                .into_response(),
        );
    };
    auth::check_csrf(&headers, &f.csrf).page(lang)?;
    let back = |code: Option<&str>| {
        let q = code
            .map(|c| format!("?rating_error={c}"))
            .unwrap_or_default();
        Redirect::to(&format!("/reports/{id}{q}#rating")).into_response()
    };
    let Ok(score) = f.score.trim().parse::<i64>() else {
        return Ok(back(Some("invalid_score")));
    };
    let comment = Some(f.comment.trim().to_owned()).filter(|c| !c.is_empty());
    let who = sohoa_app::Acting::new(&caller.0, addr.as_deref());
    let rated =
        sohoa_app::feedback::reports::rate(&state, who, &id, None, score, comment.as_deref())
            .await
            .map_err(AppError::from);
    match rated {
        Ok(_) => Ok(back(None)),
        Err(e) if RATING_ERRORS.contains(&e.code) => Ok(back(Some(e.code))),
        Err(e) => Err(e).page(lang),
    }
}
