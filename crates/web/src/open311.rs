//! Open311 GeoReport v2, as the specification names it (<https://wiki.open311.org/GeoReport_v2>),
//! so that existing Open311 clients work unchanged: services and their attributes, filing a
//! request (form-encoded, with an agency's `api_key`), reading requests, and tokens. Each
//! resource answers in XML (the specification's format) or JSON, by its extension. Errors
//! are the specification's list of `{code, description}`.
//!
//! Requests are sohoa's reports: this module only translates, and files through the one
//! use case ([`sohoa_app::feedback::file`]), so every door applies the same rules.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sohoa_domain::feedback::report::{Category, ReportStatus};
use sohoa_domain::Timestamp;
use sohoa_storage::feedback::{Report, Search};

use crate::error::AppError;
use crate::extract::ClientAddr;
use crate::i18n::Lang;
use crate::{AppState, Endpoint as E, RouteKind, Routes};
use sohoa_app::feedback::{public, Filing};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// A response body both formats can be written from.
enum Node {
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    Null,
    /// Elements named `item` in XML, an array in JSON.
    List(&'static str, Vec<Node>),
    Map(Vec<(&'static str, Node)>),
}

fn text(s: impl Into<String>) -> Node {
    Node::Text(s.into())
}

fn opt(s: Option<impl Into<String>>) -> Node {
    s.map_or(Node::Null, text)
}

impl Node {
    fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Text(s) => Value::String(s.clone()),
            Node::Number(n) => serde_json::json!(n),
            Node::Int(n) => serde_json::json!(n),
            Node::Bool(b) => Value::Bool(*b),
            Node::Null => Value::Null,
            Node::List(_, items) => Value::Array(items.iter().map(Node::json).collect()),
            Node::Map(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.json()))
                    .collect(),
            ),
        }
    }

    fn xml(&self, tag: &str, out: &mut String) {
        out.push('<');
        out.push_str(tag);
        out.push('>');
        match self {
            Node::Text(s) => escape(s, out),
            Node::Number(n) => out.push_str(&n.to_string()),
            Node::Int(n) => out.push_str(&n.to_string()),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Null => {}
            Node::List(item, items) => items.iter().for_each(|n| n.xml(item, out)),
            Node::Map(fields) => fields.iter().for_each(|(k, v)| v.xml(k, out)),
        }
        out.push_str("</");
        out.push_str(tag);
        out.push('>');
    }
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters at all.
            c if c.is_control() && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
}

