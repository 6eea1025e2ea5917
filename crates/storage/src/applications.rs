//! Applications: created once per idempotency key, moved by transitions that each name the
//! revision they read, every move kept in `application_events` and the audit log in the
//! same transaction. The answers are sealed like the registries' personal data.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::services::application::Content;
use sohoa_domain::services::workflow::Status;
use sqlx::any::AnyRow;

pub use crate::application::{now, Application};
use crate::sealed::Keyring;
use crate::{
    audit, day, int, opt_money, opt_parsed, opt_text, parsed, stamp, text, Db, Filter, Result,
    StorageError, Tx,
};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::registry::date_text;
use sohoa_domain::services::application::ApplicationNumber;
use sohoa_domain::services::channel::Channel;
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::{CitizenId, Money, TaxCode, UnitCode};

#[derive(Debug, Clone)]
pub struct Event {
    pub seq: i64,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub actor: String,
    pub at: sohoa_domain::Timestamp,
    pub comment: Option<String>,
}

fn context(number: &str) -> String {
    format!("application.content:{number}")
}

fn status(row: &AnyRow, col: &str) -> Result<Status> {
    let s = text(row, col)?;
    Status::parse(&s).ok_or_else(|| StorageError::Corrupt(format!("application status {s}")))
}

const COLUMNS: &str =
    "number, procedure_code, procedure_version, applicant, agency_code, unit_code, \
    status, content, fee, fee_payable, waiver_basis, assigned_to, created_at, submitted_at, \
    received_on, due_on, paused_on, decided_at, updated_at, revision, lookup_hash, assisted_by, fee_paid_at, enterprise, \
    channel, intake_agency";

/// The table whose columns [`from_row`] reads.
const T: &str = "applications";

fn from_row(row: &AnyRow, keys: Option<&Keyring>) -> Result<Application> {
    let number = parsed(row, T, "number", ApplicationNumber::parse)?;
    let content = match keys {
        None => None,
        Some(keys) => {
            let plain = keys.open(&context(number.as_str()), &text(row, "content")?)?;
            Some(
                serde_json::from_str(&plain)
                    .map_err(|e| StorageError::Corrupt(format!("application {number}: {e}")))?,
            )
        }
    };
    Ok(Application {
        procedure_code: parsed(row, T, "procedure_code", ProcedureCode::parse)?,
        procedure_version: int(row, "procedure_version")?,
        applicant: parsed(row, T, "applicant", |s| CitizenId::parse(s).ok())?,
        agency_code: parsed(row, T, "agency_code", |s| AgencyCode::parse(s).ok())?,
        unit_code: parsed(row, T, "unit_code", |s| UnitCode::parse(s).ok())?,
        status: status(row, "status")?,
        content,
        fee: opt_money(row, T, "fee")?,
        fee_payable: opt_money(row, T, "fee_payable")?,
        waiver_basis: opt_text(row, "waiver_basis")?,
        assigned_to: opt_text(row, "assigned_to")?,
        created_at: parsed(row, T, "created_at", stamp)?,
        submitted_at: opt_parsed(row, T, "submitted_at", stamp)?,
        received_on: opt_parsed(row, T, "received_on", day)?,
        due_on: opt_parsed(row, T, "due_on", day)?,
        paused_on: opt_parsed(row, T, "paused_on", day)?,
        decided_at: opt_parsed(row, T, "decided_at", stamp)?,
        updated_at: parsed(row, T, "updated_at", stamp)?,
        revision: int(row, "revision")?,
        lookup_hash: text(row, "lookup_hash")?,
        assisted_by: opt_text(row, "assisted_by")?,
        fee_paid_at: opt_parsed(row, T, "fee_paid_at", stamp)?,
        enterprise: opt_parsed(row, T, "enterprise", |s| TaxCode::parse(s).ok())?,
        channel: parsed(row, T, "channel", Channel::parse)?,
        intake_agency: opt_parsed(row, T, "intake_agency", |s| AgencyCode::parse(s).ok())?,
        number,
    })
}

/// A retried request's key: who sent it, the key, and a hash of what it asked.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub owner: String,
    pub key: String,
    pub request_hash: String,
}

