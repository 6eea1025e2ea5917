//! Indicators: the catalog, entered values as revisions under review, the approved value
//! of each indicator × unit × period (`indicator_current`), and strategic tasks.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::indicators::{Indicator, IndicatorCode, Period, Review};
use sohoa_domain::tasks::TaskStatus;
use sqlx::any::AnyRow;

use crate::{
    audit, day, float, int, opt_float, opt_parsed, opt_text, parsed, stamp, text, Db, Filter,
    Result, StorageError, Tx,
};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::registry::date_text;
use sohoa_domain::{Timestamp, UnitCode};
use time::Date;

fn parse_code(s: &str) -> Option<IndicatorCode> {
    IndicatorCode::parse(s).ok()
}
fn parse_unit(s: &str) -> Option<UnitCode> {
    UnitCode::parse(s).ok()
}
fn parse_period(s: &str) -> Option<Period> {
    Period::parse(s).ok()
}

fn definition(row: &AnyRow) -> Result<Indicator> {
    let json = text(row, "definition")?;
    serde_json::from_str(&json).map_err(|e| StorageError::Corrupt(format!("indicator: {e}")))
}

/// Creates or replaces an indicator's definition. `true` when it is new.
pub async fn put(db: &Db, ind: &Indicator, record: AuditRecord) -> Result<bool> {
    let json =
        serde_json::to_string(ind).map_err(|e| StorageError::Corrupt(format!("indicator: {e}")))?;
    let source = serde_json::to_value(ind.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let now = record.at.clone();
    let mut tx = db.begin().await?;
    // A row just inserted keeps the time given here as its creation time; an update keeps
    // the old one.
    let created_at: String = sqlx::query_scalar(
        "INSERT INTO indicators (code, definition, owner_agency, source, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (code) DO UPDATE SET \
         definition = excluded.definition, owner_agency = excluded.owner_agency, \
         source = excluded.source, updated_at = excluded.updated_at RETURNING created_at",
    )
    .bind(ind.code.as_str())
    .bind(json)
    .bind(ind.owner.as_str())
    .bind(source)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    let existed = created_at != now;
    let mut record = record;
    record.object_type = "indicator".into();
    record.object_id = ind.code.to_string();
    audit::append(&mut tx, &record).await?;
    tx.commit().await?;
    Ok(!existed)
}

pub async fn get(db: &Db, code: &str) -> Result<Option<Indicator>> {
    sqlx::query("SELECT definition FROM indicators WHERE code = $1")
        .bind(code)
        .fetch_optional(db.reader())
        .await?
        .as_ref()
        .map(definition)
        .transpose()
}

/// The whole catalog, by code.
pub async fn all(db: &Db) -> Result<Vec<Indicator>> {
    sqlx::query("SELECT definition FROM indicators ORDER BY code")
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(definition)
        .collect()
}

/// A value to enter, already checked against the indicator's rules.
#[derive(Debug, Clone)]
pub struct NewValue {
    pub code: String,
    pub period: String,
    pub unit: String,
    pub value: f64,
    pub flagged: bool,
    pub change: Option<f64>,
    pub digital: bool,
}

/// One revision of a value, with its review.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub code: IndicatorCode,
    pub period: Period,
    pub unit: UnitCode,
    pub revision: i64,
    pub value: f64,
    pub status: Review,
    pub flagged: bool,
    pub change: Option<f64>,
    pub digital: bool,
    pub entered_by: String,
    pub entered_at: Timestamp,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<Timestamp>,
    pub review_note: Option<String>,
}

const REVISION_COLUMNS: &str = "indicator_code, period, unit_code, revision, value, status, \
    flagged, flagged_change, digital, entered_by, entered_at, reviewed_by, reviewed_at, review_note";

const R: &str = "indicator_values";

fn revision(r: &AnyRow) -> Result<Revision> {
    let status = text(r, "status")?;
    Ok(Revision {
        code: parsed(r, R, "indicator_code", parse_code)?,
        period: parsed(r, R, "period", parse_period)?,
        unit: parsed(r, R, "unit_code", parse_unit)?,
        revision: int(r, "revision")?,
        value: float(r, "value")?,
        status: Review::parse(&status)
            .ok_or_else(|| StorageError::Corrupt(format!("review status {status}")))?,
        flagged: int(r, "flagged")? != 0,
        change: opt_float(r, "flagged_change")?,
        digital: int(r, "digital")? != 0,
        entered_by: text(r, "entered_by")?,
        entered_at: parsed(r, R, "entered_at", stamp)?,
        reviewed_by: opt_text(r, "reviewed_by")?,
        reviewed_at: opt_parsed(r, R, "reviewed_at", stamp)?,
        review_note: opt_text(r, "review_note")?,
    })
}

