//! The HTTP layer of sohoa: JSON API (described by an OpenAPI 3.1 document generated from
//! this code), server-rendered pages, health checks and metrics.
//!
//! Handlers are thin: they parse the request into domain types, call storage, and render.
//! Only this crate knows HTTP. [`router`] builds the one router that the binary serves and
//! the tests drive.

pub mod api;
pub mod auth;
pub mod csc_client;
pub mod csv;
pub mod error;
pub mod extract;
pub mod html;
pub mod i18n;
pub mod limit;
pub mod metrics;
pub mod oidc;
pub mod open311;
pub mod pages;
pub mod receipt;
mod state;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use sha2::{Digest, Sha256};
use sohoa_domain::policy::Action;

use crate::error::{AppError, InternalCause};
use crate::i18n::{query_lang, Lang};
use crate::metrics::RequestLabels;
pub use crate::state::{AppState, Shared};

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What the web layer needs from configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// SHA-256 of the administrator's bearer token; `None` disables administration.
    pub admin_token_sha256: Option<[u8; 32]>,
    /// A request still running after this long is answered 503.
    pub request_timeout: Duration,
    /// Requests one client address may make; `None` for no limit.
    pub rate_limit: Option<limit::Rate>,
    /// Sign-in attempts one client address may make.
    pub login_rate: Option<limit::Rate>,
    /// Served over TLS: browsers are told to use HTTPS only (HSTS).
    pub tls: bool,
    /// Citizens may sign in through this OpenID Connect provider.
    pub oidc: Option<Arc<oidc::Oidc>>,
    /// Where uploaded files are kept (the data directory's `files/`).
    pub files_dir: std::path::PathBuf,
    /// The payment gateway for online fees; none: fees are paid at the counter.
    pub payments: Option<Arc<dyn api::payments::PaymentGateway>>,
    /// VNPay, beside the generic gateway.
    pub vnpay: Option<api::rails::Vnpay>,
    /// The city's account for VietQR transfers.
    pub vietqr: Option<api::rails::VietQrAccount>,
    /// The address residents reach this server at (`https://dichvucong.example.vn`): links
    /// printed on paper (a receipt's QR code) need it.
    pub public_url: Option<String>,
    /// The anchors people's signatures are checked against, beside the city's root.
    pub trusted: Arc<sohoa_sign::Trust>,
    /// The remote signing provider applicants sign forms through (CSC API v2 base URL,
    /// `…/csc/v2`); none: they upload forms signed in their own tools.
    pub csc_url: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            admin_token_sha256: None,
            request_timeout: Duration::from_secs(30),
            rate_limit: Some(DEFAULT_RATE),
            login_rate: Some(limit::Rate::per_minute(30)),
            tls: false,
            oidc: None,
            files_dir: std::path::PathBuf::from("sohoa-data/files"),
            payments: None,
            vnpay: None,
            vietqr: None,
            public_url: None,
            trusted: Arc::default(),
            csc_url: None,
        }
    }
}

/// Per client address: enough for people behind one address and for an agency's busy
/// system, not for a flood.
pub const DEFAULT_RATE: limit::Rate = limit::Rate {
    per_second: 1000.0,
    burst: 2000.0,
};

pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares digests in constant time, so response timing says nothing about the token.
pub fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    sohoa_domain::identity::equal_in_constant_time(a, b)
}

/// What a route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// JSON (or, for `/metrics`, text) for programs: must be in the OpenAPI document.
    Api,
    /// HTML for people.
    Page,
    /// Embedded static files.
    Asset,
    /// Open311 GeoReport v2: documented by its specification, not by the OpenAPI document.
    Open311,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub kind: RouteKind,
    pub method: Method,
    pub path: &'static str,
    /// What the route does, as the policy knows it.
    pub action: Action,
    /// For a route that names one thing: the action of reading it. A caller refused both
    /// is answered 404, as for a thing that does not exist.
    pub absent_unless: Option<Action>,
}

/// One method of a route, with the action the guard checks before its handler runs.
pub(crate) struct Endpoint {
    method: Method,
    action: Action,
    router: MethodRouter<AppState>,
    absent: Option<(Action, &'static str)>,
}

macro_rules! endpoint_constructors {
    ($($name:ident => $method:ident),*) => {
        impl Endpoint {
            $(
                pub(crate) fn $name<H, T>(action: Action, handler: H) -> Self
                where
                    H: axum::handler::Handler<T, AppState>,
                    T: 'static,
                {
                    Self {
                        method: Method::$method,
                        action,
                        router: axum::routing::$name(handler),
                        absent: None,
                    }
                }
            )*
        }
    };
}
endpoint_constructors!(get => GET, post => POST, put => PUT, delete => DELETE);

impl Endpoint {
    /// Admits bodies up to `bytes` to this endpoint's extractors (a file upload form),
    /// above the router's default.
    pub(crate) fn body_limit(mut self, bytes: usize) -> Self {
        self.router = self.router.layer(DefaultBodyLimit::max(bytes));
        self
    }

