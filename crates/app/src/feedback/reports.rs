//! What happens to a filed report: its reporter and its agency's officers read it (the
//! officers' reading of a contact audited), officers move and forward it, the reporter
//! rates or reopens it, neighbours join it.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::feedback::report::{
    self as rules, Contact, ReportStatus, Score, REOPEN_WINDOW_DAYS,
};
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::Timestamp;
use sohoa_storage::feedback::{self as store, Change, Event, Photo, Report};
use sohoa_storage::StorageError;

use super::sha256_hex;
use crate::{Acting, App, Error, Result};

fn not_found() -> Error {
    Error::not_found("report_not_found")
}

/// A report by its id.
pub async fn load(app: &App, id: &str) -> Result<Report> {
    if id.len() > 64 {
        return Err(not_found());
    }
    store::get(&app.db, id).await?.ok_or_else(not_found)
}

/// Whether `who` is the report's reporter: by session, or by the code they were given.
/// Whether a report still waits for its answer after its due day.
pub fn overdue(r: &Report, today: time::Date) -> bool {
    !r.status.is_settled() && r.due_on < today
}

pub fn is_reporter(who: &Principal, r: &Report, code: Option<&str>) -> bool {
    if let (Principal::Citizen(id), Some(rep)) = (who, &r.reporter) {
        if *rep == format!("citizen:{id}") {
            return true;
        }
    }
    // Compared as digests, in constant time: the answer's timing says nothing of the code.
    code.is_some_and(|c| {
        sohoa_domain::identity::equal_in_constant_time(
            sha256_hex(c.trim()).as_bytes(),
            r.reporter_code_hash.as_bytes(),
        )
    })
}

/// Whether `who` answers for the report: an officer of its agency.
pub fn is_handler(who: &Principal, r: &Report) -> bool {
    sohoa_domain::policy::authorize(who, Action::ProcessReport, &Target::agency(&r.agency_code))
        .is_ok()
}

/// An optional free-text note (a comment, a reason): blank is none, anything else must be
/// a note the rules admit.
pub fn note_of(s: Option<&str>, field: &'static str) -> Result<Option<String>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => rules::note(s)
            .map(Some)
            .ok_or_else(|| Error::unprocessable("invalid_note").field(field)),
    }
}

/// A report in full, for its reporter and its agency's officers: the contact given, every
/// move, the photos.
#[derive(Debug, Clone)]
pub struct Detail {
    pub report: Report,
    pub contact: Option<Vec<String>>,
    pub events: Vec<Event>,
    pub photos: Vec<Photo>,
}

/// What a caller sees of a report: all of it, or what the public map shows.
#[derive(Debug, Clone)]
pub enum Seen {
    Full(Box<Detail>),
    Public(Box<Report>),
}

/// One report. Anyone sees what the public map shows; its reporter (by session or code)
/// and the responsible agency's officers see it in full.
pub async fn read(app: &App, who: Acting<'_>, id: &str, code: Option<&str>) -> Result<Seen> {
    let r = load(app, id).await?;
    if is_reporter(who.principal, &r, code) || is_handler(who.principal, &r) {
        return Ok(Seen::Full(Box::new(detail(app, who, r).await?)));
    }
    Ok(Seen::Public(Box::new(r)))
}

/// A report in full. Staff reading a reporter's contact read personal data: a signed-in
/// reporter sees the read in their access log; an anonymous one's is logged against the
/// report.
pub async fn detail(app: &App, who: Acting<'_>, r: Report) -> Result<Detail> {
    let mut contact = None;
    if let Some(sealed) = &r.contact {
        let plain = app
            .db
            .keyring()?
            .open(&store::contact_context(&r.id), sealed)?;
        contact = Some(plain.lines().map(str::to_owned).collect());
        if !matches!(who.principal, Principal::Citizen(_) | Principal::Anonymous) {
            let (object_type, object_id) = match r
                .reporter
                .as_deref()
                .and_then(|c| c.strip_prefix("citizen:"))
            {
                Some(id) => ("citizen", id),
                None => ("report", r.id.as_str()),
            };
            let record = AuditRecord::new(who.actor(), "report.read", object_type, object_id)
                .fields(["contact"])
                .purpose(format!("report {}", r.id))
                .actor_unit(who.principal.agency().map(ToString::to_string))
                .client_addr(who.addr());
            app.audit.record(record).await?;
        }
    }
    Ok(Detail {
        events: store::events(&app.db, &r.id).await?,
        photos: store::photos(&app.db, &r.id).await?,
        contact,
        report: r,
    })
}

