//! Applications: a citizen (or a digital team member, with the citizen's one-time code)
//! files one with every registry field pre-filled; the deciding agency's officers receive,
//! review, decide and issue it, the deadline counted in working days from receipt.
//!
//! An application the caller may not read is one that does not exist for them: every use
//! case answers [`Kind::NotFound`](crate::Kind::NotFound) alike, so numbers of other
//! people's applications cannot be confirmed by guessing.

mod assist;
mod file;
mod moves;
pub mod payments;
mod queue;
mod rating;
pub mod reconcile;
pub mod results;
pub mod signing;

pub use assist::{create_assist_code, AssistCode, ASSIST_CODE_LIFETIME};
pub use file::{file, prepare, Attachment, Behalf, FileApplication, Filed, Idempotency, Prepared};
pub(crate) use file::{file_by, records_for, Counter};
pub(crate) use moves::moved;
pub use moves::{
    assign, assign_to, bulk, deadline_of, move_to, overdue, transition, BulkAction, Transition,
};
pub use queue::{list, Assigned, ListQuery, Listed};
pub use rating::{rate, Rated};

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{self, Action, Principal, Target};
use sohoa_domain::services::application::{ApplicationNumber, LookupCode};
use sohoa_domain::services::workflow::Status;
use sohoa_storage::applications::{self as store, Application, Event};
use sohoa_storage::files::Attached;
use sohoa_storage::payments::Payment;

use crate::{Acting, App, Error, Result};

/// An application in full: answers, documents, payments and every move.
#[derive(Debug, Clone)]
pub struct Detail {
    pub application: Application,
    pub events: Vec<Event>,
    pub documents: Vec<Attached>,
    pub payments: Vec<Payment>,
    /// The applicant's signature on the form, once checked valid.
    pub signature: Option<sohoa_storage::signatures::FormSignature>,
}

fn not_found() -> Error {
    Error::not_found("application_not_found")
}

/// Loads an application the caller may do `action` to; any refusal looks like absence to
/// a caller who may not even read it.
pub async fn load_for(
    app: &App,
    who: &Principal,
    number: &str,
    action: Action,
) -> Result<Application> {
    let number = ApplicationNumber::parse(number).ok_or_else(not_found)?;
    let found = store::get(&app.db, number.as_str())
        .await?
        .ok_or_else(not_found)?;
    let target = Target {
        agency: Some(&found.agency_code),
        unit: Some(&found.unit_code),
        citizen: Some(&found.applicant),
        role: None,
    };
    // A draft is the applicant's alone until it is submitted.
    let hidden_draft = found.status == Status::Draft && !matches!(who, Principal::Citizen(_));
    if hidden_draft || policy::authorize(who, Action::ReadApplication, &target).is_err() {
        return Err(not_found());
    }
    crate::authorize(who, action, &target)?;
    Ok(found)
}

/// One application, for its applicant and the staff of the deciding agency and unit
/// (whose reading is audited, and shown in the applicant's access log).
pub async fn read(app: &App, who: Acting<'_>, number: &str) -> Result<Detail> {
    let found = load_for(app, who.principal, number, Action::ReadApplication).await?;
    audit_read(app, who, &found.applicant, &found.number).await?;
    detail(app, found).await
}

/// Staff reading an application read personal data: that goes in the audit log. A
/// citizen reading their own does not.
pub async fn audit_read(app: &App, who: Acting<'_>, applicant: &str, number: &str) -> Result<()> {
    if matches!(who.principal, Principal::Citizen(_)) {
        return Ok(());
    }
    let record = AuditRecord::new(who.actor(), "application.read", "citizen", applicant)
        .purpose(format!("application {number}"))
        .fields(["application"])
        .actor_unit(who.principal.agency().map(ToString::to_string))
        .client_addr(who.addr());
    app.audit.record(record).await?;
    Ok(())
}

/// The full detail of a stored application.
pub async fn detail(app: &App, a: Application) -> Result<Detail> {
    let events = store::events(&app.db, &a.number).await?;
    let documents = sohoa_storage::files::attached(&app.db, &a.number).await?;
    let payments = sohoa_storage::payments::of_application(&app.db, &a.number).await?;
    let signature = sohoa_storage::signatures::of(&app.db, &a.number).await?;
    Ok(Detail {
        signature,
        application: a,
        events,
        documents,
        payments,
    })
}

/// An application as just stored, in full.
pub(crate) async fn reloaded(app: &App, number: &str) -> Result<Detail> {
    let stored = store::get(&app.db, number)
        .await?
        .ok_or_else(|| Error::internal("a stored application vanished"))?;
    detail(app, stored).await
}

/// An application, for anyone who has its number and lookup code; a wrong code and an
/// unknown number are alike `None`.
pub async fn by_lookup(
    app: &App,
    number: &ApplicationNumber,
    code: &LookupCode,
) -> Result<Option<Application>> {
    Ok(store::by_lookup(&app.db, number.as_str(), &code.hash()).await?)
}