/// The value a new one is compared with: the approved value of `period` if there is one,
/// else its latest entry still pending.
pub async fn reference_value(db: &Db, code: &str, unit: &str, period: &str) -> Result<Option<f64>> {
    let row = sqlx::query(
        "SELECT value FROM indicator_current WHERE indicator_code = $1 AND unit_code = $2 \
         AND period = $3",
    )
    .bind(code)
    .bind(unit)
    .bind(period)
    .fetch_optional(db.reader())
    .await?;
    if let Some(r) = row {
        return Ok(Some(float(&r, "value")?));
    }
    let row = sqlx::query(
        "SELECT value FROM indicator_values WHERE indicator_code = $1 AND unit_code = $2 \
         AND period = $3 AND status = 'pending' ORDER BY revision DESC LIMIT 1",
    )
    .bind(code)
    .bind(unit)
    .bind(period)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| float(&r, "value")).transpose()
}

/// Enters `values` as new pending revisions, all in the caller's transaction, each with an
/// audit entry. Returns each one's revision number.
pub async fn enter(tx: &mut Tx, values: &[NewValue], actor: &str, at: &str) -> Result<Vec<i64>> {
    let mut revisions = Vec::with_capacity(values.len());
    let mut records = Vec::with_capacity(values.len());
    for v in values {
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(revision) FROM indicator_values WHERE indicator_code = $1 \
             AND period = $2 AND unit_code = $3",
        )
        .bind(&v.code)
        .bind(&v.period)
        .bind(&v.unit)
        .fetch_one(&mut **tx)
        .await?;
        let rev = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO indicator_values (indicator_code, period, unit_code, revision, value, \
             status, flagged, flagged_change, digital, entered_by, entered_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, \
             CASE WHEN $11 = 1 THEN CAST($7 AS DOUBLE PRECISION) END, $8, $9, $10)",
        )
        .bind(&v.code)
        .bind(&v.period)
        .bind(&v.unit)
        .bind(rev)
        .bind(v.value)
        .bind(i64::from(v.flagged))
        // Never a NULL float: through the Any driver a prepared statement first bound with
        // NULL there keeps a type that a later number does not fit (PostgreSQL refused it as
        // "incorrect binary data format"); a number always, and a flag saying whether it
        // means anything.
        .bind(v.change.unwrap_or(0.0))
        .bind(i64::from(v.digital))
        .bind(actor)
        .bind(at)
        .bind(i64::from(v.change.is_some()))
        .execute(&mut **tx)
        .await?;
        let mut record = AuditRecord::new(
            actor,
            "indicator.value.enter",
            "indicator_value",
            format!("{}/{}/{}#{rev}", v.code, v.unit, v.period),
        );
        record.at = at.to_owned();
        records.push(record);
        revisions.push(rev);
    }
    audit::append_many(tx, &records).await?;
    Ok(revisions)
}

/// Every revision of one value, oldest first.
pub async fn history(db: &Db, code: &str, unit: &str, period: &str) -> Result<Vec<Revision>> {
    sqlx::query(&format!(
        "SELECT {REVISION_COLUMNS} FROM indicator_values WHERE indicator_code = $1 \
         AND unit_code = $2 AND period = $3 ORDER BY revision"
    ))
    .bind(code)
    .bind(unit)
    .bind(period)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(revision)
    .collect()
}

/// Revisions awaiting review, of the indicators owned by `owner` (all when `None`), oldest
/// first, at most `limit`.
pub async fn pending(db: &Db, owner: Option<&str>, limit: i64) -> Result<Vec<Revision>> {
    let mut f = Filter::default();
    f.and("v.status = 'pending'", []);
    if let Some(o) = owner {
        f.and("i.owner_agency = ?", [o.to_owned()]);
    }
    let cols: Vec<String> = REVISION_COLUMNS
        .split(", ")
        .map(|c| format!("v.{}", c.trim()))
        .collect();
    let sql = format!(
        "SELECT {} FROM indicator_values v JOIN indicators i ON i.code = v.indicator_code{} \
         ORDER BY v.entered_at, v.indicator_code LIMIT {limit}",
        cols.join(", "),
        f.where_sql()
    );
    f.bind(sqlx::query(&sql))
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(revision)
        .collect()
}