fn render(format: Format, status: StatusCode, root: &str, body: Node) -> Response {
    let (content_type, text) = match format {
        Format::Json => ("application/json; charset=utf-8", body.json().to_string()),
        Format::Xml => {
            let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            body.xml(root, &mut s);
            ("text/xml; charset=utf-8", s)
        }
    };
    let mut res = (status, text).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// The specification's error list. Its codes are HTTP's: 400 for anything wrong in the
/// request, 403 for a bad key, 404 for what does not exist.
fn error(format: Format, e: &AppError) -> Response {
    let status = match e.status.as_u16() {
        401 | 403 => StatusCode::FORBIDDEN,
        404 => StatusCode::NOT_FOUND,
        s if s >= 500 => e.status,
        _ => StatusCode::BAD_REQUEST,
    };
    if status.is_server_error() {
        tracing::error!(
            code = e.code,
            cause = e.internal.as_deref().unwrap_or(""),
            "open311"
        );
    }
    let mut description = format!("{}: {}", e.code, e.message(Lang::En));
    if let Some(f) = &e.field {
        description.push_str(&format!(" ({f})"));
    }
    if let Some(d) = &e.detail {
        description.push_str(&format!(" - {d}"));
    }
    let body = Node::List(
        "error",
        vec![Node::Map(vec![
            ("code", Node::Int(i64::from(status.as_u16()))),
            ("description", text(description)),
        ])],
    );
    render(format, status, "errors", body)
}

/// Splits `name.json` / `name.xml`.
fn split(file: &str) -> Option<(&str, Format)> {
    let (name, ext) = file.rsplit_once('.')?;
    let format = match ext {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return None,
    };
    (!name.is_empty()).then_some((name, format))
}

fn not_found(format: Format) -> Response {
    error(format, &AppError::not_found("open311_not_found"))
}

/// ISO 8601 with the city's offset, as Open311 clients expect local times.
fn local_time(t: Timestamp) -> Option<String> {
    let local = t.datetime().to_offset(sohoa_domain::timestamp::VIETNAM);
    local
        .replace_nanosecond(0)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

fn service(c: &Category) -> Node {
    Node::Map(vec![
        ("service_code", text(&c.code)),
        (
            "service_name",
            text(format!("{} / {}", c.name_vi, c.name_en)),
        ),
        ("description", text(&c.description)),
        ("metadata", Node::Bool(!c.attributes.is_empty())),
        ("type", text("realtime")),
        ("keywords", text(&c.keywords)),
        ("group", text(&c.group)),
    ])
}

fn definition(c: &Category) -> Node {
    let attributes = c
        .attributes
        .iter()
        .map(|a| {
            Node::Map(vec![
                ("variable", Node::Bool(a.variable)),
                ("code", text(&a.code)),
                ("datatype", text(a.datatype.as_str())),
                ("required", Node::Bool(a.required)),
                ("datatype_description", text(&a.datatype_description)),
                ("order", Node::Int(i64::from(a.order))),
                ("description", text(&a.description)),
                (
                    "values",
                    Node::List(
                        "value",
                        a.values
                            .iter()
                            .map(|v| {
                                Node::Map(vec![("key", text(&v.key)), ("name", text(&v.name))])
                            })
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    Node::Map(vec![
        ("service_code", text(&c.code)),
        ("attributes", Node::List("attribute", attributes)),
    ])
}

fn request(r: &Report, categories: &[Category]) -> Node {
    let name = categories
        .iter()
        .find(|c| c.code == r.category_code)
        .map(|c| format!("{} / {}", c.name_vi, c.name_en));
    let expected = format!("{}T17:00:00+07:00", r.due_on);
    Node::Map(vec![
        ("service_request_id", text(&r.id)),
        ("status", text(r.status.open311())),
        ("status_notes", opt(r.status_note.clone())),
        ("service_name", opt(name)),
        ("service_code", text(&r.category_code)),
        ("description", text(&r.description)),
        ("agency_responsible", text(r.agency_code.as_str())),
        ("service_notice", Node::Null),
        ("requested_datetime", opt(local_time(r.created_at))),
        ("updated_datetime", opt(local_time(r.updated_at))),
        ("expected_datetime", text(expected)),
        ("address", opt(r.address.clone())),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", Node::Number(r.lat)),
        ("long", Node::Number(r.lon)),
        ("media_url", opt(r.media_url.clone())),
    ])
}

/// `GET /open311/v2/services.{json,xml}` and `GET /open311/v2/requests.{json,xml}`: one
/// route, as the router matches whole path segments.
pub async fn get_root(state: State<AppState>, file: Path<String>, query: RawQuery) -> Response {
    match split(&file.0) {
        Some(("services", _)) => services(state, file).await,
        Some(("requests", _)) => get_requests(state, file, query).await,
        Some((_, format)) => not_found(format),
        None => not_found(Format::Json),
    }
}

async fn services(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(("services", format)) = split(&file) else {
        return not_found(Format::Json);
    };
    match public::categories(&state).await {
        Ok(cs) => render(
            format,
            StatusCode::OK,
            "services",
            Node::List("service", cs.iter().map(service).collect()),
        ),
        Err(e) => error(format, &e.into()),
    }
}

/// `GET /open311/v2/services/{service_code}.{json,xml}`
pub async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Response {
    let Some((code, format)) = split(&file) else {
        return not_found(Format::Json);
    };
    match public::categories(&state).await {
        Ok(cs) => match cs.iter().find(|c| c.code == code) {
            Some(c) => render(format, StatusCode::OK, "service_definition", definition(c)),
            None => error(format, &AppError::not_found("report_category_not_found")),
        },
        Err(e) => error(format, &e.into()),
    }
}

/// The request body's fields; repeated `attribute[code]` (or `attribute[code][]`) collect.
fn form(body: &[u8]) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let mut fields = BTreeMap::new();
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if let Some(code) = k
            .strip_prefix("attribute[")
            .and_then(|r| r.strip_suffix("][]").or_else(|| r.strip_suffix(']')))
        {
            attributes
                .entry(code.to_owned())
                .or_default()
                .push(v.into_owned());
        } else {
            fields.insert(k.into_owned(), v.into_owned());
        }
    }
    (fields, attributes)
}

/// `POST /open311/v2/requests.{json,xml}`: form-encoded; `api_key` is an agency's key.
pub async fn post_request(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Path(file): Path<String>,
    body: Bytes,
) -> Response {
    let Some(("requests", format)) = split(&file) else {
        return not_found(Format::Json);
    };
    match file_request(&state, addr, &headers, &body).await {
        Ok(r) => render(
            format,
            StatusCode::CREATED,
            "service_requests",
            Node::List(
                "request",
                vec![Node::Map(vec![
                    ("service_request_id", text(&r.report.id)),
                    ("token", text(&r.report.token)),
                    ("service_notice", Node::Null),
                    ("account_id", Node::Null),
                    // An extension: the code the client gives its user to follow up
                    // (rate, reopen) without an account.
                    ("reporter_code", text(&r.reporter_code)),
                ])],
            ),
        ),
        Err(e) => error(format, &e),
    }
}

async fn file_request(
    state: &AppState,
    addr: Option<String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<sohoa_app::feedback::Filed, AppError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ));
    }
    let (fields, attributes) = form(body);
    let get = |k: &str| {
        fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let key =
        get("api_key").ok_or_else(|| AppError::new(StatusCode::FORBIDDEN, "api_key_required"))?;
    let key = key
        .strip_prefix("sohoa_")
        .ok_or_else(|| AppError::new(StatusCode::FORBIDDEN, "unknown_agency"))?;
    let principal = crate::auth::agency_system(state, key, headers).await?;
    let channel = format!(
        "open311:{}",
        principal.agency().map(|a| a.as_str()).unwrap_or("-")
    );
    let coordinate = |k: &'static str| -> Result<Option<f64>, AppError> {
        get(k)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| AppError::unprocessable("invalid_location").field(k))
            })
            .transpose()
    };
    let service_code = get("service_code")
        .ok_or_else(|| AppError::bad_request("service_code_required").field("service_code"))?;
    let name = match (get("first_name"), get("last_name")) {
        (Some(f), Some(l)) => Some(format!("{l} {f}")),
        (f, l) => f.or(l),
    };
    let who = sohoa_app::Acting::new(&principal, addr.as_deref());
    sohoa_app::feedback::file(
        state,
        who,
        Filing {
            category: service_code,
            lat: coordinate("lat")?,
            lon: coordinate("long")?,
            address: get("address_string"),
            description: get("description"),
            attributes,
            email: get("email"),
            phone: get("phone"),
            name,
            media_url: get("media_url"),
            channel,
        },
    )
    .await
    .map_err(AppError::from)
}