/// A digital team member filing for a citizen, with the citizen's one-time code.
#[derive(Debug, Clone)]
pub struct Assist {
    pub helper: String,
    pub code_hash: String,
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New,
    /// The assist code was spent, expired or not the citizen's: nothing written, drop `tx`.
    AssistRefused,
    /// The key was used before: for the application `number`, with the same request or not.
    Replay {
        number: String,
        same_request: bool,
    },
}

/// A new application ready to write: answers already sealed (outside the writer, which is
/// one task for the whole server), with its idempotency key, assist code, documents and
/// audit record.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub app: Application,
    sealed: String,
    pub idem: Option<IdempotencyKey>,
    pub assist: Option<Assist>,
    /// `(document code, document id)` pairs to attach.
    pub documents: Vec<(String, String)>,
    pub record: AuditRecord,
}

impl NewApplication {
    /// Seals `app`'s answers; `revision` is written as 1 whatever `app` says.
    pub fn new(
        keys: &Keyring,
        app: Application,
        idem: Option<IdempotencyKey>,
        assist: Option<Assist>,
        documents: Vec<(String, String)>,
        record: AuditRecord,
    ) -> Result<Self> {
        let content = serde_json::to_string(app.content.as_ref().unwrap_or(&Content::default()))
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let sealed = keys.seal(&context(&app.number), &content)?;
        let record = with_object(record, &app.number);
        Ok(Self {
            app,
            sealed,
            idem,
            assist,
            documents,
            record,
        })
    }
}

/// How many columns [`COLUMNS`] names.
const COLUMN_COUNT: usize = 26;

/// Most rows per multi-row INSERT (26 parameters a row stays far below both backends'
/// limits); see [`crate::pow2_chunks`].
const CHUNK: usize = 64;

/// Stores new applications, each with its first event, notification, documents and audit
/// entry, unless its idempotency key was used before (then [`Created::Replay`], nothing of
/// it written) or its assist code is not live ([`Created::AssistRefused`], likewise). The
/// rows of all of them go in a few multi-row statements: this is the body of the
/// submissions' group commit.
pub async fn create_many(tx: &mut Tx, jobs: &[NewApplication]) -> Result<Vec<Created>> {
    let mut outcome: Vec<Option<Created>> = vec![None; jobs.len()];
    claim_keys(tx, jobs, &mut outcome).await?;
    spend_assist_codes(tx, jobs, &mut outcome).await?;
    refuse_replays_of_refused(jobs, &mut outcome);
    let new: Vec<&NewApplication> = jobs
        .iter()
        .zip(&outcome)
        .filter(|(_, o)| o.is_none())
        .map(|(j, _)| j)
        .collect();
    for chunk in crate::pow2_chunks(&new, CHUNK) {
        insert_chunk(tx, chunk).await?;
    }
    let mut counted = crate::monitoring::Deltas::default();
    for job in &new {
        counted.add(&crate::monitoring::Shape::of(&job.app)?, 1);
    }
    crate::monitoring::apply(tx, &counted).await?;
    let records: Vec<AuditRecord> = new.iter().map(|j| j.record.clone()).collect();
    audit::append_many(tx, &records).await?;
    Ok(outcome
        .into_iter()
        .map(|o| o.unwrap_or(Created::New))
        .collect())
}

