//! The JSON API. Every route here is registered through [`crate::Routes`] and documented by
//! `#[utoipa::path]`; the OpenAPI test fails if the two ever differ.

pub mod agencies;
pub mod applications;
pub mod audit;
pub mod counter;
pub mod csc;
pub mod documents;
pub mod evaluation;
pub mod forecasts;
pub mod health;
pub mod indicators;
pub mod jobs;
pub mod me;
pub mod monitoring;
pub mod payments;
pub mod procedures;
pub mod rails;
pub mod registry;
pub mod reports;
pub mod results;
pub mod sdmx;
pub mod session;
pub mod sharing;
pub mod signatures;
pub mod staff;
pub mod tasks;
pub mod tickets;
pub mod units;

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use sohoa_domain::policy::Action;
use time::{macros::format_description, Date};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{AppError, ErrorBody, ErrorDetail};
use crate::{Endpoint as E, RouteKind, Routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sohoa API",
        description = "Digital-government platform for Ho Chi Minh City. Errors have the shape \
                       {\"error\": {\"code\", \"message_vi\", \"message_en\"}}; lists are paged \
                       with `page` (from 1) and `per_page` (1-200).",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    paths(
        health::healthz,
        health::readyz,
        health::metrics,
        openapi_json,
        jobs::counts,
        jobs::list,
        jobs::retry,
        jobs::cancel,
        units::list,
        units::get_unit,
        units::history,
        agencies::list,
        agencies::create,
        agencies::get_agency,
        sharing::create_key,
        sharing::revoke_key,
        sharing::create_enterprise_key,
        sharing::token,
        sharing::revoke_enterprise_key,
        sharing::create_grant,
        sharing::list_grants,
        sharing::revoke_grant,
        sharing::share_record,
        registry::search_citizens,
        me::create_account,
        me::start_activation,
        me::activate,
        session::login,
        session::logout,
        session::whoami,
        session::totp_enrol,
        session::totp_confirm,
        session::totp_disable,
        staff::create,
        staff::list,
        staff::disable,
        audit::list,
        procedures::list,
        procedures::get_procedure,
        procedures::put_procedure,
        applications::create,
        applications::list,
        applications::get_application,
        applications::transition,
        applications::assign,
        applications::bulk,
        applications::public_status,
        applications::create_assist_code,
        applications::get_document,
        documents::upload,
        documents::list,
        documents::get_document,
        payments::start,
        payments::webhook,
        payments::counter,
        rails::start,
        rails::ipn,
        rails::vietqr,
        rails::decode,
        counter::identify,
        counter::file,
        counter::confirm,
        counter::resend_code,
        counter::handover,
        counter::scan,
        counter::receipt,
        counter::own_receipt,
        tickets::take,
        tickets::board,
        tickets::call,
        tickets::served,
        tickets::no_show,
        tickets::waits,
        results::get_result,
        results::ca_pem,
        results::verify,
        signatures::verify,
        signatures::tsa,
        signatures::crl,
        signatures::certificates,
        signatures::revoke,
        signatures::form_pdf,
        signatures::upload_signed,
        csc::info,
        csc::list,
        csc::credential_info,
        csc::authorize,
        csc::sign_hash,
        csc::enrol,
        csc::sign_remotely,
        me::notifications,
        me::mark_notifications_read,
        me::access_log,
        me::create_consent,
        me::list_consents,
        me::revoke_consent,
        reports::create,
        reports::queue,
        reports::get_report,
        reports::transition,
        reports::forward,
        reports::rate,
        reports::reopen,
        reports::support,
        reports::add_photo,
        reports::get_photo,
        reports::nearby,
        reports::geojson,
        reports::boundaries,
        reports::list_routes,
        reports::put_route,
        evaluation::rate_application,
        evaluation::full,
        evaluation::public,
        monitoring::monitoring,
        indicators::catalog,
        indicators::get_indicator,
        indicators::put_indicator,
        indicators::enter_values,
        indicators::import,
        indicators::values,
        indicators::pending,
        indicators::history,
        indicators::review,
        indicators::export_csv,
        indicators::sdmx_data,
        indicators::sdmx_structure,
        forecasts::forecast,
        forecasts::what_if,
        tasks::assign,
        tasks::list,
        tasks::report,
        tasks::scorecard,
    ),
    // The identifiers' schemas, stated by the domain types that parse them; queries and
    // paths refer to them, and only bodies' schemas are collected without being named.
    components(schemas(
        ErrorBody,
        ErrorDetail,
        sohoa_domain::CitizenId,
        sohoa_domain::TaxCode,
        sohoa_domain::UnitCode,
        sohoa_domain::agency::AgencyCode,
        sohoa_domain::services::procedure::ProcedureCode,
        sohoa_domain::services::application::ApplicationNumber,
        sohoa_domain::services::application::LookupCode,
        sohoa_domain::sharing::Purpose,
        sohoa_domain::feedback::evaluation::Month,
        sohoa_domain::identity::Username,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, readiness and metrics; the background jobs"),
        (name = "units", description = "Administrative units with validity dates"),
        (name = "agencies", description = "Departments and People's Committees"),
        (name = "identity", description = "Accounts and sessions of citizens and staff, citizens' access log and consents, the audit log"),
        (name = "registries", description = "Base registries: searching citizens"),
        (name = "services", description = "Online public services: the procedure catalog and applications"),
        (name = "counter", description = "The one-stop counter: in-person intake on the online path, confirmation on the spot, paper results handed over"),
        (name = "signatures", description = "Signatures anyone can check: PDF signatures (PAdES) verified, the city's RFC 3161 time-stamping authority, its revocation list and certificates"),
        (name = "feedback", description = "Residents' reports (also through Open311 GeoReport v2 at /open311/v2), their map, and the service evaluation"),
        (name = "dashboards", description = "Leaders' dashboards: live procedure monitoring, socio-economic indicators, strategic tasks, forecasts"),
        (name = "sharing", description = "Once-only data sharing: keys, grants, and the audited share endpoints"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document, serialized once.
pub fn openapi_document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|_| "{}".to_owned())
    })
}