/// `GET /open311/v2/requests.{json,xml}` with the specification's filters.
async fn get_requests(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(("requests", format)) = split(&file) else {
        return not_found(Format::Json);
    };
    let query = query.unwrap_or_default();
    let fields: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    match list_requests(&state, &fields).await {
        Ok(node) => render(format, StatusCode::OK, "service_requests", node),
        Err(e) => error(format, &e),
    }
}

fn list_of(s: Option<&String>) -> Vec<String> {
    s.map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

async fn list_requests(
    state: &AppState,
    fields: &BTreeMap<String, String>,
) -> Result<Node, AppError> {
    let categories = public::categories(state).await?;
    let ids = list_of(fields.get("service_request_id"));
    let mut search = Search {
        limit: 1000,
        ..Search::default()
    };
    if !ids.is_empty() {
        // The specification: with ids, every other parameter is ignored.
        if ids.len() > 1000 {
            return Err(AppError::bad_request("invalid_query").field("service_request_id"));
        }
        search.ids = ids;
    } else {
        search.categories = list_of(fields.get("service_code"));
        for s in list_of(fields.get("status")) {
            let st = ReportStatus::from_open311(&s)
                .ok_or_else(|| AppError::bad_request("invalid_report_status").field("status"))?;
            search.statuses.extend_from_slice(st);
        }
        let time = |k: &'static str| -> Result<Option<Timestamp>, AppError> {
            fields
                .get(k)
                .map(|v| {
                    Timestamp::parse(v.trim())
                        .map_err(|_| AppError::bad_request("invalid_date").field(k))
                })
                .transpose()
        };
        let (start, end) = (time("start_date")?, time("end_date")?);
        // Without dates, the most recent 90 days (the specification's default).
        let start = match (start, end) {
            (None, None) => Some(Timestamp::from_datetime(
                Timestamp::now().datetime() - time::Duration::days(90),
            )),
            (s, _) => s,
        };
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(AppError::bad_request("invalid_date").field("start_date"));
            }
        }
        search.start = start.map(|t| t.to_string());
        search.end = end.map(|t| t.to_string());
    }
    let rows = public::search(state, &search).await?;
    Ok(Node::List(
        "request",
        rows.iter().map(|r| request(r, &categories)).collect(),
    ))
}