/// Spends the assist code of each job still to write that has one; a job whose code is
/// not live is [`Created::AssistRefused`], its idempotency key freed.
async fn spend_assist_codes(
    tx: &mut Tx,
    jobs: &[NewApplication],
    outcome: &mut [Option<Created>],
) -> Result<()> {
    for (job, out) in jobs.iter().zip(outcome.iter_mut()) {
        let (Some(assist), None) = (&job.assist, &out) else {
            continue;
        };
        // Spent here, in the application's transaction: two requests with one code cannot
        // both succeed.
        let spent = sqlx::query(
            "UPDATE assist_codes SET used_at = $1, used_by = $2, number = $3 \
             WHERE code_hash = $4 AND citizen = $5 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(job.app.created_at.to_string())
        .bind(&assist.helper)
        .bind(job.app.number.as_str())
        .bind(&assist.code_hash)
        .bind(job.app.applicant.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if spent == 0 {
            if let Some(k) = &job.idem {
                // The key was claimed above for nothing: free it, or a corrected retry
                // would be answered as a replay of an application that does not exist.
                sqlx::query("DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2")
                    .bind(&k.owner)
                    .bind(&k.key)
                    .execute(&mut **tx)
                    .await?;
            }
            *out = Some(Created::AssistRefused);
        }
    }
    Ok(())
}

/// A job that replays one of this batch refused just now (the same key sent twice at
/// once) is refused with it: the application it would replay was never written.
fn refuse_replays_of_refused(jobs: &[NewApplication], outcome: &mut [Option<Created>]) {
    let refused: std::collections::HashSet<String> = jobs
        .iter()
        .zip(outcome.iter())
        .filter(|(_, o)| **o == Some(Created::AssistRefused))
        .map(|(j, _)| j.app.number.to_string())
        .collect();
    for out in outcome.iter_mut() {
        if matches!(out, Some(Created::Replay { number, .. }) if refused.contains(number)) {
            *out = Some(Created::AssistRefused);
        }
    }
}

/// Inserts a chunk of new applications with their first events, notifications and
/// documents, a few multi-row statements for all of them.
async fn insert_chunk(tx: &mut Tx, chunk: &[&NewApplication]) -> Result<()> {
    let sql = format!(
        "INSERT INTO applications ({COLUMNS}) VALUES {}",
        crate::values_placeholders(tx, chunk.len(), COLUMN_COUNT)
    );
    let mut q = sqlx::query(&sql);
    for job in chunk {
        q = bind_application(q, &job.app, &job.sealed);
    }
    q.execute(&mut **tx).await?;
    let sql = format!(
        "INSERT INTO application_events (number, seq, from_status, to_status, actor, at, comment) \
         VALUES {}",
        crate::values_placeholders(tx, chunk.len(), 7)
    );
    let mut q = sqlx::query(&sql);
    for job in chunk {
        q = q
            .bind(job.app.number.as_str())
            .bind(1i64)
            .bind(None::<String>)
            .bind(job.app.status.as_str())
            .bind(&job.record.actor)
            .bind(job.app.created_at.to_string())
            .bind(None::<String>);
    }
    q.execute(&mut **tx).await?;
    let created: Vec<String> = chunk.iter().map(|j| j.app.created_at.to_string()).collect();
    let changes: Vec<crate::notifications::StatusChange> = chunk
        .iter()
        .zip(&created)
        .map(|(j, at)| crate::notifications::StatusChange {
            number: &j.app.number,
            applicant: &j.app.applicant,
            status: j.app.status,
            at,
        })
        .collect();
    crate::notifications::status_changed_many(tx, &changes).await?;
    let documents: Vec<(&str, &(String, String))> = chunk
        .iter()
        .flat_map(|j| j.documents.iter().map(|d| (j.app.number.as_str(), d)))
        .collect();
    crate::files::attach_many(tx, &documents).await?;
    Ok(())
}

/// Binds one application's row in the order of [`COLUMNS`], with its answers as `content`
/// (sealed) and revision 1.
fn bind_application<'q>(
    q: crate::AnyQuery<'q>,
    app: &'q Application,
    content: &'q str,
) -> crate::AnyQuery<'q> {
    q.bind(app.number.as_str())
        .bind(app.procedure_code.as_str())
        .bind(app.procedure_version)
        .bind(app.applicant.as_str())
        .bind(app.agency_code.as_str())
        .bind(app.unit_code.as_str())
        .bind(app.status.as_str())
        .bind(content)
        .bind(app.fee.map(Money::dong))
        .bind(app.fee_payable.map(Money::dong))
        .bind(&app.waiver_basis)
        .bind(&app.assigned_to)
        .bind(app.created_at.to_string())
        .bind(app.submitted_at.map(|t| t.to_string()))
        .bind(app.received_on.map(date_text))
        .bind(app.due_on.map(date_text))
        .bind(app.paused_on.map(date_text))
        .bind(app.decided_at.map(|t| t.to_string()))
        .bind(app.updated_at.to_string())
        .bind(1i64)
        .bind(&app.lookup_hash)
        .bind(&app.assisted_by)
        .bind(app.fee_paid_at.map(|t| t.to_string()))
        .bind(app.enterprise.as_ref().map(|t| t.to_string()))
        .bind(app.channel.as_str())
        .bind(app.intake_agency.as_ref().map(|a| a.to_string()))
}

