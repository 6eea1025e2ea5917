//! Server-rendered HTML pages. Templates live in `templates/` (askama, compiled in, escaped
//! by default) and take every word from the message catalog through `t`. Pages never touch
//! the database directly: they call the same storage functions as the API.

mod account;
mod agencies;
mod apidocs;
mod applications;
mod apply;
mod charts;
mod counter;
mod dashboards;
mod feedback;
mod home;
mod jobs;
mod labels;
mod procedures;
mod queue;
mod report;
mod signatures;
mod units;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::{Endpoint as E, RouteKind, Routes};

pub use crate::html::{
    display_date, encode_query, error_page, parse_query, render, PageCtx, Pager, Shell,
};

fn counter_routes(r: Routes) -> Routes {
    use sohoa_domain::policy::Action::{CounterIntake, ReadPublic, TakeTicket};
    use RouteKind::Page;
    r.add(
        Page,
        "/counter",
        [
            E::get(CounterIntake, counter::counter),
            E::post(CounterIntake, counter::counter_post),
        ],
    )
    .add(
        Page,
        "/counter/scan",
        [E::post(CounterIntake, counter::scan)
            .body_limit(crate::api::counter::MAX_SCAN + 64 * 1024)],
    )
    .add(
        Page,
        "/counter/receipts/{number}",
        [E::get(CounterIntake, counter::receipt)],
    )
    .add(
        Page,
        "/counters/{agency}/ticket",
        [
            E::get(ReadPublic, counter::kiosk),
            E::post(TakeTicket, counter::kiosk_take),
        ],
    )
    .add(
        Page,
        "/counters/{agency}/display",
        [E::get(ReadPublic, counter::display)],
    )
    .add(
        RouteKind::Asset,
        "/static/board.js",
        [E::get(ReadPublic, board_script)],
    )
}