/// A report the caller answers for; others' look absent.
async fn load_handled(app: &App, who: &Principal, id: &str) -> Result<Report> {
    let r = load(app, id).await?;
    if !is_handler(who, &r) {
        return Err(not_found());
    }
    Ok(r)
}

async fn save(
    app: &App,
    before: &Report,
    after: &Report,
    change: Change,
    note: Option<&str>,
    record: AuditRecord,
) -> Result<()> {
    let mut tx = app.db.begin().await?;
    if !store::update(&mut tx, before, after, change, note, record).await? {
        return Err(Error::conflict("report_changed"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// An officer of the responsible agency moves the report and answers publicly.
pub async fn transition(
    app: &App,
    who: Acting<'_>,
    id: &str,
    to: ReportStatus,
    note: Option<&str>,
) -> Result<Detail> {
    let r = load_handled(app, who.principal, id).await?;
    let note = note_of(note, "note")?;
    rules::check_move(r.status, to, note.as_deref()).map_err(|e| match e {
        rules::MoveError::NoteRequired => {
            Error::unprocessable("resolution_note_required").field("note")
        }
        rules::MoveError::Illegal { .. } => Error::conflict("illegal_report_transition")
            .arg("from", r.status.as_str())
            .arg("to", to.as_str()),
    })?;
    let now = Timestamp::now();
    let mut after = r.clone();
    after.status = to;
    after.updated_at = now;
    if note.is_some() {
        after.status_note = note.clone();
    }
    if to == ReportStatus::Resolved {
        after.resolution_note = note.clone();
        after.resolved_at = Some(now);
    }
    let record = AuditRecord::new(who.actor(), "report.move", "report", &r.id)
        .actor_unit(who.principal.agency().map(ToString::to_string))
        .client_addr(who.addr());
    save(app, &r, &after, Change::Move, note.as_deref(), record).await?;
    detail(app, who, load(app, id).await?).await
}

/// Hands the report to another agency, which answers it from now on (open again there).
pub async fn forward(
    app: &App,
    who: Acting<'_>,
    id: &str,
    to: &AgencyCode,
    note: Option<&str>,
) -> Result<Report> {
    let r = load_handled(app, who.principal, id).await?;
    if sohoa_storage::agencies::get(&app.db, to).await?.is_none() {
        return Err(Error::unprocessable("unknown_agency").field("agency_code"));
    }
    if !rules::can_forward(r.status) || *to == r.agency_code {
        return Err(Error::conflict("illegal_report_transition")
            .arg("from", r.status.as_str())
            .arg("to", "forwarded"));
    }
    let note = note_of(note, "note")?;
    let mut after = r.clone();
    after.agency_code = to.clone();
    after.status = ReportStatus::Open;
    after.updated_at = Timestamp::now();
    if note.is_some() {
        after.status_note = note.clone();
    }
    let record = AuditRecord::new(who.actor(), "report.forward", "report", &r.id)
        .actor_unit(who.principal.agency().map(ToString::to_string))
        .purpose(format!("to {to}"))
        .client_addr(who.addr());
    save(app, &r, &after, Change::Forward, note.as_deref(), record).await?;
    load(app, id).await
}

/// The reporter (by session or code) of a settled, unrated report: whom rating and
/// reopening are for.
async fn load_settled_for_reporter(
    app: &App,
    who: &Principal,
    id: &str,
    code: Option<&str>,
) -> Result<Report> {
    let r = load(app, id).await?;
    if !is_reporter(who, &r, code) {
        return Err(Error::forbidden("not_reporter"));
    }
    Ok(r)
}

fn settled_unrated(r: &Report) -> Result<()> {
    if !r.status.is_settled() {
        return Err(Error::conflict("report_not_resolved"));
    }
    if r.rating.is_some() {
        return Err(Error::conflict("report_already_rated"));
    }
    Ok(())
}

/// The reporter rates the resolution, once; the report is closed by it.
pub async fn rate(
    app: &App,
    who: Acting<'_>,
    id: &str,
    code: Option<&str>,
    score: i64,
    comment: Option<&str>,
) -> Result<Detail> {
    let r = load_settled_for_reporter(app, who.principal, id, code).await?;
    let score =
        Score::new(score).map_err(|_| Error::unprocessable("invalid_score").field("score"))?;
    let comment = note_of(comment, "comment")?;
    settled_unrated(&r)?;
    let now = Timestamp::now();
    let mut after = r.clone();
    after.rating = Some(i64::from(score.get()));
    after.rating_comment = comment;
    after.rated_at = Some(now);
    after.status = ReportStatus::Closed;
    after.updated_at = now;
    let record =
        AuditRecord::new(who.actor(), "report.rate", "report", &r.id).client_addr(who.addr());
    save(app, &r, &after, Change::Rate, None, record).await?;
    detail(app, who, load(app, id).await?).await
}

/// The reporter reopens a resolved report within [`REOPEN_WINDOW_DAYS`] of its resolution,
/// before rating it.
pub async fn reopen(
    app: &App,
    who: Acting<'_>,
    id: &str,
    code: Option<&str>,
    reason: &str,
) -> Result<Detail> {
    let r = load_settled_for_reporter(app, who.principal, id, code).await?;
    let reason = note_of(Some(reason), "reason")?
        .ok_or_else(|| Error::unprocessable("invalid_note").field("reason"))?;
    settled_unrated(&r)?;
    let resolved = r
        .resolved_at
        .ok_or_else(|| Error::internal(format!("report {} resolved without a time", r.id)))?;
    if Timestamp::now().datetime() - resolved.datetime() > time::Duration::days(REOPEN_WINDOW_DAYS)
    {
        return Err(Error::conflict("reopen_window_passed").arg("days", REOPEN_WINDOW_DAYS));
    }
    let mut after = r.clone();
    after.status = ReportStatus::Open;
    after.resolved_at = None;
    after.resolution_note = None;
    after.reopened += 1;
    after.updated_at = Timestamp::now();
    let record =
        AuditRecord::new(who.actor(), "report.reopen", "report", &r.id).client_addr(who.addr());
    save(app, &r, &after, Change::Reopen, Some(&reason), record).await?;
    detail(app, who, load(app, id).await?).await
}

/// A neighbour joins an open report instead of filing the same problem again: a signed-in
/// citizen, or anyone by an e-mail address or phone number, counted once (kept as digests:
/// the count needs no one's address). Answers the report and whether they joined now.
pub async fn support(
    app: &App,
    who: Acting<'_>,
    id: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<(Report, bool)> {
    let r = load(app, id).await?;
    if r.status.is_settled() {
        return Err(Error::conflict("report_settled"));
    }
    let supporter = match (who.principal, email, phone) {
        (Principal::Citizen(c), _, _) => format!("citizen:{c}"),
        (_, Some(e), _) => Contact::email(e)
            .map(|c| c.as_str().to_owned())
            .map_err(|_| Error::unprocessable("invalid_contact").field("email"))?,
        (_, None, Some(p)) => Contact::phone(p)
            .map(|c| c.as_str().to_owned())
            .map_err(|_| Error::unprocessable("invalid_contact").field("phone"))?,
        _ => return Err(Error::unprocessable("contact_required").field("email")),
    };
    let record =
        AuditRecord::new(who.actor(), "report.support", "report", &r.id).client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    let joined = store::support(&mut tx, &r.id, &sha256_hex(&supporter), record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok((r, joined))
}

/// Reports queued per page, at most.
pub const MAX_QUEUE: i64 = 500;

/// The officer's agency's reports, soonest due first.
pub async fn queue(
    app: &App,
    who: &Principal,
    status: Option<ReportStatus>,
    limit: i64,
) -> Result<Vec<Report>> {
    let agency = who
        .agency()
        .cloned()
        .ok_or_else(|| Error::forbidden("forbidden"))?;
    crate::authorize(who, Action::ProcessReport, &Target::agency(&agency))?;
    if !(1..=MAX_QUEUE).contains(&limit) {
        return Err(Error::bad_request("invalid_query").field("limit"));
    }
    Ok(store::queue(&app.db, agency.as_str(), status, limit).await?)
}