/// Claims the jobs' idempotency keys in one statement; a job whose key was taken (before,
/// or by an earlier job of the batch) gets its [`Created::Replay`] in `outcome`.
async fn claim_keys(
    tx: &mut Tx,
    jobs: &[NewApplication],
    outcome: &mut [Option<Created>],
) -> Result<()> {
    let keyed: Vec<(&NewApplication, &IdempotencyKey)> = jobs
        .iter()
        .filter_map(|j| j.idem.as_ref().map(|k| (j, k)))
        .collect();
    let mut claimed = std::collections::HashSet::new();
    for chunk in crate::pow2_chunks(&keyed, CHUNK) {
        let sql = format!(
            "INSERT INTO idempotency_keys (owner, key, request_hash, number, created_at) VALUES {} \
             ON CONFLICT (owner, key) DO NOTHING RETURNING number",
            crate::values_placeholders(tx, chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for (job, k) in chunk {
            q = q
                .bind(&k.owner)
                .bind(&k.key)
                .bind(&k.request_hash)
                .bind(job.app.number.as_str())
                .bind(job.app.created_at.to_string());
        }
        for row in q.fetch_all(&mut **tx).await? {
            claimed.insert(text(&row, "number")?);
        }
    }
    for (job, out) in jobs.iter().zip(outcome.iter_mut()) {
        let Some(k) = &job.idem else { continue };
        if claimed.contains(job.app.number.as_str()) {
            continue;
        }
        let row = sqlx::query(
            "SELECT request_hash, number FROM idempotency_keys WHERE owner = $1 AND key = $2",
        )
        .bind(&k.owner)
        .bind(&k.key)
        .fetch_one(&mut **tx)
        .await?;
        *out = Some(Created::Replay {
            number: text(&row, "number")?,
            same_request: text(&row, "request_hash")? == k.request_hash,
        });
    }
    Ok(())
}

/// The submissions' writer for [`crate::batch::GroupCommit`].
#[derive(Debug)]
pub struct Writer;

impl crate::batch::BatchWrite for Writer {
    type Job = NewApplication;
    type Done = Created;

    async fn write(&self, tx: &mut Tx, jobs: &[NewApplication]) -> Result<Vec<Created>> {
        create_many(tx, jobs).await
    }
}

fn with_object(mut record: AuditRecord, number: &str) -> AuditRecord {
    record.object_type = "application".into();
    record.object_id = number.to_owned();
    record
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    tx: &mut Tx,
    number: &str,
    seq: i64,
    from: Option<Status>,
    to: Status,
    actor: &str,
    at: &str,
    comment: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO application_events (number, seq, from_status, to_status, actor, at, comment) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(number)
    .bind(seq)
    .bind(from.map(Status::as_str))
    .bind(to.as_str())
    .bind(actor)
    .bind(at)
    .bind(comment)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One application with its answers opened.
pub async fn get(db: &Db, number: &str) -> Result<Option<Application>> {
    let keys = db.keyring()?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM applications WHERE number = $1"
    ))
    .bind(number)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(|r| from_row(r, Some(&keys))).transpose()
}

/// Every move of an application, oldest first.
pub async fn events(db: &Db, number: &str) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT seq, from_status, to_status, actor, at, comment FROM application_events \
         WHERE number = $1 ORDER BY seq",
    )
    .bind(number)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                seq: int(r, "seq")?,
                from_status: opt_text(r, "from_status")?
                    .map(|s| Status::parse(&s).ok_or_else(|| StorageError::Corrupt(s)))
                    .transpose()?,
                to_status: status(r, "to_status")?,
                actor: text(r, "actor")?,
                at: parsed(r, "application_events", "at", stamp)?,
                comment: opt_text(r, "comment")?,
            })
        })
        .collect()
}

