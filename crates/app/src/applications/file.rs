//! Filing an application: the online form's, the API's and the counter's one path.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Principal, Role, Target};
use sohoa_domain::registry::clean_text;
use sohoa_domain::services::application::{
    fill, Answer, AnswerError, ApplicationNumber, Completeness, Content, Flag, LookupCode, Records,
};
use sohoa_domain::services::channel::Channel;
use sohoa_domain::services::procedure::{FieldKind, Level, Procedure, ProcedureCode};
use sohoa_domain::services::workflow::Status;
use sohoa_domain::{CitizenId, Money, TaxCode, UnitCode};
use sohoa_storage::applications::{self as store, Application, Created, Event, IdempotencyKey};
use sohoa_storage::files::{Attached, Document};
use sohoa_storage::registry;

use super::{audit_read, detail, load_for, Detail};
use crate::{Acting, App, Error, Result};

/// What an application is filed with.
#[derive(Debug, Clone)]
pub struct FileApplication {
    pub procedure_code: ProcedureCode,
    /// The typed answers by field key; pre-filled fields come from the registries.
    pub answers: serde_json::Map<String, serde_json::Value>,
    /// Pre-filled fields the applicant says are wrong.
    pub flags: Vec<Flag>,
    pub documents: Vec<Attachment>,
    /// Applying as the legal representative of this enterprise.
    pub enterprise: Option<TaxCode>,
    /// For a digital team member: the citizen helped, with the code they gave.
    pub on_behalf_of: Option<Behalf>,
    /// Submitted now, or kept as a draft.
    pub submit: bool,
    pub idempotency: Idempotency,
}

/// A document of the applicant's store attached under one of the procedure's codes.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub code: String,
    pub document_id: String,
}

/// The citizen a digital team member files for, and the digest of the one-time code the
/// citizen gave them.
#[derive(Debug, Clone)]
pub struct Behalf {
    pub citizen: CitizenId,
    pub code_hash: String,
}

/// A submission's key, unique per caller, and the digest of the request as the channel
/// received it: a retry with the same key and request is answered with what was filed.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

/// What was filed; `replayed` when the key was used before and this is that application.
#[derive(Debug)]
pub struct Filed {
    pub detail: Detail,
    pub replayed: bool,
}

/// Files an application for the caller (or the citizen they help): registry fields
/// pre-filled, typed fields checked, the fee computed (and waived when a waiver is in
/// force), written by the group commit with its audit entry and idempotency key.
pub async fn file(app: &App, who: Acting<'_>, cmd: FileApplication) -> Result<Filed> {
    file_by(app, who, cmd, None).await
}

/// [`file`] for the applicant of the caller's choosing at a counter (`counter`: the
/// counter's agency and the person there), or, without it, the caller or the citizen they
/// help.
pub(crate) async fn file_by(
    app: &App,
    who: Acting<'_>,
    cmd: FileApplication,
    counter: Option<Counter>,
) -> Result<Filed> {
    let key = cmd.idempotency.clone();
    match attempt(app, who, cmd, counter).await {
        // A retry of a request that was filed may no longer pass the checks (the assist
        // code it carried is spent, say): it is answered as the replay it is. Looked up only
        // on failure, so a first submission costs no extra read; the writer settles races.
        Err(e) => match store::replay(&app.db, &who.actor(), &key.key).await? {
            Some((_, hash)) if hash != key.request_hash => {
                Err(Error::unprocessable("idempotency_key_reused"))
            }
            Some((number, _)) => replayed(app, who, &number).await,
            None => Err(e),
        },
        ok => ok,
    }
}

