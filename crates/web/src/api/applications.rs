//! Applications over the API: a citizen starts one with every registry field pre-filled,
//! submits it under an `Idempotency-Key`, follows it; the deciding agency's officers work
//! their queue and move applications through the status machine, the deadline counted in
//! working days from receipt and stopped while a supplement is awaited.
//!
//! An application the caller may not read answers 404, as one that does not exist: numbers
//! of other people's applications cannot be confirmed by guessing.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::registry::{date_text, parse_date};
use sohoa_domain::services::application::{Answer, ApplicationNumber, Flag, LookupCode};
use sohoa_domain::services::calendar::Calendar;
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::services::workflow::Status;
use sohoa_domain::{CitizenId, TaxCode, UnitCode};
use sohoa_domain::{Money, Timestamp};
use sohoa_storage::applications::{self as store, Application};

use utoipa::{IntoParams, ToSchema};

use sohoa_app::applications::{self as uc, deadline_of, Detail};
use sohoa_app::Acting;

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub actor: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub comment: Option<String>,
}

// Numbers, codes and times keep their domain types to the edge: a list of 50 writes them
// straight into the JSON instead of through 50 temporary strings each.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    /// The public number, e.g. `HS0A1B2C3D4E`.
    #[schema(value_type = String)]
    pub number: ApplicationNumber,
    #[schema(value_type = String)]
    pub procedure_code: ProcedureCode,
    /// The catalog version the application was filed under; it keeps it.
    pub procedure_version: i64,
    /// The applicant's CCCD. Absent in staff's lists: a list is not an audited read of
    /// each applicant's personal data, so it carries none (open one to read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant: Option<String>,
    /// The enterprise applied for (tax code), by its legal representative.
    pub enterprise: Option<String>,
    /// The deciding agency.
    #[schema(value_type = String)]
    pub agency_code: AgencyCode,
    /// The applicant's commune.
    pub unit_code: String,
    pub status: Status,
    /// Each form field's answer; pre-filled ones came from the registry. Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<Vec<Answer>>,
    /// Pre-filled values the applicant says are wrong. Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<Flag>>,
    /// The fee in đồng, as computed at submission (none when free or not yet submitted).
    pub fee: Option<i64>,
    /// What the applicant pays: 0 when a waiver was in force at submission.
    pub fee_payable: Option<i64>,
    /// The decision that waived the fee.
    pub waiver_basis: Option<String>,
    /// When the fee was paid in full; an application is received only once it is.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub fee_paid_at: Option<Timestamp>,
    pub assigned_to: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<Timestamp>,
    /// The day the agency received it: the deadline counts from here.
    pub received_on: Option<String>,
    /// The last day to decide, in working days from receipt plus any pause.
    pub due_on: Option<String>,
    /// Since when the clock has been stopped for a supplement.
    pub paused_on: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub revision: i64,
    /// The community digital team member who filed it for the applicant.
    pub assisted_by: Option<String>,
    /// How it was filed: `online`, `counter`, `assisted` or `enterprise`.
    pub channel: sohoa_domain::services::channel::Channel,
    /// The agency whose one-stop counter took it in.
    #[schema(value_type = Option<String>)]
    pub intake_agency: Option<AgencyCode>,
    /// With the number, shows the status to anyone (`POST /api/v1/application-status`).
    /// Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup_code: Option<String>,
    /// The clock runs and the due day has passed.
    pub overdue: bool,
    /// Working days from today to the due day (negative when late), while the clock runs.
    pub working_days_left: Option<i64>,
    /// Payments of the fee. Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<super::payments::PaymentView>>,
    /// The documents attached, by the procedure's code. Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<AttachedView>>,
    /// Every move, oldest first. Absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
    /// The applicant's signature on the form, present only once checked valid. Absent in
    /// lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<super::signatures::FormSignatureView>,
}