/// Refuses a move that would change what no move may change. Every field is named, so one
/// added to `Application` must be placed: written by `write_move`'s statement (`_` here)
/// or listed as fixed. A value derived on a move and left unwritten was once lost (a
/// draft's fee at submission).
fn unchanged_by_a_move(before: &Application, after: &Application) -> Result<()> {
    let Application {
        number,
        procedure_code,
        procedure_version: _,
        applicant,
        agency_code: _,
        unit_code: _,
        status: _,
        content: _,
        fee: _,
        fee_payable: _,
        waiver_basis: _,
        assigned_to: _,
        created_at,
        submitted_at: _,
        received_on: _,
        due_on: _,
        paused_on: _,
        decided_at: _,
        updated_at: _,
        revision: _,
        lookup_hash,
        assisted_by,
        fee_paid_at,
        enterprise,
        channel,
        intake_agency,
    } = after;
    let fixed = [
        ("number", number == &before.number),
        ("procedure_code", procedure_code == &before.procedure_code),
        ("applicant", applicant == &before.applicant),
        ("created_at", created_at == &before.created_at),
        ("lookup_hash", lookup_hash == &before.lookup_hash),
        ("assisted_by", assisted_by == &before.assisted_by),
        ("enterprise", enterprise == &before.enterprise),
        ("channel", channel == &before.channel),
        ("intake_agency", intake_agency == &before.intake_agency),
        // Stamped by payments alone, which move the revision: a move never writes it, so
        // a payment that lands between a move's read and its write cannot be undone.
        ("fee_paid_at", fee_paid_at == &before.fee_paid_at),
    ];
    match fixed.iter().find(|(_, same)| !same) {
        Some((field, _)) => Err(StorageError::Corrupt(format!(
            "application {number}: a move may not change {field}"
        ))),
        None => Ok(()),
    }
}

/// Writes the row of a move: every field `after` may change, at `before.revision`.
/// `Ok(false)`: someone changed it first.
async fn write_move(
    tx: &mut Tx,
    keys: &Keyring,
    before: &Application,
    after: &Application,
) -> Result<bool> {
    unchanged_by_a_move(before, after)?;
    // The answers are sealed again only when they changed (a draft re-filled at submission).
    let sealed = match &after.content {
        Some(c) if Some(c) != before.content.as_ref() => {
            let plain =
                serde_json::to_string(c).map_err(|e| StorageError::Corrupt(e.to_string()))?;
            Some(keys.seal(&context(&after.number), &plain)?)
        }
        _ => None,
    };
    let n = sqlx::query(
        "UPDATE applications SET status = $1, submitted_at = $2, received_on = $3, due_on = $4, \
         paused_on = $5, decided_at = $6, assigned_to = $7, updated_at = $8, \
         procedure_version = $9, agency_code = $10, unit_code = $11, fee = $12, \
         fee_payable = $13, waiver_basis = $14, content = COALESCE($15, content), \
         revision = revision + 1 \
         WHERE number = $16 AND revision = $17",
    )
    .bind(after.status.as_str())
    .bind(after.submitted_at.map(|t| t.to_string()))
    .bind(after.received_on.map(date_text))
    .bind(after.due_on.map(date_text))
    .bind(after.paused_on.map(date_text))
    .bind(after.decided_at.map(|t| t.to_string()))
    .bind(&after.assigned_to)
    .bind(after.updated_at.to_string())
    .bind(after.procedure_version)
    .bind(after.agency_code.as_str())
    .bind(after.unit_code.as_str())
    .bind(after.fee.map(Money::dong))
    .bind(after.fee_payable.map(Money::dong))
    .bind(&after.waiver_basis)
    .bind(sealed)
    .bind(before.number.as_str())
    .bind(before.revision)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// A move of `before` to `after`, applied only if the application is still at
/// `before.revision` (`Ok(false)`: someone changed it first). Everything a move derives
/// (status, deadline, fee and waiver, the answers re-filled at submission, the procedure
/// version and deciding agency and unit) is written by this one statement, with the
/// monitoring counters, the event, the notification and the audit entry in `tx`.
pub async fn update(
    tx: &mut Tx,
    keys: &Keyring,
    before: &Application,
    after: &Application,
    comment: Option<&str>,
    record: AuditRecord,
) -> Result<bool> {
    if !write_move(tx, keys, before, after).await? {
        return Ok(false);
    }
    if before.decided_at.is_none() && after.decided_at.is_some() {
        crate::feedback::count_decision(tx, after).await?;
    }
    let moved = crate::monitoring::Deltas::change(Some(before), after)?;
    if !moved.is_empty() {
        crate::monitoring::apply(tx, &moved).await?;
    }
    if before.status != after.status {
        let at = after.updated_at.to_string();
        insert_event(
            tx,
            &before.number,
            before.revision + 1,
            Some(before.status),
            after.status,
            &record.actor,
            &at,
            comment,
        )
        .await?;
        crate::notifications::status_changed(
            tx,
            &before.number,
            &before.applicant,
            after.status,
            &at,
        )
        .await?;
    }
    audit::append(tx, &with_object(record, &before.number)).await?;
    Ok(true)
}

/// What a list asks for. Staff lists name an agency (and maybe a unit); a citizen's list
/// names the applicant.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub applicant: Option<CitizenId>,
    pub agency: Option<AgencyCode>,
    pub unit: Option<UnitCode>,
    pub status: Option<Status>,
    pub procedure: Option<ProcedureCode>,
    /// `Some("")` for unassigned ones.
    pub assigned_to: Option<String>,
    /// Due on or before this day.
    pub due_by: Option<time::Date>,
    /// Overdue on this day: the clock runs and the due day has passed.
    pub overdue_on: Option<time::Date>,
    /// Leave out drafts (which only their applicant sees).
    pub submitted_only: bool,
}