/// Who applies: the signed-in citizen, or the citizen a digital team member helps with
/// the one-time code the citizen gave them.
async fn applicant(
    app: &App,
    who: &Principal,
    behalf: Option<&Behalf>,
) -> Result<(CitizenId, Option<store::Assist>)> {
    let refused = || Error::unprocessable("invalid_assist_code").field("on_behalf_of");
    match (who, behalf) {
        (Principal::Citizen(id), None) => Ok((id.clone(), None)),
        (Principal::Staff(s), Some(b)) if s.role == Role::DigitalTeam => {
            if !store::assist_code_live(&app.db, b.citizen.as_str(), &b.code_hash).await? {
                return Err(refused());
            }
            let assist = store::Assist {
                helper: s.username.clone(),
                code_hash: b.code_hash.clone(),
            };
            Ok((b.citizen.clone(), Some(assist)))
        }
        (Principal::Staff(s), None) if s.role == Role::DigitalTeam => Err(refused()),
        _ => Err(Error::forbidden("forbidden")),
    }
}

/// A filing at a one-stop counter: whose counter, for whom. It is kept as a draft until
/// the applicant confirms it there (their one-time code, or their signature on the
/// receipt), but checked in full now, as a submission: the person is still at the desk.
#[derive(Debug, Clone)]
pub(crate) struct Counter {
    pub agency: AgencyCode,
    pub applicant: CitizenId,
}

/// The checked content of a filing, before it becomes a row.
struct Checked {
    applicant: CitizenId,
    assist: Option<store::Assist>,
    counter: Option<AgencyCode>,
    version: i64,
    unit: UnitCode,
    agency: AgencyCode,
    records: Records,
    answers: Vec<Answer>,
    flags: Vec<Flag>,
    attachments: Vec<(String, Document)>,
    fee: (Option<Money>, Option<Money>, Option<String>),
}

async fn check(
    app: &App,
    who: &Principal,
    cmd: &FileApplication,
    counter: Option<Counter>,
) -> Result<Checked> {
    let (me, assist, counter) = match counter {
        Some(c) if cmd.on_behalf_of.is_none() => (c.applicant, None, Some(c.agency)),
        Some(_) => return Err(Error::forbidden("forbidden")),
        None => {
            let (me, assist) = applicant(app, who, cmd.on_behalf_of.as_ref()).await?;
            (me, assist, None)
        }
    };
    let proc = app
        .catalog
        .procedure(&app.db, &cmd.procedure_code)
        .await?
        .ok_or_else(|| Error::unprocessable("procedure_not_found").field("procedure_code"))?;
    let p = &proc.procedure;
    let (records, unit) = records_for(app, p, &me, cmd.enterprise.as_ref()).await?;
    let target = Target {
        citizen: Some(&me),
        unit: Some(&unit),
        ..Target::default()
    };
    let action = if counter.is_some() {
        Action::CounterIntake
    } else {
        Action::Apply
    };
    crate::authorize(who, action, &target)?;
    let completeness = if cmd.submit {
        Completeness::Submission
    } else {
        Completeness::Draft
    };
    let answers = fill(p, &records, &cmd.answers, completeness).map_err(answer_error)?;
    units_in_force(app, p, &answers).await?;
    let flags = check_flags(p, &cmd.flags)?;
    let mut attachments = check_documents(app, p, &me, &cmd.documents).await?;
    // In the order, and as often, the application will list them.
    attachments.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
    attachments.dedup_by(|a, b| a.0 == b.0 && a.1.id == b.1.id);
    if cmd.submit {
        let codes: Vec<&str> = attachments.iter().map(|(c, _)| c.as_str()).collect();
        required_documents(p, &codes)?;
    }
    Ok(Checked {
        agency: deciding_agency(app, p, &unit).await?,
        fee: if cmd.submit {
            fee_today(p)
        } else {
            (None, None, None)
        },
        applicant: me,
        assist,
        counter,
        version: proc.version,
        unit,
        records,
        answers,
        flags,
        attachments,
    })
}