/// What a review did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reviewed {
    Done,
    /// No such revision.
    Missing,
    /// It was reviewed already.
    NotPending,
}

/// Approves or rejects one pending revision. An approved revision becomes the published
/// value unless a later revision was approved before it.
#[allow(clippy::too_many_arguments)]
pub async fn review(
    db: &Db,
    code: &str,
    unit: &str,
    period: &str,
    rev: i64,
    decision: Review,
    note: Option<&str>,
    record: AuditRecord,
) -> Result<Reviewed> {
    let at = record.at.clone();
    let mut tx = db.begin().await?;
    // The update comes first (see `enter`); only when it changed nothing is the row read,
    // to tell a missing revision from one already reviewed.
    let value: Option<f64> = sqlx::query_scalar(
        "UPDATE indicator_values SET status = $1, reviewed_by = $2, reviewed_at = $3, \
         review_note = $4 WHERE indicator_code = $5 AND unit_code = $6 AND period = $7 \
         AND revision = $8 AND status = 'pending' RETURNING value",
    )
    .bind(decision.as_str())
    .bind(&record.actor)
    .bind(&at)
    .bind(note)
    .bind(code)
    .bind(unit)
    .bind(period)
    .bind(rev)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(value) = value else {
        let exists = sqlx::query(
            "SELECT revision FROM indicator_values WHERE indicator_code = $1 AND unit_code = $2 \
             AND period = $3 AND revision = $4",
        )
        .bind(code)
        .bind(unit)
        .bind(period)
        .bind(rev)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        return Ok(if exists {
            Reviewed::NotPending
        } else {
            Reviewed::Missing
        });
    };
    if decision == Review::Approved {
        sqlx::query(
            "INSERT INTO indicator_current (indicator_code, period, unit_code, value, revision, \
             approved_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (indicator_code, unit_code, period) DO UPDATE SET value = excluded.value, \
             revision = excluded.revision, approved_at = excluded.approved_at \
             WHERE indicator_current.revision < excluded.revision",
        )
        .bind(code)
        .bind(period)
        .bind(unit)
        .bind(value)
        .bind(rev)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
    }
    let mut record = record;
    record.object_type = "indicator_value".into();
    record.object_id = format!("{code}/{unit}/{period}#{rev}");
    audit::append(&mut tx, &record).await?;
    tx.commit().await?;
    Ok(Reviewed::Done)
}

/// A published (approved) value.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub code: IndicatorCode,
    pub unit: UnitCode,
    pub period: Period,
    pub value: f64,
    pub revision: i64,
    pub approved_at: Timestamp,
}

/// The published values of `codes` (all units when `unit` is `None`), periods within
/// `from..=to` as written (compared as text, which orders periods of one periodicity),
/// sorted by code, unit, period.
pub async fn published(
    db: &Db,
    codes: &[String],
    unit: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<Published>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let mut f = Filter::default();
    let marks = vec!["?"; codes.len()].join(", ");
    f.and(
        &format!("indicator_code IN ({marks})"),
        codes.iter().cloned(),
    );
    if let Some(u) = unit {
        f.and("unit_code = ?", [u.to_owned()]);
    }
    if let Some(p) = from {
        f.and("period >= ?", [p.to_owned()]);
    }
    if let Some(p) = to {
        f.and("period <= ?", [p.to_owned()]);
    }
    let sql = format!(
        "SELECT indicator_code, unit_code, period, value, revision, approved_at \
         FROM indicator_current{} ORDER BY indicator_code, unit_code, period",
        f.where_sql()
    );
    f.bind(sqlx::query(&sql))
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(|r| {
            const C: &str = "indicator_current";
            Ok(Published {
                code: parsed(r, C, "indicator_code", parse_code)?,
                unit: parsed(r, C, "unit_code", parse_unit)?,
                period: parsed(r, C, "period", parse_period)?,
                value: float(r, "value")?,
                revision: int(r, "revision")?,
                approved_at: parsed(r, C, "approved_at", stamp)?,
            })
        })
        .collect()
}

/// A strategic task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub target: String,
    pub agency_code: AgencyCode,
    pub due_on: Date,
    pub status: TaskStatus,
    pub progress: i64,
    pub assigned_by: String,
    pub created_at: Timestamp,
    pub completed_on: Option<Date>,
    pub updated_at: Timestamp,
}

const TASK_COLUMNS: &str = "id, title, target, agency_code, due_on, status, progress, \
    assigned_by, created_at, completed_on, updated_at";

