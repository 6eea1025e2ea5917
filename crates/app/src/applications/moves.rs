//! Moving applications through the status machine, assigning them, and both in bulk.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Role, Target};
use sohoa_domain::registry::clean_text;
use sohoa_domain::services::application::{
    fill, ApplicationNumber, Completeness, Content, Deadline,
};
use sohoa_domain::services::workflow::{Mover, Status};
use sohoa_storage::applications::{self as store, Application};
use sohoa_storage::{procedures, StorageError};

use super::file::{
    answer_error, check_flags, deciding_agency, fee_today, records_for, required_documents,
    units_in_force,
};
use super::{audit_read, load_for, reloaded, Detail};
use crate::{Acting, App, Error, Result};

/// A move of one application.
#[derive(Debug, Clone)]
pub struct Transition {
    pub to: Status,
    /// Why: required when asking for a supplement, rejecting or withdrawing.
    pub comment: Option<String>,
    /// The revision the caller saw; when given and stale, the move is refused.
    pub revision: Option<i64>,
}

/// The deadline as stored on an application.
pub fn deadline_of(a: &Application) -> Option<Deadline> {
    Some(Deadline {
        received_on: a.received_on?,
        due_on: a.due_on?,
        paused_on: a.paused_on,
    })
}

/// Whether an application is overdue on `today`: its clock runs and the due day has passed.
pub fn overdue(a: &Application, today: time::Date) -> bool {
    a.status.clock_runs() && deadline_of(a).is_some_and(|d| d.overdue_on(today))
}

/// The comment of a move, cleaned; required where the move needs a reason.
fn comment_of(t: &Transition) -> Result<Option<String>> {
    let comment = match t.comment.as_deref().map(clean_text) {
        Some(Some(c)) if c.chars().count() <= 2000 => Some(c),
        Some(Some(_)) => return Err(Error::unprocessable("invalid_comment").field("comment")),
        _ => None,
    };
    if comment.is_none() && t.to.needs_comment() {
        return Err(Error::unprocessable("comment_required").field("comment"));
    }
    Ok(comment)
}

/// [`move_to`], answered with the application as it now is: for staff, an audited read
/// of the applicant's personal data, in the applicant's access log.
pub async fn transition(
    app: &App,
    who: Acting<'_>,
    number: &str,
    t: &Transition,
) -> Result<Detail> {
    let number = move_to(app, who, number, t).await?;
    let d = reloaded(app, &number).await?;
    audit_read(app, who, &d.application.applicant, &number).await?;
    Ok(d)
}