/// The OpenAPI 3.1 document describing this API.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi_document(),
    )
}

pub(crate) fn routes(r: Routes) -> Routes {
    use Action::*;
    use RouteKind::Api;
    let r = signature_routes(counter_capability(jobs_routes(feedback_routes(r))));
    r.add(Api, "/healthz", [E::get(ReadPublic, health::healthz)])
        .add(Api, "/readyz", [E::get(ReadPublic, health::readyz)])
        .add(Api, "/metrics", [E::get(ReadPublic, health::metrics)])
        .add(Api, "/api/openapi.json", [E::get(ReadPublic, openapi_json)])
        .add(Api, "/api/v1/units", [E::get(ReadPublic, units::list)])
        .add(
            Api,
            "/api/v1/units/{code}",
            [E::get(ReadPublic, units::get_unit)],
        )
        .add(
            Api,
            "/api/v1/units/{code}/history",
            [E::get(ReadPublic, units::history)],
        )
        .add(
            Api,
            "/api/v1/agencies",
            [
                E::get(ReadPublic, agencies::list),
                E::post(ManageAgencies, agencies::create),
            ],
        )
        .add(
            Api,
            "/api/v1/agencies/{code}",
            [E::get(ReadPublic, agencies::get_agency)],
        )
        .add(
            Api,
            "/api/v1/agencies/{code}/keys",
            [E::post(ManageAgencyAccess, sharing::create_key)],
        )
        .add(
            Api,
            "/api/v1/agencies/{code}/keys/{key_id}",
            [E::delete(ManageAgencyAccess, sharing::revoke_key)],
        )
        .add(
            Api,
            "/api/v1/agencies/{code}/grants",
            [
                E::get(ReadAgencyAccess, sharing::list_grants),
                E::post(ManageAgencyAccess, sharing::create_grant),
            ],
        )
        .add(
            Api,
            "/api/v1/grants/{grant_id}",
            [E::delete(ManageAgencyAccess, sharing::revoke_grant)],
        )
        .add(
            Api,
            "/api/v1/enterprise-consumers/{tax_code}/keys",
            [E::post(
                ManageEnterpriseAccess,
                sharing::create_enterprise_key,
            )],
        )
        .add(
            Api,
            "/api/v1/enterprise-consumers/{tax_code}/keys/{key_id}",
            [E::delete(
                ManageEnterpriseAccess,
                sharing::revoke_enterprise_key,
            )],
        )
        .add(
            Api,
            "/api/v1/share/{registry}/{id}",
            [E::get(ReadRegistry, sharing::share_record)],
        )
        .add(
            Api,
            "/api/v1/registry/citizens",
            [E::get(SearchRegistry, registry::search_citizens)],
        )
        .add(
            Api,
            "/api/v1/accounts/citizens",
            [E::post(CreateCitizenAccount, me::create_account)],
        )
        .add(
            Api,
            "/api/v1/accounts/citizens/activations",
            [E::post(StartAccountActivation, me::start_activation)],
        )
        .add(
            Api,
            "/api/v1/accounts/citizens/activate",
            [E::post(SignIn, me::activate)],
        )
        .add(Api, "/api/v1/auth/login", [E::post(SignIn, session::login)])
        .add(Api, "/oauth/token", [E::post(SignIn, sharing::token)])
        .add(
            Api,
            "/api/v1/auth/logout",
            [E::post(UseSession, session::logout)],
        )
        .add(
            Api,
            "/api/v1/auth/session",
            [E::get(UseSession, session::whoami)],
        )
        .add(
            Api,
            "/api/v1/auth/totp",
            [E::post(UseSession, session::totp_enrol)],
        )
        .add(
            Api,
            "/api/v1/auth/totp/confirm",
            [E::post(UseSession, session::totp_confirm)],
        )
        .add(
            Api,
            "/api/v1/auth/totp/disable",
            [E::post(UseSession, session::totp_disable)],
        )
        .add(
            Api,
            "/api/v1/staff",
            [
                E::get(ReadStaff, staff::list),
                E::post(ManageStaff, staff::create),
            ],
        )
        .add(
            Api,
            "/api/v1/staff/{username}",
            [E::delete(ManageStaff, staff::disable)],
        )
        .add(Api, "/api/v1/audit", [E::get(ReadAuditLog, audit::list)])
        .add(
            Api,
            "/api/v1/procedures",
            [E::get(ReadPublic, procedures::list)],
        )
        .add(
            Api,
            "/api/v1/procedures/{code}",
            [
                E::get(ReadPublic, procedures::get_procedure),
                E::put(ManageCatalog, procedures::put_procedure),
            ],
        )
        .add(
            Api,
            "/api/v1/applications",
            [
                E::post(Apply, applications::create),
                E::get(ReadApplication, applications::list),
            ],
        )
        .add(
            Api,
            "/api/v1/applications/{number}",
            [E::get(ReadApplication, applications::get_application)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Api,
            "/api/v1/applications/{number}/transitions",
            [E::post(ReadApplication, applications::transition)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Api,
            "/api/v1/applications/{number}/assignee",
            [E::put(ProcessApplication, applications::assign)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Api,
            "/api/v1/applications/bulk",
            [E::post(ProcessApplication, applications::bulk)],
        )
        .add(
            Api,
            "/api/v1/application-status",
            [E::post(ReadPublic, applications::public_status)],
        )
        .add(
            Api,
            "/api/v1/me/assist-codes",
            [E::post(ManageOwnConsents, applications::create_assist_code)],
        )
        .add(
            Api,
            "/api/v1/me/documents",
            [
                E::post(ReadOwnData, documents::upload),
                E::get(ReadOwnData, documents::list),
            ],
        )
        .add(
            Api,
            "/api/v1/me/documents/{document_id}",
            [E::get(ReadOwnData, documents::get_document)],
        )
        .add(
            Api,
            "/api/v1/applications/{number}/documents/{document_id}",
            [E::get(ReadApplication, applications::get_document)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Api,
            "/api/v1/applications/{number}/payments",
            [E::post(Apply, payments::start)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Api,
            "/api/v1/applications/{number}/counter-payments",
            [E::post(ProcessApplication, payments::counter)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Api,
            "/api/v1/payments/webhook",
            [E::post(ReadPublic, payments::webhook)],
        )
        .add(
            Api,
            "/api/v1/applications/{number}/result",
            [E::get(ReadApplication, results::get_result)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
        .add(
            Api,
            "/api/v1/pki/ca.pem",
            [E::get(ReadPublic, results::ca_pem)],
        )
        .add(
            Api,
            "/api/v1/me/notifications",
            [E::get(ReadOwnData, me::notifications)],
        )
        .add(
            Api,
            "/api/v1/me/notifications/read",
            [E::post(ReadOwnData, me::mark_notifications_read)],
        )
        .add(
            Api,
            "/api/v1/results/verify",
            [E::post(ReadPublic, results::verify)],
        )
        .add(
            Api,
            "/api/v1/me/access-log",
            [E::get(ReadOwnData, me::access_log)],
        )
        .add(
            Api,
            "/api/v1/me/consents",
            [
                E::get(ReadOwnData, me::list_consents),
                E::post(ManageOwnConsents, me::create_consent),
            ],
        )
        .add(
            Api,
            "/api/v1/me/consents/{consent_id}",
            [E::delete(ManageOwnConsents, me::revoke_consent)],
        )
}

/// Parses a `YYYY-MM-DD` parameter; `None` means today in Viet Nam.
pub fn parse_day(s: Option<&str>, field: &str) -> Result<Date, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(today()),
        Some(s) => Date::parse(s, format_description!("[year]-[month]-[day]"))
            .map_err(|_| AppError::bad_request("invalid_date").field(field)),
    }
}

/// A keyset cursor for clients: the last row's sort key and id, opaque (hex) so nobody
/// builds one by hand.
pub(crate) fn encode_cursor((key, id): &(String, String)) -> String {
    sohoa_domain::hex_encode(format!("{key}\u{1f}{id}").as_bytes())
}

pub(crate) fn decode_cursor(s: &str) -> Option<(String, String)> {
    let bytes = sohoa_domain::hex_decode(s)?;
    let text = String::from_utf8(bytes).ok()?;
    let (key, id) = text.split_once('\u{1f}')?;
    Some((key.to_owned(), id.to_owned()))
}

/// A request body of raw bytes (an uploaded file): `type: string, format: binary`, the
/// form generated clients send a file in.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// Today's date in Ho Chi Minh City.
pub fn today() -> Date {
    sohoa_domain::timestamp::today()
}

pub use sohoa_domain::registry::date_text;

/// The background jobs, for the city's administrators.
fn rails_routes(r: Routes) -> Routes {
    use Action::{Apply, ReadApplication, ReadPublic};
    use RouteKind::Api;
    r.add(
        Api,
        "/api/v1/applications/{number}/payments/vnpay",
        [E::post(Apply, rails::start)
            .absent_when_refused(ReadApplication, "application_not_found")],
    )
    .add(
        Api,
        "/api/v1/applications/{number}/vietqr",
        [E::get(Apply, rails::vietqr)
            .absent_when_refused(ReadApplication, "application_not_found")],
    )
    .add(
        Api,
        "/api/v1/payments/vnpay/ipn",
        [E::get(ReadPublic, rails::ipn)],
    )
    .add(
        Api,
        "/api/v1/vietqr/decode",
        [E::post(ReadPublic, rails::decode)],
    )
}

/// The one-stop counter's routes: intake, payment rails, waiting lines.
/// sohoa's own remote signing service (CSC API v2), and applicants signing through one.
fn csc_routes(r: Routes) -> Routes {
    use Action::{ReadApplication, ReadPublic, UseSession};
    use RouteKind::Api;
    r.add(Api, "/csc/v2/info", [E::post(ReadPublic, csc::info)])
        .add(
            Api,
            "/csc/v2/credentials/list",
            [E::post(UseSession, csc::list)],
        )
        .add(
            Api,
            "/csc/v2/credentials/info",
            [E::post(UseSession, csc::credential_info)],
        )
        .add(
            Api,
            "/csc/v2/credentials/authorize",
            [E::post(UseSession, csc::authorize)],
        )
        .add(
            Api,
            "/csc/v2/signatures/signHash",
            [E::post(UseSession, csc::sign_hash)],
        )
        .add(
            Api,
            "/api/v1/me/signing-credentials",
            [E::post(UseSession, csc::enrol)],
        )
        .add(
            Api,
            "/api/v1/applications/{number}/signature/remote",
            [E::post(ReadApplication, csc::sign_remotely)
                .absent_when_refused(ReadApplication, "application_not_found")],
        )
}

fn signature_routes(r: Routes) -> Routes {
    use Action::{ManageCertificates, ReadApplication, ReadPublic};
    use RouteKind::Api;
    let r = csc_routes(r);
    r.add(
        Api,
        "/api/v1/signatures/verify",
        [E::post(ReadPublic, signatures::verify)
            .body_limit(sohoa_app::signatures::MAX_PDF + 64 * 1024)],
    )
    .add(Api, "/tsa", [E::post(ReadPublic, signatures::tsa)])
    .add(Api, "/pki/city.crl", [E::get(ReadPublic, signatures::crl)])
    .add(
        Api,
        "/api/v1/pki/certificates",
        [E::get(ManageCertificates, signatures::certificates)],
    )
    .add(
        Api,
        "/api/v1/pki/certificates/{serial}/revoke",
        [E::post(ManageCertificates, signatures::revoke)],
    )
    .add(
        Api,
        "/api/v1/applications/{number}/form.pdf",
        [E::get(ReadApplication, signatures::form_pdf)
            .absent_when_refused(ReadApplication, "application_not_found")],
    )
    .add(
        Api,
        "/api/v1/applications/{number}/signature",
        [E::post(ReadApplication, signatures::upload_signed)
            .absent_when_refused(ReadApplication, "application_not_found")
            .body_limit(sohoa_app::signatures::MAX_PDF + 64 * 1024)],
    )
}

fn counter_capability(r: Routes) -> Routes {
    ticket_routes(rails_routes(counter_routes(r)))
}

fn ticket_routes(r: Routes) -> Routes {
    use Action::{CounterIntake, ReadPublic, TakeTicket};
    use RouteKind::Api;
    r.add(
        Api,
        "/api/v1/counters/{agency}/tickets",
        [E::post(TakeTicket, tickets::take)],
    )
    .add(
        Api,
        "/api/v1/counters/{agency}/board",
        [E::get(ReadPublic, tickets::board)],
    )
    .add(
        Api,
        "/api/v1/counter/tickets/call",
        [E::post(CounterIntake, tickets::call)],
    )
    .add(
        Api,
        "/api/v1/counter/tickets/{id}/served",
        [E::post(CounterIntake, tickets::served)],
    )
    .add(
        Api,
        "/api/v1/counter/tickets/{id}/no-show",
        [E::post(CounterIntake, tickets::no_show)],
    )
    .add(
        Api,
        "/api/v1/monitoring/counters",
        [E::get(Action::ReadDashboard, tickets::waits)],
    )
}

fn counter_routes(r: Routes) -> Routes {
    use Action::CounterIntake;
    use RouteKind::Api;
    r.add(
        Api,
        "/api/v1/counter/identify",
        [E::post(CounterIntake, counter::identify)],
    )
    .add(
        Api,
        "/api/v1/counter/applications",
        [E::post(CounterIntake, counter::file)],
    )
    .add(
        Api,
        "/api/v1/counter/applications/{number}/confirm",
        [E::post(CounterIntake, counter::confirm)],
    )
    .add(
        Api,
        "/api/v1/counter/applications/{number}/confirmation-code",
        [E::post(CounterIntake, counter::resend_code)],
    )
    .add(
        Api,
        "/api/v1/counter/applications/{number}/handover",
        [E::post(CounterIntake, counter::handover)],
    )
    .add(
        Api,
        "/api/v1/counter/applications/{number}/receipt.pdf",
        [E::get(CounterIntake, counter::receipt)],
    )
    .add(
        Api,
        "/api/v1/applications/{number}/receipt.pdf",
        [E::get(Action::ReadApplication, counter::own_receipt)],
    )
    .add(
        Api,
        "/api/v1/counter/documents",
        [E::post(CounterIntake, counter::scan).body_limit(counter::MAX_SCAN + 64 * 1024)],
    )
}

fn jobs_routes(r: Routes) -> Routes {
    use Action::OperateJobs;
    use RouteKind::Api;
    r.add(Api, "/api/v1/jobs", [E::get(OperateJobs, jobs::list)])
        .add(
            Api,
            "/api/v1/jobs/counts",
            [E::get(OperateJobs, jobs::counts)],
        )
        .add(
            Api,
            "/api/v1/jobs/{id}/retry",
            [E::post(OperateJobs, jobs::retry)],
        )
        .add(
            Api,
            "/api/v1/jobs/{id}/cancel",
            [E::post(OperateJobs, jobs::cancel)],
        )
}

fn feedback_routes(r: Routes) -> Routes {
    use Action::*;
    use RouteKind::Api;
    r.add(
        Api,
        "/api/v1/reports",
        [
            E::get(ProcessReport, reports::queue),
            E::post(FileReport, reports::create),
        ],
    )
    .add(
        Api,
        "/api/v1/reports.geojson",
        [E::get(ReadPublic, reports::geojson)],
    )
    .add(
        Api,
        "/api/v1/boundaries.geojson",
        [E::get(ReadPublic, reports::boundaries)],
    )
    .add(
        Api,
        "/api/v1/reports/{id}",
        [E::get(FileReport, reports::get_report)],
    )
    .add(
        Api,
        "/api/v1/reports/{id}/transitions",
        [E::post(ProcessReport, reports::transition)],
    )
    .add(
        Api,
        "/api/v1/reports/{id}/forward",
        [E::post(ProcessReport, reports::forward)],
    )
    .add(
        Api,
        "/api/v1/reports/{id}/rating",
        [E::post(FileReport, reports::rate)],
    )
    .add(
        Api,
        "/api/v1/reports/{id}/reopen",
        [E::post(FileReport, reports::reopen)],
    )
    .add(
        Api,
        "/api/v1/reports/{id}/supporters",
        [E::post(FileReport, reports::support)],
    )
    .add(
        Api,
        "/api/v1/reports/{id}/photos",
        [E::post(FileReport, reports::add_photo)],
    )
    .add(
        Api,
        "/api/v1/reports/{id}/photos/{seq}",
        [E::get(FileReport, reports::get_photo)],
    )
    .add(
        Api,
        "/api/v1/feedback/nearby",
        [E::get(ReadPublic, reports::nearby)],
    )
    .add(
        Api,
        "/api/v1/feedback/routes",
        [
            E::get(ReadPublic, reports::list_routes),
            E::put(ManageReportRouting, reports::put_route),
        ],
    )
    .add(
        Api,
        "/api/v1/applications/{number}/rating",
        [E::post(Apply, evaluation::rate_application)
            .absent_when_refused(ReadApplication, "application_not_found")],
    )
    .add(
        Api,
        "/api/v1/evaluation",
        [E::get(ReadEvaluation, evaluation::full)],
    )
    .add(
        Api,
        "/api/v1/evaluation/public",
        [E::get(ReadPublic, evaluation::public)],
    )
    .add(
        Api,
        "/api/v1/monitoring",
        [E::get(ReadDashboard, monitoring::monitoring)],
    )
    .add(
        Api,
        "/api/v1/indicators",
        [E::get(ReadPublic, indicators::catalog)],
    )
    .add(
        Api,
        "/api/v1/indicators/import",
        [E::post(EnterIndicatorValues, indicators::import)],
    )
    .add(
        Api,
        "/api/v1/indicators/review",
        [E::get(ApproveIndicatorValues, indicators::pending)],
    )
    .add(
        Api,
        "/api/v1/indicators/export.csv",
        [E::get(ReadPublic, indicators::export_csv)],
    )
    .add(
        Api,
        "/api/v1/indicators/{code}",
        [
            E::get(ReadPublic, indicators::get_indicator),
            E::put(ManageIndicators, indicators::put_indicator),
        ],
    )
    .add(
        Api,
        "/api/v1/indicators/{code}/values",
        [
            E::get(ReadPublic, indicators::values),
            E::post(EnterIndicatorValues, indicators::enter_values),
        ],
    )
    .add(
        Api,
        "/api/v1/indicators/{code}/forecast",
        [E::get(ReadPublic, forecasts::forecast)],
    )
    .add(
        Api,
        "/api/v1/indicators/{code}/whatif",
        [E::get(ReadPublic, forecasts::what_if)],
    )
    .add(
        Api,
        "/api/v1/indicators/{code}/values/{unit}/{period}",
        [E::get(ReadDashboard, indicators::history)],
    )
    .add(
        Api,
        "/api/v1/indicators/{code}/values/{unit}/{period}/review",
        [E::post(ApproveIndicatorValues, indicators::review)],
    )
    .add(
        Api,
        "/api/v1/sdmx/data",
        [E::get(ReadPublic, indicators::sdmx_data)],
    )
    .add(
        Api,
        "/api/v1/tasks",
        [
            E::get(ReportTaskProgress, tasks::list),
            E::post(AssignTasks, tasks::assign),
        ],
    )
    .add(
        Api,
        "/api/v1/tasks/{id}/progress",
        [E::post(ReportTaskProgress, tasks::report)],
    )
    .add(
        Api,
        "/api/v1/scorecard",
        [E::get(ReadDashboard, tasks::scorecard)],
    )
    .add(
        Api,
        "/api/v1/sdmx/structure",
        [E::get(ReadPublic, indicators::sdmx_structure)],
    )
}