/// The row of a checked filing.
fn row_of(cmd: &FileApplication, c: Checked, lookup_code: &LookupCode) -> Result<Application> {
    let now = store::now();
    let (fee, fee_payable, waiver_basis) = c.fee;
    let channel = match (&c.counter, &c.assist, cmd.enterprise.is_some()) {
        (Some(_), _, _) => Channel::Counter,
        (None, Some(_), _) => Channel::Assisted,
        (None, None, true) => Channel::Enterprise,
        (None, None, false) => Channel::Online,
    };
    // A counter's filing waits for the applicant's confirmation as a draft.
    let submitted = cmd.submit && c.counter.is_none();
    Ok(Application {
        number: ApplicationNumber::from_random(crate::random_bytes::<8>()?),
        procedure_code: cmd.procedure_code.clone(),
        procedure_version: c.version,
        applicant: c.applicant,
        agency_code: c.agency,
        unit_code: c.unit,
        status: if submitted {
            Status::Submitted
        } else {
            Status::Draft
        },
        content: Some(Content {
            answers: c.answers,
            flags: c.flags,
            lookup_code: lookup_code.to_string(),
        }),
        fee,
        fee_payable,
        waiver_basis,
        assigned_to: None,
        created_at: now,
        submitted_at: submitted.then_some(now),
        received_on: None,
        due_on: None,
        paused_on: None,
        decided_at: None,
        updated_at: now,
        revision: 1,
        lookup_hash: lookup_code.hash(),
        assisted_by: c.assist.as_ref().map(|a| a.helper.clone()),
        fee_paid_at: None,
        enterprise: c
            .records
            .enterprise
            .as_ref()
            .and_then(|e| e.get("tax_code"))
            .and_then(|t| t.as_str())
            .and_then(|t| TaxCode::parse(t).ok()),
        channel,
        intake_agency: c.counter,
    })
}

async fn attempt(
    app: &App,
    who: Acting<'_>,
    cmd: FileApplication,
    counter: Option<Counter>,
) -> Result<Filed> {
    let mut checked = check(app, who.principal, &cmd, counter).await?;
    let assist = checked.assist.clone();
    let me = checked.applicant.clone();
    let attachments = std::mem::take(&mut checked.attachments);
    let lookup_code = LookupCode::from_random(crate::random_bytes::<8>()?);
    let row = row_of(&cmd, checked, &lookup_code)?;
    let audit = filing_record(who, &row);
    let idem = IdempotencyKey {
        owner: who.actor(),
        key: cmd.idempotency.key.clone(),
        request_hash: cmd.idempotency.request_hash.clone(),
    };
    let job = store::NewApplication::new(
        &*app.db.keyring()?,
        row.clone(),
        Some(idem),
        assist.clone(),
        attachments
            .iter()
            .map(|(code, d)| (code.clone(), d.id.clone()))
            .collect(),
        audit,
    )?;
    // Group commit: answered once the batch holding it is committed.
    match app.submissions.submit(job).await? {
        Created::New => {}
        Created::AssistRefused => {
            return Err(Error::unprocessable("invalid_assist_code").field("on_behalf_of"))
        }
        Created::Replay {
            number,
            same_request: true,
        } => return replayed(app, who, &number).await,
        Created::Replay { .. } => return Err(Error::unprocessable("idempotency_key_reused")),
    }
    if let Some(a) = &assist {
        // The citizen's access log shows who filed for them.
        let record = AuditRecord::new(who.actor(), "application.assist", "citizen", me.as_str())
            .purpose(format!("application {}", row.number))
            .fields(["application"])
            .client_addr(who.addr());
        app.audit.record(record).await?;
        tracing::info!(helper = %a.helper, number = %row.number, "assisted application filed");
    }
    // Answered from what was just written, without reading it back: the rows are exactly
    // these, and a submission's reads are what limits how many the server takes a second.
    let first = Event {
        seq: 1,
        from_status: None,
        to_status: row.status,
        actor: who.actor(),
        at: row.created_at,
        comment: None,
    };
    Ok(Filed {
        detail: Detail {
            application: row,
            events: vec![first],
            documents: attachments
                .into_iter()
                .map(|(code, document)| Attached { code, document })
                .collect(),
            payments: Vec::new(),
            signature: None,
        },
        replayed: false,
    })
}