/// `GET /open311/v2/requests/{service_request_id}.{json,xml}`
pub async fn get_request(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((id, format)) = split(&file) else {
        return not_found(Format::Json);
    };
    let found = async {
        let categories = public::categories(&state).await?;
        let r = public::get(&state, id).await?;
        Ok::<_, AppError>(request(&r, &categories))
    }
    .await;
    match found {
        Ok(node) => render(
            format,
            StatusCode::OK,
            "service_requests",
            Node::List("request", vec![node]),
        ),
        Err(e) => error(format, &e),
    }
}

/// `GET /open311/v2/tokens/{token}.{json,xml}`
pub async fn get_token(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some((token, format)) = split(&file) else {
        return not_found(Format::Json);
    };
    match public::by_token(&state, token).await {
        Ok(id) => render(
            format,
            StatusCode::OK,
            "service_requests",
            Node::List(
                "request",
                vec![Node::Map(vec![
                    ("service_request_id", text(id)),
                    ("token", text(token)),
                ])],
            ),
        ),
        Err(e) => error(format, &e.into()),
    }
}

/// Open311's routes: documented by its specification, not by the OpenAPI document.
pub(crate) fn routes(r: Routes) -> Routes {
    use sohoa_domain::policy::Action::{FileReport, ReadPublic};
    use RouteKind::Open311;
    r.add(
        Open311,
        "/open311/v2/{file}",
        [
            E::get(ReadPublic, get_root),
            E::post(FileReport, post_request),
        ],
    )
    .add(
        Open311,
        "/open311/v2/services/{file}",
        [E::get(ReadPublic, service_definition)],
    )
    .add(
        Open311,
        "/open311/v2/requests/{file}",
        [E::get(ReadPublic, get_request)],
    )
    .add(
        Open311,
        "/open311/v2/tokens/{file}",
        [E::get(ReadPublic, get_token)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped_and_nested() {
        let n = Node::List(
            "request",
            vec![Node::Map(vec![
                ("description", text("<a & b>")),
                ("lat", Node::Number(10.5)),
                ("media_url", Node::Null),
            ])],
        );
        let mut s = String::new();
        n.xml("service_requests", &mut s);
        assert_eq!(
            s,
            "<service_requests><request><description>&lt;a &amp; b&gt;</description>\
             <lat>10.5</lat><media_url></media_url></request></service_requests>"
        );
        assert_eq!(split("services.json"), Some(("services", Format::Json)));
        assert_eq!(split("PA-1.xml"), Some(("PA-1", Format::Xml)));
        assert_eq!(split("services.csv"), None);
    }

    #[test]
    fn attributes_are_collected_from_the_form() {
        let (f, a) =
            form(b"api_key=k&attribute%5Bdepth%5D=knee&attribute[kinds][]=a&attribute[kinds][]=b");
        assert_eq!(f["api_key"], "k");
        assert_eq!(a["depth"], vec!["knee"]);
        assert_eq!(a["kinds"], vec!["a", "b"]);
    }
}