fn task(r: &AnyRow) -> Result<Task> {
    const T: &str = "tasks";
    let status = text(r, "status")?;
    Ok(Task {
        id: text(r, "id")?,
        title: text(r, "title")?,
        target: text(r, "target")?,
        agency_code: parsed(r, T, "agency_code", |s| AgencyCode::parse(s).ok())?,
        due_on: parsed(r, T, "due_on", day)?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| StorageError::Corrupt(format!("task status {status}")))?,
        progress: int(r, "progress")?,
        assigned_by: text(r, "assigned_by")?,
        created_at: parsed(r, T, "created_at", stamp)?,
        completed_on: opt_parsed(r, T, "completed_on", day)?,
        updated_at: parsed(r, T, "updated_at", stamp)?,
    })
}

pub async fn create_task(db: &Db, t: &Task, record: AuditRecord) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(&format!(
        "INSERT INTO tasks ({TASK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(&t.id)
    .bind(&t.title)
    .bind(&t.target)
    .bind(t.agency_code.as_str())
    .bind(date_text(t.due_on))
    .bind(t.status.as_str())
    .bind(t.progress)
    .bind(&t.assigned_by)
    .bind(t.created_at.to_string())
    .bind(t.completed_on.map(date_text))
    .bind(t.updated_at.to_string())
    .execute(&mut *tx)
    .await?;
    let mut record = record;
    record.object_type = "task".into();
    record.object_id = t.id.clone();
    audit::append(&mut tx, &record).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn task_by_id(db: &Db, id: &str) -> Result<Option<Task>> {
    sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?
        .as_ref()
        .map(task)
        .transpose()
}

/// Tasks of one agency (all when `None`), soonest due first.
pub async fn tasks(db: &Db, agency: Option<&str>) -> Result<Vec<Task>> {
    let mut f = Filter::default();
    if let Some(a) = agency {
        f.and("agency_code = ?", [a.to_owned()]);
    }
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks{} ORDER BY due_on, id",
        f.where_sql()
    );
    f.bind(sqlx::query(&sql))
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(task)
        .collect()
}

/// Records a progress report if the task is still as `before` read it. `false`: it
/// changed in between.
pub async fn report_progress(
    db: &Db,
    before: &Task,
    after: &Task,
    note: Option<&str>,
    record: AuditRecord,
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE tasks SET progress = $1, status = $2, completed_on = $3, updated_at = $4 \
         WHERE id = $5 AND updated_at = $6 AND status = $7",
    )
    .bind(after.progress)
    .bind(after.status.as_str())
    .bind(after.completed_on.map(date_text))
    .bind(after.updated_at.to_string())
    .bind(&before.id)
    .bind(before.updated_at.to_string())
    .bind(before.status.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT MAX(seq) FROM task_updates WHERE task_id = $1")
            .bind(&before.id)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(
        "INSERT INTO task_updates (task_id, seq, progress, status, note, actor, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&before.id)
    .bind(seq.unwrap_or(0) + 1)
    .bind(after.progress)
    .bind(after.status.as_str())
    .bind(note)
    .bind(&record.actor)
    .bind(after.updated_at.to_string())
    .execute(&mut *tx)
    .await?;
    let mut record = record;
    record.object_type = "task".into();
    record.object_id = before.id.clone();
    audit::append(&mut tx, &record).await?;
    tx.commit().await?;
    Ok(true)
}

/// A task's progress reports, oldest first: (progress, status, note, actor, at).
pub async fn task_updates(
    db: &Db,
    id: &str,
) -> Result<Vec<(i64, String, Option<String>, String, String)>> {
    sqlx::query(
        "SELECT progress, status, note, actor, at FROM task_updates WHERE task_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|r| {
        Ok((
            int(r, "progress")?,
            text(r, "status")?,
            opt_text(r, "note")?,
            text(r, "actor")?,
            text(r, "at")?,
        ))
    })
    .collect()
}

/// The names of the units among `codes` (their latest), for labels and code lists;
/// codes never seen are left out.
pub async fn unit_names(
    db: &Db,
    codes: &[String],
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    for chunk in codes.chunks(500) {
        let mut f = Filter::default();
        let marks = vec!["?"; chunk.len()].join(", ");
        f.and(&format!("code IN ({marks})"), chunk.iter().cloned());
        let sql = format!(
            "SELECT code, name FROM units{} ORDER BY code, valid_from",
            f.where_sql()
        );
        for r in f.bind(sqlx::query(&sql)).fetch_all(db.reader()).await? {
            out.insert(text(&r, "code")?, text(&r, "name")?);
        }
    }
    Ok(out)
}
