//! Applications over the API: a citizen starts one with every registry field pre-filled,
//! submits it under an `Idempotency-Key`, follows it; the deciding agency's officers work
//! their queue and move applications through the status machine, the deadline counted in
//! working days from receipt and stopped while a supplement is awaited.
//!
//! An application the caller may not read answers 404, as one that does not exist: numbers
//! of other people's applications cannot be confirmed by guessing.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Principal, Role, Target};
use sohoa_domain::registry::{clean_text, date_text, parse_date};
use sohoa_domain::services::application::{
    fill, Answer, AnswerError, ApplicationNumber, Completeness, Content, Deadline, Flag,
    LookupCode, Records,
};
use sohoa_domain::services::calendar::Calendar;
use sohoa_domain::services::procedure::{FieldKind, Level, Procedure, ProcedureCode};
use sohoa_domain::services::workflow::{Mover, Status};
use sohoa_domain::{CitizenId, UnitCode};
use sohoa_storage::applications::{self as store, Application, Created, IdempotencyKey};
use sohoa_storage::{procedures, registry, StorageError};
use time::Date;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiJson, ApiQuery, ClientAddr};
use crate::AppState;

/// The shipped working-day calendar, parsed once.
pub(crate) fn calendar() -> Result<&'static Calendar, AppError> {
    static CAL: OnceLock<Option<Calendar>> = OnceLock::new();
    CAL.get_or_init(|| Calendar::shipped().ok())
        .as_ref()
        .ok_or_else(|| AppError::internal("the shipped holiday calendar does not parse"))
}

fn day(s: &Option<String>) -> Option<Date> {
    s.as_deref().and_then(|d| parse_date("date", d).ok())
}

/// The deadline as stored, once the application has been received.
fn deadline_of(a: &Application) -> Option<Deadline> {
    Some(Deadline {
        received_on: day(&a.received_on)?,
        due_on: day(&a.due_on)?,
        paused_on: day(&a.paused_on),
    })
}

/// Whether an application is overdue on `today`: its clock runs and the due day has passed.
pub(crate) fn overdue(a: &Application, today: Date) -> bool {
    a.status.clock_runs() && deadline_of(a).is_some_and(|d| d.overdue_on(today))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub actor: String,
    pub at: String,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    /// The public number, e.g. `HS0A1B2C3D4E`.
    pub number: String,
    pub procedure_code: String,
    /// The catalog version the application was filed under; it keeps it.
    pub procedure_version: i64,
    /// The applicant's CCCD. Absent in staff's lists: a list is not an audited read of
    /// each applicant's personal data, so it carries none (open one to read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant: Option<String>,
    /// The enterprise applied for (tax code), by its legal representative.
    pub enterprise: Option<String>,
    /// The deciding agency.
    pub agency_code: String,
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
    pub fee_paid_at: Option<String>,
    pub assigned_to: Option<String>,
    pub created_at: String,
    pub submitted_at: Option<String>,
    /// The day the agency received it: the deadline counts from here.
    pub received_on: Option<String>,
    /// The last day to decide, in working days from receipt plus any pause.
    pub due_on: Option<String>,
    /// Since when the clock has been stopped for a supplement.
    pub paused_on: Option<String>,
    pub decided_at: Option<String>,
    pub updated_at: String,
    pub revision: i64,
    /// The community digital team member who filed it for the applicant.
    pub assisted_by: Option<String>,
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
}