/// The queue's order: soonest due first, those without a due day last, then by number.
/// Spelled exactly as the indexes of migration 0012 spell it, so they serve it.
const QUEUE_KEY: &str = "COALESCE(due_on, '9999-12-31')";

/// Where a queue page ends: its last application's due key and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCursor {
    pub due_key: String,
    pub number: String,
}

fn where_of(q: &Query) -> Filter {
    let mut f = Filter::default();
    for (col, v) in [
        ("applicant", q.applicant.as_ref().map(CitizenId::as_str)),
        ("agency_code", q.agency.as_ref().map(AgencyCode::as_str)),
        ("unit_code", q.unit.as_ref().map(UnitCode::as_str)),
        (
            "procedure_code",
            q.procedure.as_ref().map(ProcedureCode::as_str),
        ),
    ] {
        if let Some(v) = v {
            f.and(&format!("{col} = ?"), [v.to_owned()]);
        }
    }
    if let Some(s) = q.status {
        f.and("status = ?", [s.as_str().to_owned()]);
    }
    match q.assigned_to.as_deref() {
        None => {}
        Some("") => f.and("assigned_to IS NULL", []),
        Some(u) => f.and("assigned_to = ?", [u.to_owned()]),
    }
    if q.submitted_only {
        f.and("status <> 'draft'", []);
    }
    if let Some(d) = q.due_by {
        f.and("due_on <= ?", [date_text(d)]);
    }
    if let Some(d) = q.overdue_on {
        f.and(
            "status IN ('received', 'in_review', 'resubmitted') AND paused_on IS NULL AND due_on < ?",
            [date_text(d)],
        );
    }
    f
}

/// Up to `limit` applications matching `q` after `after` in the queue's order, without
/// their answers, and the cursor of the next page (`None` at the end). Keyset paging: a
/// deep page costs what the first one does.
pub async fn list(
    db: &Db,
    q: &Query,
    after: Option<&QueueCursor>,
    limit: u32,
) -> Result<(Vec<Application>, Option<QueueCursor>)> {
    let mut f = where_of(q);
    if let Some(c) = after {
        // The plain range on the key is what SQLite starts the index walk at (it does not
        // for a row value over an expression); the row value then skips the rows of the
        // cursor's own due day up to its number.
        f.and(
            &format!("{QUEUE_KEY} >= ? AND ({QUEUE_KEY}, number) > (?, ?)"),
            [c.due_key.clone(), c.due_key.clone(), c.number.clone()],
        );
    }
    let n = f.next_placeholder();
    let rows = f
        .bind(sqlx::query(&format!(
            "SELECT {COLUMNS}, {QUEUE_KEY} AS due_key FROM applications{} \
             ORDER BY {QUEUE_KEY}, number LIMIT ${n}",
            f.where_sql()
        )))
        // One more than asked: whether there is a next page, without counting.
        .bind(i64::from(limit) + 1)
        .fetch_all(db.reader())
        .await?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(rows.len().min(limit as usize));
    let mut next = None;
    for r in rows.iter().take(limit as usize) {
        let a = from_row(r, None)?;
        if more {
            next = Some(QueueCursor {
                due_key: text(r, "due_key")?,
                number: a.number.to_string(),
            });
        }
        items.push(a);
    }
    Ok((items, next))
}