impl ApplicationView {
    /// An application in full, as its applicant and deciding staff read it.
    pub(crate) fn full(d: Detail, cal: &Calendar) -> Self {
        let mut view = Self::new(d.application, Some(d.events), cal);
        view.payments = Some(d.payments.into_iter().map(Into::into).collect());
        view.signature = d.signature.map(Into::into);
        view.documents = Some(
            d.documents
                .into_iter()
                .map(|a| AttachedView {
                    code: a.code,
                    document: a.document.into(),
                })
                .collect(),
        );
        view
    }

    fn new(a: Application, events: Option<Vec<store::Event>>, cal: &Calendar) -> Self {
        let today = super::today();
        let running = a.status.clock_runs() && a.paused_on.is_none();
        let deadline = deadline_of(&a);
        let overdue = uc::overdue(&a, today);
        let working_days_left = deadline.filter(|_| running).map(|d| {
            if d.due_on >= today {
                i64::from(cal.working_days_between(today, d.due_on))
            } else {
                -i64::from(cal.working_days_between(d.due_on, today))
            }
        });
        let (answers, flags, lookup_code) = match a.content {
            Some(c) => (Some(c.answers), Some(c.flags), Some(c.lookup_code)),
            None => (None, None, None),
        };
        Self {
            number: a.number,
            procedure_code: a.procedure_code,
            procedure_version: a.procedure_version,
            applicant: Some(a.applicant.to_string()),
            enterprise: a.enterprise.map(|t| t.to_string()),
            agency_code: a.agency_code,
            unit_code: a.unit_code.to_string(),
            status: a.status,
            answers,
            flags,
            fee: a.fee.map(Money::dong),
            fee_payable: a.fee_payable.map(Money::dong),
            waiver_basis: a.waiver_basis,
            fee_paid_at: a.fee_paid_at,
            assigned_to: a.assigned_to,
            created_at: a.created_at,
            submitted_at: a.submitted_at,
            received_on: a.received_on.map(date_text),
            due_on: a.due_on.map(date_text),
            paused_on: a.paused_on.map(date_text),
            decided_at: a.decided_at,
            updated_at: a.updated_at,
            revision: a.revision,
            assisted_by: a.assisted_by,
            channel: a.channel,
            intake_agency: a.intake_agency,
            lookup_code: lookup_code.filter(|c| !c.is_empty()),
            overdue,
            working_days_left,
            documents: None,
            payments: None,
            signature: None,
            events: events.map(|es| {
                es.into_iter()
                    .map(|e| EventView {
                        seq: e.seq,
                        from_status: e.from_status,
                        to_status: e.to_status,
                        actor: e.actor,
                        at: e.at,
                        comment: e.comment,
                    })
                    .collect()
            }),
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"procedure_code": "1.001193", "submit": false, "answers": {
    "relationship": "mother", "child_name": "Nguyễn Minh An", "child_birth_date": "2026-11-20",
    "child_sex": "male", "birth_place": "Bệnh viện Từ Dũ"}}))]