/// The audit entry of a filing: what kind, and the answers' keys (never their values).
fn filing_record(who: Acting<'_>, row: &Application) -> AuditRecord {
    let action = match (row.status, row.channel) {
        (_, Channel::Counter) => "application.counter_intake",
        (Status::Submitted, _) => "application.submit",
        _ => "application.create",
    };
    AuditRecord::new(who.actor(), action, "application", row.number.as_str())
        .fields(
            row.content
                .iter()
                .flat_map(|c| c.answers.iter().map(|a| a.key.clone())),
        )
        .client_addr(who.addr())
}

/// The answer to a retried submission: the application as it is now, to a caller who may
/// read it now (staff's reading audited, as a read's). Anyone else who sent the request (a
/// digital team member, whose one-time code was spent by the first) learns that it was
/// filed, under the number they were given then, and nothing of what it holds today.
async fn replayed(app: &App, who: Acting<'_>, number: &str) -> Result<Filed> {
    match load_for(app, who.principal, number, Action::ReadApplication).await {
        Ok(found) => {
            audit_read(app, who, &found.applicant, &found.number).await?;
            Ok(Filed {
                detail: detail(app, found).await?,
                replayed: true,
            })
        }
        Err(e) if e.kind == crate::Kind::NotFound => {
            Err(Error::conflict("already_filed").arg("number", number))
        }
        Err(e) => Err(e),
    }
}

/// A commune typed into an answer must exist and be in force today: a well-formed code of
/// a unit merged away in 2025, or of none at all, is refused beside its field.
pub(super) async fn units_in_force(app: &App, p: &Procedure, answers: &[Answer]) -> Result<()> {
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
        if sohoa_storage::units::get(&app.db, &code, crate::today())
            .await?
            .is_none()
        {
            return Err(Error::unprocessable("unknown_unit")
                .field(a.key.clone())
                .arg("code", code.as_str()));
        }
    }
    Ok(())
}

pub(super) fn answer_error(errs: Vec<AnswerError>) -> Error {
    let detail = errs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let field = errs.first().map(|e| e.field.clone()).unwrap_or_default();
    Error::unprocessable("invalid_answers")
        .field(field)
        .arg("detail", &detail)
        .detail(detail)
}

/// The records an application draws on, and the unit whose People's Committee decides a
/// commune-level procedure: the applicant's residence, or the enterprise's seat when they
/// apply as its legal representative (checked here).
pub(crate) async fn records_for(
    app: &App,
    p: &Procedure,
    id: &CitizenId,
    enterprise: Option<&TaxCode>,
) -> Result<(Records, UnitCode)> {
    let found = registry::citizens::get(&app.db, id)
        .await?
        .ok_or_else(|| Error::unprocessable("unknown_citizen"))?;
    let mut unit = found.citizen.permanent_address.unit_code.clone();
    let as_object = |v: Result<serde_json::Value, serde_json::Error>| match v {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(Error::internal("a registry record is not a JSON object")),
    };
    let mut records = Records {
        citizen: as_object(serde_json::to_value(&found.citizen))?,
        enterprise: None,
        as_of: Some(crate::today()),
    };
    let needs_enterprise = p.form.iter().any(|f| {
        f.source
            .as_ref()
            .is_some_and(|s| s.registry == sohoa_domain::sharing::RegistryName::Enterprises)
    });
    match enterprise {
        None if needs_enterprise => {
            return Err(Error::unprocessable("enterprise_required").field("enterprise"))
        }
        None => {}
        Some(tax) => {
            let e = registry::enterprises::get(&app.db, tax)
                .await?
                .ok_or_else(|| Error::unprocessable("record_not_found").field("enterprise"))?;
            if e.enterprise.legal_representative != *id {
                return Err(Error::forbidden("not_legal_representative").field("enterprise"));
            }
            unit = e.enterprise.address.unit_code.clone();
            records.enterprise = Some(as_object(serde_json::to_value(&e.enterprise))?);
        }
    }
    Ok((records, unit))
}