/// Checking signed PDFs for anyone, and the city's certificates for its administrators.
fn signature_routes(r: Routes) -> Routes {
    use sohoa_domain::policy::Action::{ManageCertificates, ReadApplication, ReadPublic};
    use RouteKind::{Asset, Page};
    r.add(Asset, "/static/logo.svg", [E::get(ReadPublic, logo)])
        .add(
            Page,
            "/verify",
            [
                E::get(ReadPublic, applications::verify),
                E::post(ReadPublic, signatures::verify_pdf)
                    .body_limit(sohoa_app::signatures::MAX_PDF + 64 * 1024),
            ],
        )
        .add(
            Page,
            "/admin/certificates",
            [E::get(ManageCertificates, signatures::certificates)],
        )
        .add(
            Page,
            "/admin/certificates/{serial}/revoke",
            [E::post(ManageCertificates, signatures::revoke)],
        )
        .add(
            Page,
            "/me/applications/{number}/sign",
            [
                E::get(ReadApplication, signatures::sign)
                    .absent_when_refused(ReadApplication, "application_not_found"),
                E::post(ReadApplication, signatures::upload)
                    .absent_when_refused(ReadApplication, "application_not_found")
                    .body_limit(sohoa_app::signatures::MAX_PDF + 64 * 1024),
            ],
        )
        .add(
            Page,
            "/me/applications/{number}/form.pdf",
            [E::get(ReadApplication, signatures::form_pdf)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
}

pub(crate) fn routes(r: Routes) -> Routes {
    use sohoa_domain::policy::Action::{
        Apply, FileReport, ManageOwnConsents, OperateJobs, ProcessApplication, ReadApplication,
        ReadDashboard, ReadEvaluation, ReadOwnData, ReadPublic, SignIn, UseSession,
    };
    use RouteKind::{Asset, Page};
    let r = signature_routes(counter_routes(r));
    r.add(Page, "/", [E::get(ReadPublic, home::home)])
        .add(Page, "/units", [E::get(ReadPublic, units::list)])
        .add(Page, "/units/{code}", [E::get(ReadPublic, units::detail)])
        .add(Page, "/agencies", [E::get(ReadPublic, agencies::list)])
        .add(Page, "/map", [E::get(ReadPublic, feedback::map)])
        .add(
            Page,
            "/report",
            [
                E::get(ReadPublic, report::new_report),
                // Up to five photos of 5 MiB, and the form's fields.
                E::post(FileReport, report::file_report).body_limit(26 * 1024 * 1024),
            ],
        )
        .add(Page, "/reports/{id}", [E::get(FileReport, report::view)])
        .add(
            Page,
            "/reports/{id}/rating",
            [E::post(FileReport, report::rate)],
        )
        .add(Page, "/evaluation", [E::get(ReadPublic, feedback::public)])
        .add(
            Page,
            "/evaluation/full",
            [E::get(ReadEvaluation, feedback::full)],
        )
        .add(
            Page,
            "/dashboard",
            [E::get(ReadDashboard, dashboards::dashboard)],
        )
        .add(
            Page,
            "/dashboard/monitoring.csv",
            [E::get(ReadDashboard, dashboards::monitoring_csv)],
        )
        .add(
            Page,
            "/indicators",
            [E::get(ReadPublic, dashboards::indicators)],
        )
        .add(
            Page,
            "/indicators/{code}",
            [E::get(ReadPublic, dashboards::indicator)],
        )
        .add(Page, "/procedures", [E::get(ReadPublic, procedures::list)])
        .add(
            Page,
            "/procedures/{code}",
            [E::get(ReadPublic, procedures::detail)],
        )
        .add(
            Page,
            "/procedures/{code}/apply",
            [
                E::get(Apply, apply::apply_form),
                E::post(Apply, apply::apply_submit),
            ],
        )
        .add(Page, "/api/docs", [E::get(ReadPublic, apidocs::page)])
        .add(
            Page,
            "/payments/vnpay/return",
            [E::get(ReadPublic, applications::vnpay_return)],
        )
        .add(
            Page,
            "/status",
            [
                E::get(ReadPublic, applications::status_form),
                E::post(ReadPublic, applications::status_submit),
            ],
        )
        .add(
            Page,
            "/results/{number}",
            [E::get(ReadApplication, applications::result_page)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Page,
            "/results/{number}/{file}",
            [E::get(ReadApplication, applications::result_file)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(Asset, "/static/app.css", [E::get(ReadPublic, stylesheet)])
        .add(
            Asset,
            "/static/report.js",
            [E::get(ReadPublic, report_script)],
        )
        .add(
            Page,
            "/login",
            [
                E::get(ReadPublic, account::login_form),
                E::post(SignIn, account::login_submit),
            ],
        )
        .add(Page, "/login/oidc", [E::get(SignIn, account::oidc_start)])
        .add(
            Page,
            "/auth/oidc/callback",
            [E::get(SignIn, account::oidc_callback)],
        )
        .add(Page, "/logout", [E::post(UseSession, account::logout)])
        .add(Page, "/me", [E::get(UseSession, account::me)])
        .add(
            Page,
            "/me/assist-codes",
            [E::post(ManageOwnConsents, account::create_assist_code)],
        )
        .add(
            Page,
            "/me/documents",
            [E::post(ReadOwnData, account::upload_document)
                .body_limit(crate::api::documents::MAX_UPLOAD + 64 * 1024)],
        )
        .add(Page, "/queue", [E::get(ReadApplication, queue::queue)])
        .add(Page, "/admin/jobs", [E::get(OperateJobs, jobs::list)])
        .add(Page, "/admin/jobs/{id}", [E::post(OperateJobs, jobs::act)])
        .add(
            Page,
            "/queue/{number}",
            [E::get(ReadApplication, queue::queue_item)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Page,
            "/queue/{number}/act",
            [E::post(ProcessApplication, queue::queue_act)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Page,
            "/me/consents/{consent_id}/revoke",
            [E::post(ManageOwnConsents, account::revoke_consent)],
        )
}

const APP_CSS: &str = include_str!("../../static/app.css");

/// One part of a multipart form (an upload form), read whole.
pub(crate) struct Part {
    pub name: String,
    pub content_type: String,
    /// Empty for a plain field, and for a file input left empty.
    pub file_name: String,
    pub bytes: axum::body::Bytes,
}

impl Part {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Why a multipart form could not be read.
pub(crate) enum FormTrouble {
    /// Larger than the route admits.
    TooLarge,
    Unreadable,
}

/// Reads every part of an upload form, within the route's body limit. The parts read before
/// a trouble are kept: the CSRF token comes first, so a refusal can still be answered on
/// the form rather than as a forged request.
pub(crate) async fn read_parts(
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> (Vec<Part>, Option<FormTrouble>) {
    let mut parts = Vec::new();
    let trouble = read_into(form, &mut parts).await.err();
    (parts, trouble)
}

async fn read_into(
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
    parts: &mut Vec<Part>,
) -> Result<(), FormTrouble> {
    let trouble = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FormTrouble::TooLarge
        } else {
            FormTrouble::Unreadable
        }
    };
    let mut form = form.map_err(|_| FormTrouble::Unreadable)?;
    while let Some(field) = form.next_field().await.map_err(trouble)? {
        let name = field.name().unwrap_or_default().to_owned();
        let content_type = field
            .content_type()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(trouble)?;
        parts.push(Part {
            name,
            content_type,
            file_name,
            bytes,
        });
    }
    Ok(())
}

const REPORT_JS: &str = include_str!("../../static/report.js");

const BOARD_JS: &str = include_str!("../../static/board.js");

async fn board_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        BOARD_JS,
    )
        .into_response()
}

async fn report_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        REPORT_JS,
    )
        .into_response()
}

/// The platform's logo: what the remote signing service's `info` names.
const LOGO_SVG: &str = include_str!("../../static/logo.svg");

async fn logo() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        LOGO_SVG,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
        .into_response()
}