pub struct NewApplication {
    #[schema(value_type = sohoa_domain::services::procedure::ProcedureCode)]
    pub procedure_code: String,
    /// Typed answers by field key. Fields the registries hold are filled by the server and
    /// may not be given here.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: serde_json::Map<String, serde_json::Value>,
    /// Pre-filled values the applicant says are wrong.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Submit at once (default), or keep as a draft.
    #[serde(default = "yes")]
    pub submit: bool,
    /// For a community digital team member: the citizen helped, and the one-time code the
    /// citizen gave (from `POST /api/v1/me/assist-codes`).
    #[serde(default)]
    pub on_behalf_of: Option<OnBehalfOf>,
    /// Documents from the applicant's store (`/api/v1/me/documents`), each for one of the
    /// procedure's required documents.
    #[serde(default)]
    pub documents: Vec<Attachment>,
    /// Apply for this enterprise (its tax code), as its legal representative: its registry
    /// fields are pre-filled, and its seat's commune decides commune-level procedures.
    #[serde(default)]
    #[schema(value_type = Option<sohoa_domain::TaxCode>)]
    pub enterprise: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// The procedure's document code.
    pub code: String,
    pub document_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachedView {
    pub code: String,
    #[serde(flatten)]
    pub document: super::documents::DocumentView,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnBehalfOf {
    #[schema(value_type = sohoa_domain::CitizenId)]
    pub citizen_id: String,
    #[schema(value_type = sohoa_domain::services::application::LookupCode)]
    pub code: String,
}

fn yes() -> bool {
    true
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, AppError> {
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| AppError::bad_request("idempotency_key_required"))?;
    key.to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or_else(|| AppError::bad_request("idempotency_key_required"))
}

pub(crate) fn created<T: Serialize>(view: T, replayed: bool) -> Response {
    let mut res = (StatusCode::CREATED, Json(view)).into_response();
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// Starts an application for the signed-in citizen: registry fields pre-filled (and locked),
/// typed fields checked, the fee computed (and waived when a waiver is in force). Send an
/// `Idempotency-Key` header: a retry with the same key answers with the same application
/// (and `Idempotent-Replayed: true`); the key with a different body is refused.
#[utoipa::path(post, path = "/api/v1/applications", tag = "services", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1-255 visible ASCII characters, unique per submission", example = "2f1c9a7e-birth-1")),
    request_body = NewApplication,
    responses(
        (status = 201, body = ApplicationView),
        (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewApplication>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let (view, replayed) = file(&state, &caller, addr, key, body).await?;
    Ok(created(view, replayed))
}

/// The use case's command for a request's body, filed under `key`: the API's and the web
/// form's one path.
pub(crate) async fn file(
    state: &AppState,
    caller: &Caller,
    addr: Option<String>,
    key: String,
    body: NewApplication,
) -> Result<(ApplicationView, bool), AppError> {
    let request_hash = hex::encode(Sha256::digest(
        serde_json::to_vec(&body).map_err(AppError::internal)?,
    ));
    let cmd = command(body, key, request_hash)?;
    let filed = uc::file(state, Acting::new(&caller.0, addr.as_deref()), cmd).await?;
    Ok((
        ApplicationView::full(filed.detail, sohoa_app::calendar()?),
        filed.replayed,
    ))
}

/// The use case's command for a request's body, filed under `key` (the request's digest
/// `request_hash` tells a retry from a reuse of the key).
pub(crate) fn command(
    body: NewApplication,
    key: String,
    request_hash: String,
) -> Result<uc::FileApplication, AppError> {
    let on_behalf_of = match &body.on_behalf_of {
        None => None,
        Some(b) => Some(uc::Behalf {
            citizen: CitizenId::parse(&b.citizen_id)
                .map_err(|_| AppError::unprocessable("invalid_citizen_id").field("on_behalf_of"))?,
            code_hash: assist_code_hash(&b.code).ok_or_else(|| {
                AppError::unprocessable("invalid_assist_code").field("on_behalf_of")
            })?,
        }),
    };
    let enterprise = match body.enterprise.as_deref() {
        None => None,
        Some(t) => Some(
            TaxCode::parse(t)
                .map_err(|_| AppError::unprocessable("invalid_tax_code").field("enterprise"))?,
        ),
    };
    let cmd = uc::FileApplication {
        procedure_code: ProcedureCode::parse(&body.procedure_code).ok_or_else(|| {
            AppError::unprocessable("invalid_procedure_code").field("procedure_code")
        })?,
        answers: body.answers,
        flags: body.flags,
        documents: body
            .documents
            .into_iter()
            .map(|a| uc::Attachment {
                code: a.code,
                document_id: a.document_id,
            })
            .collect(),
        enterprise,
        on_behalf_of,
        submit: body.submit,
        idempotency: uc::Idempotency { key, request_hash },
    };
    Ok(cmd)
}

/// The SHA-256 (hex) of an assist code as the citizen was shown it, dashes and case aside.
pub(crate) fn assist_code_hash(code: &str) -> Option<String> {
    LookupCode::parse(code).map(|c| c.hash())
}

/// One application with its answers and history: for its applicant and the staff of the
/// deciding agency and unit (whose reading is audited).
#[utoipa::path(get, path = "/api/v1/applications/{number}", tag = "services", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    responses((status = 200, body = ApplicationView), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_application(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
) -> ApiResult<Json<ApplicationView>> {
    let d = uc::read(&state, Acting::new(&caller.0, addr.as_deref()), &number).await?;
    Ok(Json(ApplicationView::full(d, sohoa_app::calendar()?)))
}

/// A document attached to an application, for its applicant and the deciding staff (whose
/// reading is audited).
#[utoipa::path(get, path = "/api/v1/applications/{number}/documents/{document_id}", tag = "services", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number"), ("document_id" = String, Path, description = "Document id", example = "doc_0f3a9c")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_document(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path((number, document_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let (doc, bytes) =
        sohoa_app::documents::read_attached(&state, who, &number, &document_id).await?;
    Ok(super::documents::attachment(&doc, bytes))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The status to move to.
    pub to: Status,
    /// Why: required when asking for a supplement, rejecting or withdrawing.
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// The revision the caller saw; when given and stale, the move is refused with 409.
    pub revision: Option<i64>,
}

/// Moves an application: the applicant submits, resubmits or withdraws; an officer of the
/// deciding agency receives, reviews, asks for a supplement, decides and issues the result.
/// A move the status machine does not allow answers 409 `illegal_transition`.
#[utoipa::path(post, path = "/api/v1/applications/{number}/transitions", tag = "services", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    request_body = TransitionRequest,
    responses(
        (status = 200, body = ApplicationView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<TransitionRequest>,
) -> ApiResult<Json<ApplicationView>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let d = uc::transition(&state, who, &number, &body.command()).await?;
    Ok(Json(ApplicationView::full(d, sohoa_app::calendar()?)))
}

impl TransitionRequest {
    pub(crate) fn command(&self) -> uc::Transition {
        uc::Transition {
            to: self.to,
            comment: self.comment.clone(),
            revision: self.revision,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// An officer of the application's agency (and unit), or null to unassign.
    #[schema(value_type = Option<sohoa_domain::identity::Username>)]
    pub username: Option<String>,
}

/// Assigns an application to an officer of its agency, or takes the assignment back.
#[utoipa::path(put, path = "/api/v1/applications/{number}/assignee", tag = "services", security(("bearer" = [])),
    params(("number" = sohoa_domain::services::application::ApplicationNumber, Path, description = "Application number")),
    request_body = AssignRequest,
    responses(
        (status = 200, body = ApplicationView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(number): Path<String>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> ApiResult<Json<ApplicationView>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let stored = uc::assign(&state, who, &number, body.username.as_deref()).await?;
    Ok(Json(ApplicationView::new(
        stored,
        None,
        sohoa_app::calendar()?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"numbers": ["HS0A1B2C3D4E"], "to": "received"}))]
pub struct BulkRequest {
    /// 1 to 200 application numbers.
    #[schema(min_items = 1, max_items = 200, value_type = Vec<sohoa_domain::services::application::ApplicationNumber>)]
    pub numbers: Vec<String>,
    /// Move each to this status (with `comment`)...
    pub to: Option<Status>,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// ...or assign each to this officer (`assign` and `to` are exclusive).
    #[schema(value_type = Option<sohoa_domain::identity::Username>)]
    pub assign: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkOutcome {
    pub number: String,
    /// The HTTP status this application alone would have had.
    pub status: u16,
    /// The error code, when it failed.
    pub code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub succeeded: usize,
    pub failed: usize,
    pub results: Vec<BulkOutcome>,
}

/// One action on many applications (receive a morning's submissions, assign a batch):
/// each application succeeds or fails on its own, and the answer says which did what.
#[utoipa::path(post, path = "/api/v1/applications/bulk", tag = "services", security(("bearer" = [])),
    request_body = BulkRequest,
    responses(
        (status = 200, body = BulkResult),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<BulkRequest>,
) -> ApiResult<Json<BulkResult>> {
    if body.numbers.is_empty() || body.numbers.len() > 200 {
        return Err(AppError::unprocessable("invalid_bulk").field("numbers"));
    }
    let action = match (body.to, body.assign) {
        (Some(to), None) => uc::BulkAction::Move {
            to,
            comment: body.comment,
        },
        (None, Some(u)) => uc::BulkAction::Assign(u),
        _ => return Err(AppError::unprocessable("invalid_bulk").field("to")),
    };
    let who = Acting::new(&caller.0, addr.as_deref());
    let outcomes = uc::bulk(&state, who, &body.numbers, &action).await?;
    let results: Vec<BulkOutcome> = outcomes
        .into_iter()
        .map(|(number, outcome)| match outcome.map_err(AppError::from) {
            Ok(()) => BulkOutcome {
                number,
                status: 200,
                code: None,
            },
            Err(e) => BulkOutcome {
                number,
                status: e.status.as_u16(),
                code: Some(e.code.to_owned()),
            },
        })
        .collect();
    let succeeded = results.iter().filter(|r| r.status == 200).count();
    Ok(Json(BulkResult {
        succeeded,
        failed: results.len() - succeeded,
        results,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    /// A procedure code.
    #[param(value_type = Option<sohoa_domain::services::procedure::ProcedureCode>)]
    pub procedure: Option<String>,
    /// An officer's username, `me`, or `none` for unassigned ones (staff only).
    #[param(pattern = "^(me|none|[a-z][a-z0-9._-]{2,63})$")]
    pub assigned: Option<String>,
    /// Due on or before this day (`YYYY-MM-DD`).
    #[param(format = Date)]
    pub due_by: Option<String>,
    /// `true`: only those overdue today.
    pub overdue: Option<bool>,
    /// A commune's code: narrows a leader's or officer's list to it (the dashboard's
    /// drill-down).
    #[param(value_type = Option<sohoa_domain::UnitCode>)]
    pub unit: Option<String>,
    /// An agency's code: narrows a city-wide leader's list to it.
    #[param(value_type = Option<sohoa_domain::agency::AgencyCode>)]
    pub agency: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// Applications per page, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationPage {
    pub items: Vec<ApplicationView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// A citizen's own applications, or a member of staff's queue: their agency's (and unit's)
/// applications, soonest due first; a city-wide leader sees every agency's.
#[utoipa::path(get, path = "/api/v1/applications", tag = "services", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = ApplicationPage), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<ApplicationPage>> {
    let listed = uc::list(&state, &caller.0, p.query()?).await?;
    Ok(Json(ApplicationPage::of(listed)?))
}

impl ApplicationPage {
    pub(crate) fn of(listed: uc::Listed) -> Result<Self, AppError> {
        let cal = sohoa_app::calendar()?;
        Ok(Self {
            next: listed
                .next
                .map(|c| super::encode_cursor(&(c.due_key, c.number))),
            items: listed
                .items
                .into_iter()
                .map(|a| {
                    let mut view = ApplicationView::new(a, None, cal);
                    if !listed.own {
                        view.applicant = None;
                    }
                    view
                })
                .collect(),
        })
    }
}

impl ListParams {
    /// The use case's query; a malformed filter is the request's fault (400).
    pub(crate) fn query(&self) -> Result<uc::ListQuery, AppError> {
        let bad = |field: &'static str| {
            AppError::bad_request("invalid_query")
                .arg("detail", field)
                .field(field)
        };
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        Ok(uc::ListQuery {
            status: given(&self.status)
                .map(|s| Status::parse(&s).ok_or_else(|| bad("status")))
                .transpose()?,
            procedure: given(&self.procedure)
                .map(|c| ProcedureCode::parse(&c).ok_or_else(|| bad("procedure")))
                .transpose()?,
            assigned: given(&self.assigned).map(|a| match a.as_str() {
                "none" => uc::Assigned::Nobody,
                "me" => uc::Assigned::Me,
                _ => uc::Assigned::Officer(a),
            }),
            due_by: given(&self.due_by)
                .map(|d| parse_date("due_by", &d).map_err(|_| bad("due_by")))
                .transpose()?,
            overdue: self.overdue == Some(true),
            unit: given(&self.unit)
                .map(|u| UnitCode::parse(&u).map_err(|_| bad("unit")))
                .transpose()?,
            agency: given(&self.agency)
                .map(|a| AgencyCode::parse(&a).map_err(|_| bad("agency")))
                .transpose()?,
            after: given(&self.after)
                .map(|a| {
                    let (due_key, number) = super::decode_cursor(&a).ok_or_else(|| bad("after"))?;
                    Ok::<_, AppError>(store::QueueCursor { due_key, number })
                })
                .transpose()?,
            limit: self.limit.unwrap_or(50),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    #[schema(value_type = sohoa_domain::services::application::ApplicationNumber)]
    pub number: String,
    /// The lookup code given with the application.
    #[schema(value_type = sohoa_domain::services::application::LookupCode)]
    pub code: String,
}

/// What anyone with the number and the code sees: where the application stands, nothing
/// personal.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicStatus {
    pub number: String,
    pub procedure_code: String,
    pub status: Status,
    pub submitted_at: Option<String>,
    pub received_on: Option<String>,
    pub due_on: Option<String>,
    pub overdue: bool,
    pub decided_at: Option<String>,
    pub updated_at: String,
}

/// The status of an application, for anyone who has its number and lookup code. A wrong
/// code and an unknown number answer alike.
#[utoipa::path(post, path = "/api/v1/application-status", tag = "services",
    request_body = StatusQuery,
    responses((status = 200, body = PublicStatus), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn public_status(
    State(state): State<AppState>,
    ApiJson(q): ApiJson<StatusQuery>,
) -> ApiResult<Json<PublicStatus>> {
    let not_found = || AppError::not_found("application_not_found");
    let number = ApplicationNumber::parse(&q.number).ok_or_else(not_found)?;
    let code = LookupCode::parse(&q.code).ok_or_else(not_found)?;
    let a = uc::by_lookup(&state, &number, &code)
        .await?
        .ok_or_else(not_found)?;
    let view = ApplicationView::new(a, None, sohoa_app::calendar()?);
    Ok(Json(PublicStatus {
        number: view.number.to_string(),
        procedure_code: view.procedure_code.to_string(),
        status: view.status,
        submitted_at: view.submitted_at.map(|t| t.to_string()),
        received_on: view.received_on,
        due_on: view.due_on,
        overdue: view.overdue,
        decided_at: view.decided_at.map(|t| t.to_string()),
        updated_at: view.updated_at.to_string(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssistCode {
    /// Tell it to the digital team member helping you; it lets them file one application
    /// for you.
    #[schema(example = "7K3M-Q9TX")]
    pub code: String,
    pub expires_at: String,
}

/// A one-time code for a community digital team member to file one application for the
/// signed-in citizen, valid for 30 minutes.
#[utoipa::path(post, path = "/api/v1/me/assist-codes", tag = "identity", security(("bearer" = [])),
    responses((status = 201, body = AssistCode), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn create_assist_code(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
) -> ApiResult<(StatusCode, Json<AssistCode>)> {
    let code = uc::create_assist_code(&state, Acting::new(&caller.0, addr.as_deref())).await?;
    Ok((
        StatusCode::CREATED,
        Json(AssistCode {
            code: code.code,
            expires_at: code.expires_at,
        }),
    ))
}