/// Moves an application: the applicant submits, resubmits or withdraws; an officer of the
/// deciding agency receives, reviews, asks for a supplement, decides and issues the result.
/// Everything the move derives (deadline, fee, decision time, the signed result) is written
/// by the one statement that writes the move. Answers the application's number.
pub async fn move_to(
    app: &App,
    who: Acting<'_>,
    number: &str,
    t: &Transition,
) -> Result<ApplicationNumber> {
    let found = load_for(app, who.principal, number, Action::ReadApplication).await?;
    let mover = found.status.mover_to(t.to).map_err(|_| {
        Error::conflict("illegal_transition")
            .arg("from", found.status.as_str())
            .arg("to", t.to.as_str())
    })?;
    let target = Target {
        agency: Some(&found.agency_code),
        unit: Some(&found.unit_code),
        citizen: Some(&found.applicant),
        role: None,
    };
    let action = match mover {
        Mover::Applicant => Action::Apply,
        Mover::Officer => Action::ProcessApplication,
    };
    crate::authorize(who.principal, action, &target)?;
    if t.revision.is_some_and(|r| r != found.revision) {
        return Err(Error::conflict("application_changed"));
    }
    if !t
        .to
        .fee_allows(found.fee_payable, found.fee_paid_at.is_some())
    {
        return Err(Error::conflict("fee_unpaid"));
    }
    let comment = comment_of(t)?;
    let (after, fields, proc) = moved(app, &found, t.to).await?;
    super::signing::unsigned_gate(app, &found, &proc.procedure, t.to).await?;
    let record = AuditRecord::new(
        who.actor(),
        format!("application.{}", t.to.as_str()),
        "application",
        found.number.as_str(),
    )
    .fields(fields)
    .actor_unit(who.principal.agency().map(ToString::to_string))
    .client_addr(who.addr());
    // The result and its signed PDF are made before the transaction (signing and the PDF's
    // bytes take time no lock should wait for); a move that then loses its race leaves only
    // an unreferenced file in the store.
    let result = if t.to == Status::ResultIssued {
        let r = super::results::sign(app, &found, &proc.procedure, after.updated_at).await?;
        let paper = super::results::paper(app, &found, &proc.procedure, &r).await?;
        Some((r, paper))
    } else {
        None
    };
    let mut tx = app.db.begin().await?;
    let keys = app.db.keyring()?;
    if !store::update(&mut tx, &keys, &found, &after, comment.as_deref(), record).await? {
        return Err(Error::conflict("application_changed"));
    }
    if let Some((r, (doc, record))) = &result {
        sohoa_storage::pki::save_result(&mut tx, r).await?;
        // The result joins the applicant's documents in the same transaction, so that a
        // later application can attach it by reference.
        sohoa_storage::files::add(&mut tx, doc, record.clone()).await?;
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(found.number)
}

/// The application after a move to `to`, the fields the move changed beside the status,
/// and the catalog entry it is now under.
pub(crate) async fn moved(
    app: &App,
    found: &Application,
    to: Status,
) -> Result<(Application, Vec<String>, procedures::Versioned)> {
    let now = store::now();
    let mut after = found.clone();
    after.status = to;
    after.updated_at = now;
    let code = &found.procedure_code;
    // A draft is submitted under the catalog as it is today, as if filed today; every other
    // move keeps the version the application was submitted under.
    let proc = if to == Status::Submitted {
        app.catalog.procedure(&app.db, code).await?
    } else {
        procedures::get(&app.db, code, Some(found.procedure_version)).await?
    }
    .ok_or_else(|| Error::internal("an application's procedure version is missing"))?;
    let deadline = Deadline::after_move(
        deadline_of(found),
        to,
        crate::calendar()?,
        crate::today(),
        proc.procedure.deadline_days,
    );
    if let Some(d) = deadline {
        after.received_on = Some(d.received_on);
        after.due_on = Some(d.due_on);
        after.paused_on = d.paused_on;
    }
    let mut fields = vec!["status".to_owned()];
    match to {
        Status::Submitted => {
            submit_draft(app, &proc, &mut after).await?;
            after.submitted_at = Some(now);
            let derived = [
                "answers",
                "fee",
                "agency_code",
                "unit_code",
                "procedure_version",
            ];
            fields.extend(derived.map(String::from));
        }
        Status::Approved | Status::Rejected => after.decided_at = Some(now),
        _ => {}
    }
    Ok((after, fields, proc))
}

/// A draft becomes a submission exactly as if filed today: its typed answers checked again
/// with the registry's values as they are now, under the catalog's current version (fee,
/// waiver, documents), decided by the agency of the applicant's commune today. Everything
/// derived lands in `after`, which the move writes whole.
async fn submit_draft(
    app: &App,
    proc: &procedures::Versioned,
    after: &mut Application,
) -> Result<()> {
    let p = &proc.procedure;
    let content = after.content.clone().unwrap_or_default();
    let typed: serde_json::Map<_, _> = content
        .answers
        .iter()
        .filter(|a| !a.prefilled)
        .map(|a| (a.key.clone(), a.value.clone()))
        .collect();
    let (records, unit) = records_for(app, p, &after.applicant, after.enterprise.as_ref()).await?;
    let answers = fill(p, &records, &typed, Completeness::Submission).map_err(answer_error)?;
    units_in_force(app, p, &answers).await?;
    let flags = check_flags(p, &content.flags)?;
    let attached = sohoa_storage::files::attached(&app.db, &after.number).await?;
    let codes: Vec<&str> = attached.iter().map(|a| a.code.as_str()).collect();
    required_documents(p, &codes)?;
    let agency = deciding_agency(app, p, &unit).await?;
    (after.fee, after.fee_payable, after.waiver_basis) = fee_today(p);
    after.procedure_version = proc.version;
    after.agency_code = agency;
    after.unit_code = unit;
    after.content = Some(Content {
        answers,
        flags,
        lookup_code: content.lookup_code,
    });
    Ok(())
}

/// [`assign_to`], answered with the application as stored (without its history): for
/// staff, an audited read.
pub async fn assign(
    app: &App,
    who: Acting<'_>,
    number: &str,
    username: Option<&str>,
) -> Result<Application> {
    let number = assign_to(app, who, number, username).await?;
    let stored = store::get(&app.db, &number)
        .await?
        .ok_or_else(|| Error::internal("a stored application vanished"))?;
    audit_read(app, who, &stored.applicant, &number).await?;
    Ok(stored)
}

/// Assigns an application to an officer of its agency (and unit), or takes the assignment
/// back (`None`). Answers the application's number.
pub async fn assign_to(
    app: &App,
    who: Acting<'_>,
    number: &str,
    username: Option<&str>,
) -> Result<ApplicationNumber> {
    let found = load_for(app, who.principal, number, Action::ProcessApplication).await?;
    if found.status.is_closed() {
        return Err(Error::conflict("illegal_transition")
            .arg("from", found.status.as_str())
            .arg("to", found.status.as_str()));
    }
    if let Some(u) = username {
        let officer = sohoa_storage::accounts::staff_by_username(&app.db, u).await?;
        let fits = officer.is_some_and(|o| {
            o.role == Role::Officer
                && o.disabled_at.is_none()
                && o.agency_code.as_ref() == Some(&found.agency_code)
                && o.unit_code.is_none_or(|unit| unit == found.unit_code)
        });
        if !fits {
            return Err(Error::unprocessable("invalid_assignee").field("username"));
        }
    }
    let mut after = found.clone();
    after.assigned_to = username.map(str::to_owned);
    after.updated_at = store::now();
    let record = AuditRecord::new(
        who.actor(),
        "application.assign",
        "application",
        found.number.as_str(),
    )
    .fields(["assigned_to"])
    .actor_unit(who.principal.agency().map(ToString::to_string))
    .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    let keys = app.db.keyring()?;
    if !store::update(&mut tx, &keys, &found, &after, None, record).await? {
        return Err(Error::conflict("application_changed"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(found.number)
}

/// One action done to many applications.
#[derive(Debug, Clone)]
pub enum BulkAction {
    Move { to: Status, comment: Option<String> },
    Assign(String),
}

/// One action on many applications (receive a morning's submissions, assign a batch):
/// each application succeeds or fails on its own, and the answer says which did what. A
/// failure of the system (the database) is the whole batch's.
pub async fn bulk(
    app: &App,
    who: Acting<'_>,
    numbers: &[String],
    action: &BulkAction,
) -> Result<Vec<(String, Result<()>)>> {
    if numbers.is_empty() || numbers.len() > 200 {
        return Err(Error::unprocessable("invalid_bulk").field("numbers"));
    }
    let mut results = Vec::with_capacity(numbers.len());
    for number in numbers {
        let outcome = match action {
            BulkAction::Move { to, comment } => {
                let t = Transition {
                    to: *to,
                    comment: comment.clone(),
                    revision: None,
                };
                move_to(app, who, number, &t).await.map(drop)
            }
            BulkAction::Assign(u) => assign_to(app, who, number, Some(u)).await.map(drop),
        };
        match outcome {
            Err(e) if e.is_systemic() => return Err(e),
            outcome => results.push((number.clone(), outcome)),
        }
    }
    Ok(results)
}