    /// A caller whose role may never do this endpoint's action, nor even read the addressed
    /// thing (`read`), is answered as if it did not exist (404 `code`), as a caller who may
    /// not see one particular thing is: a refusal must not read differently from absence.
    pub(crate) fn absent_when_refused(mut self, read: Action, code: &'static str) -> Self {
        self.absent = Some((read, code));
        self
    }
}

/// Builds the router and, alongside it, the table of every route it serves, which the
/// OpenAPI test compares with the document.
struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Routes {
    /// Registers `path` with its endpoints; each endpoint's handler runs only after the
    /// guard has admitted the caller for the endpoint's action.
    fn add(
        mut self,
        kind: RouteKind,
        path: &'static str,
        endpoints: impl IntoIterator<Item = Endpoint>,
    ) -> Self {
        let mut methods = MethodRouter::new();
        for e in endpoints {
            self.table.push(RouteInfo {
                kind,
                method: e.method,
                path,
                action: e.action,
                absent_unless: e.absent.map(|(read, _)| read),
            });
            let (action, absent) = (e.action, e.absent);
            methods = methods.merge(e.router.route_layer(middleware::from_fn(
                move |req: Request, next: Next| auth::guard(kind, action, absent, req, next),
            )));
        }
        self.router = self.router.route(path, methods);
        self
    }
}

fn build() -> Routes {
    let routes = Routes {
        router: Router::new(),
        table: Vec::new(),
    };
    let routes = api::routes(routes);
    let routes = open311::routes(routes);
    pages::routes(routes)
}

/// Every route the router serves.
pub fn route_table() -> Vec<RouteInfo> {
    build().table
}

/// The application: routes, fallbacks and middleware, ready to serve.
pub fn router(state: AppState) -> Router {
    let hsts = state.config.tls;
    build()
        .router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            read_your_writes,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            headers(hsts, req, next)
        }))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri, lang: Lang) -> Response {
    let err = AppError::not_found("not_found");
    if is_api_path(uri.path()) {
        err.into_response()
    } else {
        html::error_page(err, lang)
    }
}

async fn method_not_allowed() -> AppError {
    AppError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
}

fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The header and cookie that carry, to a client and back, the primary's WAL position
/// after the client's last write.
pub const READ_AFTER_HEADER: &str = "sohoa-read-after";
const READ_AFTER_COOKIE: &str = "sohoa_read_after";

/// With read replicas: a request that carries the position of its client's last write has
/// its stale reads served only by replicas that replayed it (else by the primary); a write
/// that succeeded answers with the primary's position, as a header for API clients to send
/// back and as a cookie that browsers do.
async fn read_your_writes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.db.has_replicas() {
        return next.run(req).await;
    }
    let carried = req
        .headers()
        .get(READ_AFTER_HEADER)
        .and_then(|v| v.to_str().ok())
        .or_else(|| auth::cookie(req.headers(), READ_AFTER_COOKIE))
        .and_then(sohoa_storage::replicas::Lsn::parse);
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let mut res = sohoa_storage::replicas::read_after(carried, next.run(req)).await;
    if writes && res.status().is_success() {
        match state.db.wal_position().await {
            Ok(Some(lsn)) => {
                let text = lsn.to_string();
                if let Ok(v) = HeaderValue::from_str(&text) {
                    res.headers_mut().insert(READ_AFTER_HEADER, v);
                }
                let cookie = format!(
                    "{READ_AFTER_COOKIE}={text}; Path=/; HttpOnly; SameSite=Lax; Max-Age=300"
                );
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            Ok(None) => {}
            // The write stands; this client's next stale read may miss it for a moment.
            Err(e) => {
                tracing::warn!(error = %e, "the WAL position after a write could not be read")
            }
        }
    }
    res
}

/// Answers 429 with `Retry-After` to a client address over its rate. Health checks and
/// metrics are exempt: load balancers and Prometheus poll them from one address.
async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let exempt = matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics");
    let ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let (false, Some(ip)) = (exempt, ip) {
        if let Err(wait) = state.limiter.check(&ip) {
            tracing::warn!(target: "security", %ip, "rate limited");
            let err = AppError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited")
                .retry_after(limit::retry_after_secs(wait));
            return if is_api_path(req.uri().path()) {
                err.into_response()
            } else {
                let lang = Lang::negotiate(req.uri().query(), req.headers());
                html::error_page(err, lang)
            };
        }
    }
    next.run(req).await
}

/// Times out slow requests, counts and times every request by route, and logs each one
/// (with the cause of internal errors, which clients never see).
async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    // The guard of each route reads the state from here (routes are built without it).
    req.extensions_mut().insert(state.clone());
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let api = is_api_path(req.uri().path());
    let lang = Lang::negotiate(req.uri().query(), req.headers());
    let res = match tokio::time::timeout(state.config.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            let err = AppError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout");
            if api {
                err.into_response()
            } else {
                html::error_page(err, lang)
            }
        }
    };
    let elapsed = start.elapsed();
    let status = res.status();
    if let Some(InternalCause(cause)) = res.extensions().get::<InternalCause>() {
        tracing::error!(%method, %route, status = status.as_u16(), cause, "request failed");
    } else {
        tracing::info!(%method, %route, status = status.as_u16(), ms = elapsed.as_secs_f64() * 1e3, "request");
    }
    state.metrics.observe(
        RequestLabels {
            method: method.to_string(),
            route,
            status: status.as_u16().to_string(),
        },
        elapsed.as_secs_f64(),
    );
    res
}

/// Security headers on every response (HSTS too when serving TLS), and the language cookie when `?lang=` chose one.
async fn headers(hsts: bool, req: Request, next: Next) -> Response {
    let chosen = req.uri().query().and_then(query_lang);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(lang) = chosen {
        let cookie = format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
            lang.code()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, v);
        }
    }
    res
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` completes; requests in flight then finish
/// before this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(config) => {
            use axum::serve::ListenerExt;
            // tap_io is what lets ConnectInfo see the peer address of a custom listener.
            let listener = tls::TlsListener::new(listener, config)?.tap_io(|_| {});
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