pub(super) fn check_flags(p: &Procedure, flags: &[Flag]) -> Result<Vec<Flag>> {
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
    app: &App,
    p: &Procedure,
    applicant: &CitizenId,
    given: &[Attachment],
) -> Result<Vec<(String, Document)>> {
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
        let owned = sohoa_storage::files::get(&app.db, &a.document_id)
            .await?
            .filter(|d| &d.owner == applicant);
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
pub(super) fn required_documents(p: &Procedure, attached: &[&str]) -> Result<()> {
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

/// The fee fields of a submission made today: the fee, what is payable after a waiver,
/// and the waiver's basis.
pub(super) fn fee_today(p: &Procedure) -> (Option<Money>, Option<Money>, Option<String>) {
    match p.fee_on(crate::today()) {
        None => (None, None, None),
        Some(due) => (
            Some(due.fee),
            Some(due.payable()),
            due.waived_by.map(|w| w.basis.clone()),
        ),
    }
}

/// Who decides: the procedure's agency, or the People's Committee of the applicant's
/// commune.
pub(super) async fn deciding_agency(
    app: &App,
    p: &Procedure,
    unit: &UnitCode,
) -> Result<AgencyCode> {
    match (p.level, &p.agency_code) {
        (Level::City, Some(a)) => Ok(a.clone()),
        _ => app
            .catalog
            .commune_agency(&app.db, unit.as_str())
            .await?
            .map(|a| a.code)
            .ok_or_else(|| Error::unprocessable("no_deciding_agency")),
    }
}

/// What a form for an application starts from: the procedure in force, whom it is for,
/// their registry records (as filing will take them) and their documents to attach.
#[derive(Debug)]
pub struct Prepared {
    pub procedure: sohoa_storage::procedures::Versioned,
    pub applicant: CitizenId,
    pub records: Records,
    pub documents: Vec<Document>,
}

/// Documents offered for attaching, at most.
const DOCUMENTS_OFFERED: i64 = 200;

/// Prepares a form of procedure `code` for the signed-in citizen, or for the citizen a
/// community digital team member holds a live assist code of (`behalf`): the helper's
/// reading of the citizen's records is audited.
pub async fn prepare(
    app: &App,
    who: Acting<'_>,
    code: &ProcedureCode,
    behalf: Option<&Behalf>,
) -> Result<Prepared> {
    let (applicant, assist) = applicant(app, who.principal, behalf).await?;
    let procedure = crate::catalog::in_force(app, code)
        .await?
        .ok_or_else(|| Error::not_found("procedure_not_found"))?;
    let (records, _) = records_for(app, &procedure.procedure, &applicant, None).await?;
    if assist.is_some() {
        // A helper sees the citizen's registry fields on the form: a read of personal data
        // like any other, which the citizen finds in "who read my data".
        let shown: Vec<String> = procedure
            .procedure
            .form
            .iter()
            .filter(|f| f.source.is_some())
            .map(|f| f.key.clone())
            .collect();
        let record = AuditRecord::new(
            who.actor(),
            "citizen.read_assisted",
            "citizen",
            applicant.as_str(),
        )
        .fields(shown)
        .purpose("assisted application")
        .client_addr(who.addr());
        app.audit.record(record).await?;
    }
    let documents =
        sohoa_storage::files::list(&app.db, applicant.as_str(), DOCUMENTS_OFFERED).await?;
    Ok(Prepared {
        procedure,
        applicant,
        records,
        documents,
    })
}