/// Re-seals every application's content not under the keyring's first key, in batches each
/// committed on its own (as the registries' rotation does). Returns how many changed.
pub async fn reseal(db: &Db, batch: i64, mut progress: impl FnMut(u64)) -> Result<u64> {
    let keys = &*db.keyring()?;
    let mut after = String::new();
    let mut changed = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT number, content FROM applications WHERE number > $1 ORDER BY number LIMIT $2",
        )
        .bind(&after)
        .bind(batch)
        .fetch_all(db.reader())
        .await?;
        let Some(last) = rows.last() else { break };
        after = text(last, "number")?;
        let mut tx = db.begin().await?;
        for row in &rows {
            let (number, content) = (text(row, "number")?, text(row, "content")?);
            if keys.is_current(&content) {
                continue;
            }
            let ctx = context(&number);
            let resealed = keys.seal(&ctx, &keys.open(&ctx, &content)?)?;
            changed += sqlx::query(
                "UPDATE applications SET content = $1 WHERE number = $2 AND content = $3",
            )
            .bind(&resealed)
            .bind(&number)
            .bind(&content)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        progress(changed);
    }
    Ok(changed)
}

/// The application an idempotency key created, and the hash of the request that used it.
pub async fn replay(db: &Db, owner: &str, key: &str) -> Result<Option<(String, String)>> {
    let row = sqlx::query(
        "SELECT number, request_hash FROM idempotency_keys WHERE owner = $1 AND key = $2",
    )
    .bind(owner)
    .bind(key)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| Ok((text(&r, "number")?, text(&r, "request_hash")?)))
        .transpose()
}

/// Records a one-time assist code (its hash) for `citizen`, valid until `expires_at`.
pub async fn create_assist_code(
    tx: &mut Tx,
    citizen: &str,
    code_hash: &str,
    expires_at: &str,
    record: AuditRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO assist_codes (code_hash, citizen, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(code_hash)
    .bind(citizen)
    .bind(now().to_string())
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    audit::append(tx, &record).await?;
    Ok(())
}

/// Whether `code_hash` is a live (unspent, unexpired) code of `citizen`.
pub async fn assist_code_live(db: &Db, citizen: &str, code_hash: &str) -> Result<bool> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM assist_codes WHERE code_hash = $1 AND citizen = $2 \
         AND used_at IS NULL AND expires_at > $3",
    )
    .bind(code_hash)
    .bind(citizen)
    .bind(now().to_string())
    .fetch_one(db.reader())
    .await?;
    Ok(int(&row, "n")? > 0)
}

/// Finds an application by number and the hash of its lookup code.
pub async fn by_lookup(db: &Db, number: &str, lookup_hash: &str) -> Result<Option<Application>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM applications WHERE number = $1 AND lookup_hash = $2"
    ))
    .bind(number)
    .bind(lookup_hash)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(|r| from_row(r, None)).transpose()
}

/// Writes applications as they are, without events, notifications, documents or audit
/// entries, and with `content` stored as given (not sealed), counting them in the
/// monitoring counters: for benchmark databases only, where millions of rows must be
/// written in minutes. Never used on a real database.
pub async fn bench_insert(tx: &mut Tx, apps: &[Application], content: &str) -> Result<()> {
    let mut counted = crate::monitoring::Deltas::default();
    for chunk in crate::pow2_chunks(apps, CHUNK) {
        let sql = format!(
            "INSERT INTO applications ({COLUMNS}) VALUES {}",
            crate::values_placeholders(tx, chunk.len(), COLUMN_COUNT)
        );
        let mut q = sqlx::query(&sql);
        for app in chunk {
            counted.add(&crate::monitoring::Shape::of(app)?, 1);
            q = bind_application(q, app, content);
        }
        q.execute(&mut **tx).await?;
    }
    crate::monitoring::apply(tx, &counted).await
}