impl ApplicationView {
    fn new(a: Application, events: Option<Vec<store::Event>>, cal: &Calendar) -> Self {
        let today = super::today();
        let running = a.status.clock_runs() && a.paused_on.is_none();
        let deadline = deadline_of(&a);
        let overdue = overdue(&a, today);
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
            applicant: Some(a.applicant),
            enterprise: a.enterprise,
            agency_code: a.agency_code,
            unit_code: a.unit_code,
            status: a.status,
            answers,
            flags,
            fee: a.fee,
            fee_payable: a.fee_payable,
            waiver_basis: a.waiver_basis,
            fee_paid_at: a.fee_paid_at,
            assigned_to: a.assigned_to,
            created_at: a.created_at,
            submitted_at: a.submitted_at,
            received_on: a.received_on,
            due_on: a.due_on,
            paused_on: a.paused_on,
            decided_at: a.decided_at,
            updated_at: a.updated_at,
            revision: a.revision,
            assisted_by: a.assisted_by,
            lookup_code: lookup_code.filter(|c| !c.is_empty()),
            overdue,
            working_days_left,
            documents: None,
            payments: None,
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

/// A commune typed into an answer must exist and be in force today: a well-formed code of a
/// unit merged away in 2025, or of none at all, is refused beside its field.
async fn units_in_force(
    state: &AppState,
    p: &Procedure,
    answers: &[sohoa_domain::services::application::Answer],
) -> Result<(), AppError> {
    for a in answers.iter().filter(|a| !a.prefilled) {
        let is_unit = p
            .form
            .iter()
            .any(|f| f.key == a.key && matches!(f.kind, FieldKind::UnitCode));
        let Some(code) = a
            .value
            .as_str()
            .filter(|_| is_unit)
            .and_then(|c| UnitCode::parse(c).ok())
        else {
            continue;
        };
        if sohoa_storage::units::get(&state.db, &code, sohoa_domain::timestamp::today())
            .await?
            .is_none()
        {
            return Err(AppError::unprocessable("unknown_unit")
                .field(a.key.clone())
                .arg("code", code.as_str()));
        }
    }
    Ok(())
}

fn answer_error(errs: Vec<AnswerError>) -> AppError {
    let detail = errs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    AppError::unprocessable("invalid_answers")
        .field(errs[0].field.clone())
        .arg("detail", &detail)
        .detail(detail)
}

/// The records an application draws on, and the unit whose People's Committee decides a
/// commune-level procedure: the applicant's residence, or the enterprise's seat when they
/// apply as its legal representative (checked here).
pub(crate) async fn records_for(
    state: &AppState,
    p: &Procedure,
    id: &CitizenId,
    enterprise: Option<&str>,
) -> Result<(Records, UnitCode), AppError> {
    let found = registry::citizens::get(&state.db, id)
        .await?
        .ok_or_else(|| AppError::unprocessable("unknown_citizen"))?;
    let mut unit = found.citizen.permanent_address.unit_code.clone();
    let as_object = |v: Result<serde_json::Value, serde_json::Error>| match v {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(AppError::internal("a registry record is not a JSON object")),
    };
    let mut records = Records {
        citizen: as_object(serde_json::to_value(&found.citizen))?,
        enterprise: None,
        as_of: Some(super::today()),
    };
    let needs_enterprise = p.form.iter().any(|f| {
        f.source
            .as_ref()
            .is_some_and(|s| s.registry == sohoa_domain::sharing::RegistryName::Enterprises)
    });
    match enterprise {
        None if needs_enterprise => {
            return Err(AppError::unprocessable("enterprise_required").field("enterprise"))
        }
        None => {}
        Some(tax) => {
            let tax = sohoa_domain::TaxCode::parse(tax)
                .map_err(|_| AppError::unprocessable("invalid_tax_code").field("enterprise"))?;
            let e = registry::enterprises::get(&state.db, &tax)
                .await?
                .ok_or_else(|| AppError::unprocessable("record_not_found").field("enterprise"))?;
            if e.enterprise.legal_representative != *id {
                return Err(
                    AppError::new(StatusCode::FORBIDDEN, "not_legal_representative")
                        .field("enterprise"),
                );
            }
            unit = e.enterprise.address.unit_code.clone();
            records.enterprise = Some(as_object(serde_json::to_value(&e.enterprise))?);
        }
    }
    Ok((records, unit))
}

fn check_flags(p: &Procedure, flags: &[Flag]) -> Result<Vec<Flag>, AppError> {
    let mut out = Vec::with_capacity(flags.len());
    for f in flags {
        let prefilled = p
            .form
            .iter()
            .any(|x| x.key == f.field && x.source.is_some());
        let note = clean_text(&f.note).filter(|n| n.chars().count() <= 500);
        match (prefilled, note) {
            (true, Some(note)) => out.push(Flag {
                field: f.field.clone(),
                note,
            }),
            _ => {
                return Err(answer_error(vec![AnswerError {
                    field: f.field.clone(),
                    code: "invalid_flag",
                    detail: "a flag names a pre-filled field and says, in 1 to 500 characters, what is right".into(),
                }]))
            }
        }
    }
    Ok(out)
}

/// The attachments, each a document of the applicant's for one of the procedure's codes.
async fn check_documents(
    state: &AppState,
    p: &Procedure,
    applicant: &CitizenId,
    given: &[Attachment],
) -> Result<Vec<(String, sohoa_storage::files::Document)>, AppError> {
    let mut out = Vec::with_capacity(given.len());
    let mut errors = Vec::new();
    for a in given {
        if !p.documents.iter().any(|d| d.code == a.code) {
            errors.push(AnswerError {
                field: a.code.clone(),
                code: "unknown_document",
                detail: "the procedure asks for no such document".into(),
            });
            continue;
        }
        let owned = sohoa_storage::files::get(&state.db, &a.document_id)
            .await?
            .filter(|d| d.owner == applicant.as_str());
        if let Some(d) = owned {
            out.push((a.code.clone(), d));
        } else {
            errors.push(AnswerError {
                field: a.code.clone(),
                code: "invalid_document",
                detail: "attach a document from the applicant's own store".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(answer_error(errors))
    }
}

/// Every required document has something attached.
fn required_documents(p: &Procedure, attached: &[&str]) -> Result<(), AppError> {
    let missing: Vec<AnswerError> = p
        .documents
        .iter()
        .filter(|d| d.required && !attached.contains(&d.code.as_str()))
        .map(|d| AnswerError {
            field: d.code.clone(),
            code: "document_required",
            detail: format!("attach {}", d.name_en),
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(answer_error(missing))
    }
}

/// The fee fields of a submission made today.
fn fee_today(p: &Procedure) -> (Option<i64>, Option<i64>, Option<String>) {
    match p.fee_on(super::today()) {
        None => (None, None, None),
        Some(due) => (
            Some(due.fee.dong()),
            Some(due.payable().dong()),
            due.waived_by.map(|w| w.basis.clone()),
        ),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, AppError> {
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

fn created(view: ApplicationView, replayed: bool) -> Response {
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

/// Files an application under an idempotency key: the API's and the web form's one path.
/// `true` with the view: the key was used before, and this is that application.
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
    let attempt: Result<(ApplicationView, bool), AppError> = async {
        // Who applies: the signed-in citizen, or the citizen a digital team member helps with
        // the one-time code the citizen gave them.
        let (me, assist) = match (&caller.0, &body.on_behalf_of) {
            (Principal::Citizen(id), None) => (id.clone(), None),
            (Principal::Staff(s), Some(behalf)) if s.role == Role::DigitalTeam => {
                let id = CitizenId::parse(&behalf.citizen_id).map_err(|_| {
                    AppError::unprocessable("invalid_citizen_id").field("on_behalf_of")
                })?;
                let code_hash = assist_code_hash(&behalf.code).ok_or_else(|| {
                    AppError::unprocessable("invalid_assist_code").field("on_behalf_of")
                })?;
                if !store::assist_code_live(&state.db, id.as_str(), &code_hash).await? {
                    return Err(
                        AppError::unprocessable("invalid_assist_code").field("on_behalf_of")
                    );
                }
                let assist = store::Assist {
                    helper: s.username.clone(),
                    code_hash,
                };
                (id, Some(assist))
            }
            (Principal::Staff(s), None) if s.role == Role::DigitalTeam => {
                return Err(AppError::unprocessable("invalid_assist_code").field("on_behalf_of"));
            }
            _ => return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden")),
        };
        let code = ProcedureCode::parse(&body.procedure_code).ok_or_else(|| {
            AppError::unprocessable("invalid_procedure_code").field("procedure_code")
        })?;
        let proc = state
            .catalog
            .procedure(&state.db, &code)
            .await?
            .ok_or_else(|| {
                AppError::unprocessable("procedure_not_found").field("procedure_code")
            })?;
        let (records, unit) =
            records_for(state, &proc.procedure, &me, body.enterprise.as_deref()).await?;
        caller.authorize(
            Action::Apply,
            &Target {
                citizen: Some(&me),
                unit: Some(&unit),
                ..Target::default()
            },
        )?;
        let completeness = if body.submit {
            Completeness::Submission
        } else {
            Completeness::Draft
        };
        let answers =
            fill(&proc.procedure, &records, &body.answers, completeness).map_err(answer_error)?;
        units_in_force(state, &proc.procedure, &answers).await?;
        let flags = check_flags(&proc.procedure, &body.flags)?;
        let mut attachments = check_documents(state, &proc.procedure, &me, &body.documents).await?;
        // In the order, and as often, the application will list them.
        attachments.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
        attachments.dedup_by(|a, b| a.0 == b.0 && a.1.id == b.1.id);
        if body.submit {
            let codes: Vec<&str> = attachments.iter().map(|(c, _)| c.as_str()).collect();
            required_documents(&proc.procedure, &codes)?;
        }
        let agency = deciding_agency(state, &proc.procedure, &unit).await?;
        let now = store::now();
        let (fee, fee_payable, waiver_basis) = if body.submit {
            fee_today(&proc.procedure)
        } else {
            (None, None, None)
        };
        let lookup_code = LookupCode::from_random(crate::auth::random_bytes::<8>()?);
        let app = Application {
            number: ApplicationNumber::from_random(crate::auth::random_bytes::<8>()?).to_string(),
            procedure_code: code.to_string(),
            procedure_version: proc.version,
            applicant: me.to_string(),
            agency_code: agency.to_string(),
            unit_code: unit.to_string(),
            status: if body.submit {
                Status::Submitted
            } else {
                Status::Draft
            },
            content: Some(Content {
                answers,
                flags,
                lookup_code: lookup_code.to_string(),
            }),
            fee,
            fee_payable,
            waiver_basis,
            assigned_to: None,
            created_at: now.clone(),
            submitted_at: body.submit.then(|| now.clone()),
            received_on: None,
            due_on: None,
            paused_on: None,
            decided_at: None,
            updated_at: now,
            revision: 1,
            lookup_hash: lookup_code.hash(),
            assisted_by: assist.as_ref().map(|a| a.helper.clone()),
            fee_paid_at: None,
            enterprise: records
                .enterprise
                .as_ref()
                .and_then(|e| e.get("tax_code"))
                .and_then(|t| t.as_str())
                .map(str::to_owned),
        };
        let action = if body.submit {
            "application.submit"
        } else {
            "application.create"
        };
        let audit = AuditRecord::new(caller.actor(), action, "application", &app.number)
            .fields(
                app.content
                    .iter()
                    .flat_map(|c| c.answers.iter().map(|a| a.key.clone())),
            )
            .client_addr(addr.clone());
        let idem = IdempotencyKey {
            owner: caller.actor(),
            key: key.clone(),
            request_hash: request_hash.clone(),
        };
        let number = app.number.clone();
        let job = store::NewApplication::new(
            &*state.db.keyring()?,
            app.clone(),
            Some(idem),
            assist.clone(),
            attachments
                .iter()
                .map(|(code, d)| (code.clone(), d.id.clone()))
                .collect(),
            audit,
        )?;
        // Group commit: answered once the batch holding it is committed.
        match state.submissions.submit(job).await? {
            Created::New => {}
            Created::AssistRefused => {
                return Err(AppError::unprocessable("invalid_assist_code").field("on_behalf_of"))
            }
            Created::Replay {
                number,
                same_request: true,
            } => return replayed(state, caller, addr.clone(), &number).await,
            Created::Replay { .. } => {
                return Err(AppError::unprocessable("idempotency_key_reused"));
            }
        }
        if let Some(a) = &assist {
            // The citizen's access log shows who filed for them.
            let record =
                AuditRecord::new(caller.actor(), "application.assist", "citizen", me.as_str())
                    .purpose(format!("application {number}"))
                    .fields(["application"])
                    .client_addr(addr.clone());
            state.audit.record(record).await?;
            tracing::info!(helper = %a.helper, number = %number, "assisted application filed");
        }
        // Answered from what was just written, without reading it back: the rows are exactly
        // these, and a submission's reads are what limits how many the server takes a second.
        let first = store::Event {
            seq: 1,
            from_status: None,
            to_status: app.status,
            actor: caller.actor(),
            at: app.created_at.clone(),
            comment: None,
        };
        let mut view = ApplicationView::new(app, Some(vec![first]), calendar()?);
        view.payments = Some(Vec::new());
        view.documents = Some(
            attachments
                .into_iter()
                .map(|(code, d)| AttachedView {
                    code,
                    document: d.into(),
                })
                .collect(),
        );
        Ok((view, false))
    }
    .await;
    match attempt {
        // A retry of a request that was filed may no longer pass the checks (the assist code
        // it carried is spent, say): it is answered as the replay it is. Looked up only on
        // failure, so a first submission costs no extra read; the writer settles races.
        Err(e) => match store::replay(&state.db, &caller.actor(), &key).await? {
            Some((_, hash)) if hash != request_hash => {
                Err(AppError::unprocessable("idempotency_key_reused"))
            }
            Some((number, _)) => replayed(state, caller, addr, &number).await,
            None => Err(e),
        },
        ok => ok,
    }
}

/// The answer to a retried submission: the application as it is now, to a caller who may
/// read it now (staff's reading audited, as a GET's). Anyone else who sent the request (a
/// digital team member, whose one-time code was spent by the first) learns that it was
/// filed, under the number they were given then, and nothing of what it holds today.
async fn replayed(
    state: &AppState,
    caller: &Caller,
    addr: Option<String>,
    number: &str,
) -> Result<(ApplicationView, bool), AppError> {
    match load_for(state, caller, number, Action::ReadApplication).await {
        Ok(app) => {
            audit_read(state, caller, addr, &app).await?;
            Ok((detail(state, app).await?, true))
        }
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            Err(AppError::conflict("already_filed").arg("number", number))
        }
        Err(e) => Err(e),
    }
}

/// An application as just stored, in full.
async fn reloaded(state: &AppState, number: &str) -> Result<ApplicationView, AppError> {
    let stored = store::get(&state.db, number)
        .await?
        .ok_or_else(|| AppError::internal("a stored application vanished"))?;
    detail(state, stored).await
}

/// The full view: answers, documents, every move.
async fn detail(state: &AppState, app: Application) -> Result<ApplicationView, AppError> {
    let events = store::events(&state.db, &app.number).await?;
    let documents = sohoa_storage::files::attached(&state.db, &app.number).await?;
    let payments = sohoa_storage::payments::of_application(&state.db, &app.number).await?;
    let mut view = ApplicationView::new(app, Some(events), calendar()?);
    view.payments = Some(payments.into_iter().map(Into::into).collect());
    view.documents = Some(
        documents
            .into_iter()
            .map(|a| AttachedView {
                code: a.code,
                document: a.document.into(),
            })
            .collect(),
    );
    Ok(view)
}

/// The SHA-256 (hex) of an assist code as the citizen was shown it, dashes and case aside.
pub(crate) fn assist_code_hash(code: &str) -> Option<String> {
    LookupCode::parse(code).map(|c| c.hash())
}

/// Who decides: the procedure's agency, or the People's Committee of the applicant's commune.
async fn deciding_agency(
    state: &AppState,
    p: &Procedure,
    unit: &UnitCode,
) -> Result<AgencyCode, AppError> {
    match (p.level, &p.agency_code) {
        (Level::City, Some(a)) => Ok(a.clone()),
        _ => state
            .catalog
            .commune_agency(&state.db, unit.as_str())
            .await?
            .map(|a| a.code)
            .ok_or_else(|| AppError::unprocessable("no_deciding_agency")),
    }
}

fn parse_number(number: &str) -> Result<ApplicationNumber, AppError> {
    ApplicationNumber::parse(number).ok_or_else(|| AppError::not_found("application_not_found"))
}

/// Loads an application the caller may do `action` to; any refusal looks like absence to
/// a caller who may not even read it.
pub(crate) async fn load_for(
    state: &AppState,
    caller: &Caller,
    number: &str,
    action: Action,
) -> Result<Application, AppError> {
    let number = parse_number(number)?;
    let app = store::get(&state.db, number.as_str())
        .await?
        .ok_or_else(|| AppError::not_found("application_not_found"))?;
    let (agency, unit, citizen) = target_parts(&app)?;
    let target = Target {
        agency: Some(&agency),
        unit: Some(&unit),
        citizen: Some(&citizen),
        role: None,
    };
    // A draft is the applicant's alone until it is submitted.
    let hidden_draft = app.status == Status::Draft && !matches!(caller.0, Principal::Citizen(_));
    if hidden_draft
        || sohoa_domain::policy::authorize(&caller.0, Action::ReadApplication, &target).is_err()
    {
        return Err(AppError::not_found("application_not_found"));
    }
    caller.authorize(action, &target)?;
    Ok(app)
}

fn target_parts(app: &Application) -> Result<(AgencyCode, UnitCode, CitizenId), AppError> {
    let corrupt = |what: &str| AppError::internal(format!("application {}: {what}", app.number));
    Ok((
        AgencyCode::parse(&app.agency_code).map_err(|_| corrupt("agency"))?,
        UnitCode::parse(&app.unit_code).map_err(|_| corrupt("unit"))?,
        CitizenId::parse(&app.applicant).map_err(|_| corrupt("applicant"))?,
    ))
}

/// Staff reading an application read personal data: that goes in the audit log.
pub(crate) async fn audit_read(
    state: &AppState,
    caller: &Caller,
    addr: Option<String>,
    app: &Application,
) -> Result<(), AppError> {
    read_of(state, caller, addr, &app.applicant, &app.number).await
}

async fn read_of(
    state: &AppState,
    caller: &Caller,
    addr: Option<String>,
    applicant: &str,
    number: &str,
) -> Result<(), AppError> {
    if matches!(caller.0, Principal::Citizen(_)) {
        return Ok(());
    }
    let record = AuditRecord::new(caller.actor(), "application.read", "citizen", applicant)
        .purpose(format!("application {number}"))
        .fields(["application"])
        .actor_unit(caller.0.agency().map(ToString::to_string))
        .client_addr(addr);
    state.audit.record(record).await?;
    Ok(())
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
    let app = load_for(&state, &caller, &number, Action::ReadApplication).await?;
    audit_read(&state, &caller, addr, &app).await?;
    Ok(Json(detail(&state, app).await?))
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
    let app = load_for(&state, &caller, &number, Action::ReadApplication).await?;
    let attached = sohoa_storage::files::attached(&state.db, &app.number).await?;
    let doc = attached
        .into_iter()
        .find(|a| a.document.id == document_id)
        .ok_or_else(|| AppError::not_found("document_not_found"))?;
    audit_read(&state, &caller, addr, &app).await?;
    super::documents::content(&state, &doc.document).await
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
    let view = move_one(&state, &caller, addr.clone(), &number, &body).await?;
    // The answer carries the applicant's personal data: for staff, an audited read like
    // a GET, in the applicant's access log.
    audit_read_view(&state, &caller, addr, &view).await?;
    Ok(Json(view))
}

/// [`audit_read`] for an application answered in full.
async fn audit_read_view(
    state: &AppState,
    caller: &Caller,
    addr: Option<String>,
    view: &ApplicationView,
) -> Result<(), AppError> {
    let Some(applicant) = &view.applicant else {
        return Ok(());
    };
    read_of(state, caller, addr, applicant, &view.number).await
}

pub(crate) async fn move_one(
    state: &AppState,
    caller: &Caller,
    addr: Option<String>,
    number: &str,
    body: &TransitionRequest,
) -> Result<ApplicationView, AppError> {
    let app = load_for(state, caller, number, Action::ReadApplication).await?;
    let mover = app.status.mover_to(body.to).map_err(|_| {
        AppError::conflict("illegal_transition")
            .arg("from", app.status.as_str())
            .arg("to", body.to.as_str())
    })?;
    let (agency, unit, citizen) = target_parts(&app)?;
    let target = Target {
        agency: Some(&agency),
        unit: Some(&unit),
        citizen: Some(&citizen),
        role: None,
    };
    caller.authorize(
        match mover {
            Mover::Applicant => Action::Apply,
            Mover::Officer => Action::ProcessApplication,
        },
        &target,
    )?;
    if body.revision.is_some_and(|r| r != app.revision) {
        return Err(AppError::conflict("application_changed"));
    }
    if body.to == Status::Received && app.fee_payable.unwrap_or(0) > 0 && app.fee_paid_at.is_none()
    {
        return Err(AppError::conflict("fee_unpaid"));
    }
    let comment = match body.comment.as_deref().map(clean_text) {
        Some(Some(c)) if c.chars().count() <= 2000 => Some(c),
        Some(Some(_)) => {
            return Err(AppError::unprocessable("invalid_comment").field("comment"));
        }
        _ => None,
    };
    if comment.is_none()
        && matches!(
            body.to,
            Status::SupplementRequested | Status::Rejected | Status::Withdrawn
        )
    {
        return Err(AppError::unprocessable("comment_required").field("comment"));
    }
    let cal = calendar()?;
    let today = super::today();
    let now = store::now();
    let mut after = app.clone();
    after.status = body.to;
    after.updated_at = now.clone();
    let code = ProcedureCode::parse(&app.procedure_code)
        .ok_or_else(|| AppError::internal("a stored procedure code does not parse"))?;
    // A draft is submitted under the catalog as it is today, as if filed today; every other
    // move keeps the version the application was submitted under.
    let proc = if body.to == Status::Submitted {
        state.catalog.procedure(&state.db, &code).await?
    } else {
        procedures::get(&state.db, &code, Some(app.procedure_version)).await?
    }
    .ok_or_else(|| AppError::internal("an application's procedure version is missing"))?;
    let deadline = deadline_of(&app);
    let deadline = match (body.to, deadline) {
        (Status::Received, _) => Some(Deadline::start(cal, today, proc.procedure.deadline_days)),
        (Status::SupplementRequested, Some(d)) => Some(d.pause(today)),
        (Status::Resubmitted, Some(d)) => Some(d.resume(cal, today)),
        (_, d) => d,
    };
    if let Some(d) = deadline {
        after.received_on = Some(date_text(d.received_on));
        after.due_on = Some(date_text(d.due_on));
        after.paused_on = d.paused_on.map(date_text);
    }
    let mut fields = vec!["status".to_owned()];
    match body.to {
        Status::Submitted => {
            submit_draft(state, &proc, &citizen, &mut after).await?;
            after.submitted_at = Some(now.clone());
            fields.extend(
                [
                    "answers",
                    "fee",
                    "agency_code",
                    "unit_code",
                    "procedure_version",
                ]
                .map(String::from),
            );
        }
        Status::Approved | Status::Rejected => after.decided_at = Some(now.clone()),
        _ => {}
    }
    let record = AuditRecord::new(
        caller.actor(),
        format!("application.{}", body.to.as_str()),
        "application",
        &app.number,
    )
    .fields(fields)
    .actor_unit(caller.0.agency().map(ToString::to_string))
    .client_addr(addr);
    let result = if body.to == Status::ResultIssued {
        Some(super::results::sign(state, &app, &proc.procedure, &now).await?)
    } else {
        None
    };
    let mut tx = state.db.begin().await?;
    let keys = state.db.keyring()?;
    if !store::update(&mut tx, &keys, &app, &after, comment.as_deref(), record).await? {
        return Err(AppError::conflict("application_changed"));
    }
    if let Some(r) = &result {
        sohoa_storage::pki::save_result(&mut tx, r).await?;
    }
    tx.commit().await.map_err(StorageError::from)?;
    reloaded(state, &app.number).await
}

/// A draft becomes a submission exactly as if filed today: its typed answers checked again
/// with the registry's values as they are now, under the catalog's current version (fee,
/// waiver, documents), decided by the agency of the applicant's commune today. Everything
/// derived lands in `after`, which the move writes whole.
async fn submit_draft(
    state: &AppState,
    proc: &procedures::Versioned,
    citizen: &CitizenId,
    after: &mut Application,
) -> Result<(), AppError> {
    let p = &proc.procedure;
    let content = after.content.clone().unwrap_or_default();
    let typed: serde_json::Map<_, _> = content
        .answers
        .iter()
        .filter(|a| !a.prefilled)
        .map(|a| (a.key.clone(), a.value.clone()))
        .collect();
    let (records, unit) = records_for(state, p, citizen, after.enterprise.as_deref()).await?;
    let answers = fill(p, &records, &typed, Completeness::Submission).map_err(answer_error)?;
    units_in_force(state, p, &answers).await?;
    let flags = check_flags(p, &content.flags)?;
    let attached = sohoa_storage::files::attached(&state.db, &after.number).await?;
    let codes: Vec<&str> = attached.iter().map(|a| a.code.as_str()).collect();
    required_documents(p, &codes)?;
    let agency = deciding_agency(state, p, &unit).await?;
    (after.fee, after.fee_payable, after.waiver_basis) = fee_today(p);
    after.procedure_version = proc.version;
    after.agency_code = agency.to_string();
    after.unit_code = unit.to_string();
    after.content = Some(Content {
        answers,
        flags,
        lookup_code: content.lookup_code,
    });
    Ok(())
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
    let view = assign_one(
        &state,
        &caller,
        addr.clone(),
        &number,
        body.username.as_deref(),
    )
    .await?;
    audit_read_view(&state, &caller, addr, &view).await?;
    Ok(Json(view))
}

pub(crate) async fn assign_one(
    state: &AppState,
    caller: &Caller,
    addr: Option<String>,
    number: &str,
    username: Option<&str>,
) -> Result<ApplicationView, AppError> {
    let app = load_for(state, caller, number, Action::ProcessApplication).await?;
    if app.status.is_closed() {
        return Err(AppError::conflict("illegal_transition")
            .arg("from", app.status.as_str())
            .arg("to", app.status.as_str()));
    }
    if let Some(u) = username {
        let officer = sohoa_storage::accounts::staff_by_username(&state.db, u).await?;
        let fits = officer.is_some_and(|o| {
            o.role == Role::Officer.as_str()
                && o.disabled_at.is_none()
                && o.agency_code.as_deref() == Some(app.agency_code.as_str())
                && o.unit_code
                    .as_deref()
                    .is_none_or(|unit| unit == app.unit_code)
        });
        if !fits {
            return Err(AppError::unprocessable("invalid_assignee").field("username"));
        }
    }
    let mut after = app.clone();
    after.assigned_to = username.map(str::to_owned);
    after.updated_at = store::now();
    let record = AuditRecord::new(
        caller.actor(),
        "application.assign",
        "application",
        &app.number,
    )
    .fields(["assigned_to"])
    .actor_unit(caller.0.agency().map(ToString::to_string))
    .client_addr(addr);
    let mut tx = state.db.begin().await?;
    let keys = state.db.keyring()?;
    if !store::update(&mut tx, &keys, &app, &after, None, record).await? {
        return Err(AppError::conflict("application_changed"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    let stored = store::get(&state.db, &app.number)
        .await?
        .ok_or_else(|| AppError::internal("a stored application vanished"))?;
    Ok(ApplicationView::new(stored, None, calendar()?))
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
    if body.to.is_some() == body.assign.is_some() {
        return Err(AppError::unprocessable("invalid_bulk").field("to"));
    }
    let mut results = Vec::with_capacity(body.numbers.len());
    for number in &body.numbers {
        let outcome = match (body.to, &body.assign) {
            (Some(to), _) => {
                let req = TransitionRequest {
                    to,
                    comment: body.comment.clone(),
                    revision: None,
                };
                move_one(&state, &caller, addr.clone(), number, &req)
                    .await
                    .map(drop)
            }
            (None, Some(u)) => assign_one(&state, &caller, addr.clone(), number, Some(u))
                .await
                .map(drop),
            (None, None) => Ok(()),
        };
        results.push(match outcome {
            Ok(()) => BulkOutcome {
                number: number.clone(),
                status: 200,
                code: None,
            },
            // A failure of the store is the whole request's, not one application's.
            Err(e) if e.status.is_server_error() => return Err(e),
            Err(e) => BulkOutcome {
                number: number.clone(),
                status: e.status.as_u16(),
                code: Some(e.code.to_owned()),
            },
        });
    }
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
    let mut q = store::Query::default();
    let bad = |field: &'static str| {
        AppError::bad_request("invalid_query")
            .arg("detail", field)
            .field(field)
    };
    match &caller.0 {
        Principal::Citizen(me) => q.applicant = Some(me.to_string()),
        Principal::Staff(s) if matches!(s.role, Role::Officer | Role::Leader) => {
            q.agency = s.agency.as_ref().map(ToString::to_string);
            q.unit = s.unit.as_ref().map(ToString::to_string);
            q.submitted_only = true;
            if s.role == Role::Officer && q.agency.is_none() {
                return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden"));
            }
            q.assigned_to = match p.assigned.as_deref().filter(|a| !a.is_empty()) {
                None => None,
                Some("none") => Some(String::new()),
                Some("me") => Some(s.username.clone()),
                Some(u) => Some(u.to_owned()),
            };
        }
        _ => return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden")),
    }
    // Narrowing only: a bound member of staff asking for another unit or agency sees none
    // of it, which the policy's answer for the target makes a 403.
    if matches!(&caller.0, Principal::Staff(_)) {
        if let Some(u) = p.unit.as_deref().filter(|s| !s.is_empty()) {
            let unit = UnitCode::parse(u).map_err(|_| bad("unit"))?.to_string();
            if q.unit.as_ref().is_some_and(|mine| *mine != unit) {
                return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden"));
            }
            q.unit = Some(unit);
        }
        if let Some(a) = p.agency.as_deref().filter(|s| !s.is_empty()) {
            let agency = AgencyCode::parse(a).map_err(|_| bad("agency"))?;
            caller.authorize(Action::ReadApplication, &Target::agency(&agency))?;
            q.agency = Some(agency.to_string());
        }
    }
    if let Some(s) = p.status.as_deref().filter(|s| !s.is_empty()) {
        q.status = Some(Status::parse(s).ok_or_else(|| bad("status"))?);
    }
    if let Some(c) = p.procedure.as_deref().filter(|s| !s.is_empty()) {
        q.procedure = Some(
            ProcedureCode::parse(c)
                .ok_or_else(|| bad("procedure"))?
                .to_string(),
        );
    }
    if let Some(d) = p.due_by.as_deref().filter(|s| !s.is_empty()) {
        q.due_by = Some(date_text(
            parse_date("due_by", d).map_err(|_| bad("due_by"))?,
        ));
    }
    if p.overdue == Some(true) {
        q.overdue_on = Some(date_text(super::today()));
    }
    let after = match p.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => {
            let (due_key, number) = super::decode_cursor(a).ok_or_else(|| bad("after"))?;
            Some(store::QueueCursor { due_key, number })
        }
        None => None,
    };
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::bad_request("invalid_page"));
    }
    let cal = calendar()?;
    let (items, next) = store::list(&state.db, &q, after.as_ref(), limit).await?;
    let own = matches!(caller.0, Principal::Citizen(_));
    Ok(Json(ApplicationPage {
        next: next.map(|c| super::encode_cursor(&(c.due_key, c.number))),
        items: items
            .into_iter()
            .map(|a| {
                let mut view = ApplicationView::new(a, None, cal);
                if !own {
                    view.applicant = None;
                }
                view
            })
            .collect(),
    }))
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
    let number = parse_number(&q.number)?;
    let code = LookupCode::parse(&q.code).ok_or_else(not_found)?;
    let a = store::by_lookup(&state.db, number.as_str(), &code.hash())
        .await?
        .ok_or_else(not_found)?;
    let view = ApplicationView::new(a, None, calendar()?);
    Ok(Json(PublicStatus {
        number: view.number,
        procedure_code: view.procedure_code,
        status: view.status,
        submitted_at: view.submitted_at,
        received_on: view.received_on,
        due_on: view.due_on,
        overdue: view.overdue,
        decided_at: view.decided_at,
        updated_at: view.updated_at,
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

/// How long a citizen's assist code stays valid.
const ASSIST_CODE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// A one-time code for a community digital team member to file one application for the
/// signed-in citizen, valid for 30 minutes.
#[utoipa::path(post, path = "/api/v1/me/assist-codes", tag = "identity", security(("bearer" = [])),
    responses((status = 201, body = AssistCode), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn create_assist_code(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
) -> ApiResult<(StatusCode, Json<AssistCode>)> {
    let Principal::Citizen(me) = &caller.0 else {
        return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden"));
    };
    caller.authorize(Action::ManageOwnConsents, &Target::citizen(me))?;
    let code = LookupCode::from_random(crate::auth::random_bytes::<8>()?);
    let expires_at = crate::auth::later_by(ASSIST_CODE_LIFETIME, true).to_string();
    let record = AuditRecord::new(caller.actor(), "assist_code.create", "citizen", me.as_str())
        .client_addr(addr);
    let mut tx = state.db.begin().await?;
    store::create_assist_code(&mut tx, me.as_str(), &code.hash(), &expires_at, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(AssistCode {
            code: code.to_string(),
            expires_at,
        }),
    ))
}
