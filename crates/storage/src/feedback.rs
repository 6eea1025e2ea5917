//! Reports (phản ánh), their routing, photos and supporters, commune boundaries, and the
//! counters of the service evaluation. Every change writes its audit entry and its
//! counters in the caller's transaction.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::feedback::evaluation::{bucket_of, Month, PublicFigure, BUCKET_HOURS};
use sohoa_domain::feedback::geo::{Area, BBox};
use sohoa_domain::feedback::report::{Category, ReportStatus};
use sohoa_domain::{Timestamp, UnitCode};
use sqlx::any::AnyRow;

use crate::{
    audit, float, int, local_date, opt_int, opt_text, text, AnyQuery, Db, Result, StorageError, Tx,
};

// ---------------------------------------------------------------------------------------
// Categories and routing

pub async fn categories(db: &Db) -> Result<Vec<Category>> {
    let rows = sqlx::query("SELECT code, definition FROM report_categories ORDER BY code")
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(category_from_row).collect()
}

pub async fn category(db: &Db, code: &str) -> Result<Option<Category>> {
    let row = sqlx::query("SELECT code, definition FROM report_categories WHERE code = $1")
        .bind(code)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(category_from_row).transpose()
}

fn category_from_row(row: &AnyRow) -> Result<Category> {
    let code = text(row, "code")?;
    serde_json::from_str(&text(row, "definition")?)
        .map_err(|e| StorageError::Corrupt(format!("report category {code}: {e}")))
}

/// Inserts the categories not there yet; an administrator's edits are kept.
pub async fn ensure_categories(db: &Db, defaults: &[Category]) -> Result<usize> {
    let mut tx = db.begin().await?;
    let mut added = 0;
    for c in defaults {
        let definition = serde_json::to_string(c)
            .map_err(|e| StorageError::Corrupt(format!("category {}: {e}", c.code)))?;
        added += sqlx::query(
            "INSERT INTO report_categories (code, definition, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (code) DO NOTHING",
        )
        .bind(&c.code)
        .bind(definition)
        .bind(Timestamp::now().to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
    }
    tx.commit().await?;
    Ok(added)
}

/// The agency a category's reports in `unit` go to: the commune's own route, the city-wide
/// one, or the commune's People's Committee.
pub async fn route(db: &Db, category: &str, unit: &UnitCode) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT agency_code FROM report_routes WHERE category_code = $1 AND unit_code IN ($2, '*') \
         ORDER BY CASE WHEN unit_code = '*' THEN 1 ELSE 0 END LIMIT 1",
    )
    .bind(category)
    .bind(unit.as_str())
    .fetch_optional(db.reader())
    .await?;
    if let Some(row) = row {
        return Ok(Some(text(&row, "agency_code")?));
    }
    Ok(crate::agencies::commune_agency(db, unit.as_str())
        .await?
        .map(|a| a.code.as_str().to_owned()))
}

#[derive(Debug, Clone)]
pub struct Route {
    pub category_code: String,
    /// `*` for every commune without its own.
    pub unit_code: String,
    pub agency_code: String,
    pub updated_at: String,
    pub updated_by: String,
}

pub async fn routes(db: &Db) -> Result<Vec<Route>> {
    let rows = sqlx::query(
        "SELECT category_code, unit_code, agency_code, updated_at, updated_by FROM report_routes \
         ORDER BY category_code, unit_code",
    )
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Route {
                category_code: text(r, "category_code")?,
                unit_code: text(r, "unit_code")?,
                agency_code: text(r, "agency_code")?,
                updated_at: text(r, "updated_at")?,
                updated_by: text(r, "updated_by")?,
            })
        })
        .collect()
}

/// Sets (or, with no agency, removes) one route.
pub async fn set_route(
    tx: &mut Tx,
    category: &str,
    unit: &str,
    agency: Option<&str>,
    record: AuditRecord,
) -> Result<()> {
    let now = Timestamp::now().to_string();
    match agency {
        Some(agency) => {
            sqlx::query(
                "INSERT INTO report_routes (category_code, unit_code, agency_code, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (category_code, unit_code) DO UPDATE \
                 SET agency_code = excluded.agency_code, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by",
            )
            .bind(category)
            .bind(unit)
            .bind(agency)
            .bind(&now)
            .bind(&record.actor)
            .execute(&mut **tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM report_routes WHERE category_code = $1 AND unit_code = $2")
                .bind(category)
                .bind(unit)
                .execute(&mut **tx)
                .await?;
        }
    }
    audit::append(tx, &record.fields(["agency_code"])).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reports

#[derive(Debug, Clone)]
pub struct Report {
    pub id: String,
    pub token: String,
    pub category_code: String,
    pub status: ReportStatus,
    pub agency_code: String,
    pub unit_code: String,
    pub lat: f64,
    pub lon: f64,
    pub address: Option<String>,
    pub description: String,
    /// The answers to the category's attributes, as a JSON object.
    pub attributes: String,
    pub media_url: Option<String>,
    /// `citizen:<id>` when filed by a signed-in citizen.
    pub reporter: Option<String>,
    /// Sealed: open with the keyring (context [`contact_context`]).
    pub contact: Option<String>,
    pub reporter_code_hash: String,
    /// `web`, `api`, or `open311:<agency>`.
    pub channel: String,
    pub supporters: i64,
    pub status_note: Option<String>,
    pub resolution_note: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub due_on: String,
    pub resolved_at: Option<String>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<String>,
    pub reopened: i64,
    pub revision: i64,
}

/// The sealing context of a report's contact.
pub fn contact_context(id: &str) -> String {
    format!("reports.contact:{id}")
}

const COLUMNS: &str = "id, token, category_code, status, agency_code, unit_code, lat, lon, \
    address, description, attributes, media_url, reporter, contact, reporter_code_hash, channel, \
    supporters, status_note, resolution_note, created_at, updated_at, due_on, resolved_at, \
    rating, rating_comment, rated_at, reopened, revision";

/// The columns the public map shows: nothing about who reported, and only what a marker
/// needs (the rest is one request away), so that the `reports_map` index covers them and a
/// box is read from the index alone.
const MAP_COLUMNS: &str = "id, category_code, status, unit_code, lat, lon, supporters, created_at";

fn status_of(row: &AnyRow) -> Result<ReportStatus> {
    let s = text(row, "status")?;
    ReportStatus::parse(&s).ok_or_else(|| StorageError::Corrupt(format!("report status {s}")))
}

fn report_from_row(row: &AnyRow) -> Result<Report> {
    Ok(Report {
        id: text(row, "id")?,
        token: text(row, "token")?,
        category_code: text(row, "category_code")?,
        status: status_of(row)?,
        agency_code: text(row, "agency_code")?,
        unit_code: text(row, "unit_code")?,
        lat: float(row, "lat")?,
        lon: float(row, "lon")?,
        address: opt_text(row, "address")?,
        description: text(row, "description")?,
        attributes: text(row, "attributes")?,
        media_url: opt_text(row, "media_url")?,
        reporter: opt_text(row, "reporter")?,
        contact: opt_text(row, "contact")?,
        reporter_code_hash: text(row, "reporter_code_hash")?,
        channel: text(row, "channel")?,
        supporters: int(row, "supporters")?,
        status_note: opt_text(row, "status_note")?,
        resolution_note: opt_text(row, "resolution_note")?,
        created_at: text(row, "created_at")?,
        updated_at: text(row, "updated_at")?,
        due_on: text(row, "due_on")?,
        resolved_at: opt_text(row, "resolved_at")?,
        rating: opt_int(row, "rating")?,
        rating_comment: opt_text(row, "rating_comment")?,
        rated_at: opt_text(row, "rated_at")?,
        reopened: int(row, "reopened")?,
        revision: int(row, "revision")?,
    })
}

/// The day a stored time falls on in the city.
/// The month a report's counters live in: the month it was filed (in the city's time).
fn month_of(at: &str) -> Result<Month> {
    local_date(at).map(Month::of)
}

fn hours_between(from: &str, to: &str) -> Result<f64> {
    let parse =
        |s: &str| Timestamp::parse(s).map_err(|_| StorageError::Corrupt(format!("time {s}")));
    let d = parse(to)?.datetime() - parse(from)?.datetime();
    Ok(d.as_seconds_f64().max(0.0) / 3600.0)
}

/// Binds a report's columns in the order of [`COLUMNS`].
fn bind_report<'q>(q: AnyQuery<'q>, r: &'q Report) -> AnyQuery<'q> {
    q.bind(&r.id)
        .bind(&r.token)
        .bind(&r.category_code)
        .bind(r.status.as_str())
        .bind(&r.agency_code)
        .bind(&r.unit_code)
        .bind(r.lat)
        .bind(r.lon)
        .bind(&r.address)
        .bind(&r.description)
        .bind(&r.attributes)
        .bind(&r.media_url)
        .bind(&r.reporter)
        .bind(&r.contact)
        .bind(&r.reporter_code_hash)
        .bind(&r.channel)
        .bind(r.supporters)
        .bind(&r.status_note)
        .bind(&r.resolution_note)
        .bind(&r.created_at)
        .bind(&r.updated_at)
        .bind(&r.due_on)
        .bind(&r.resolved_at)
        .bind(r.rating)
        .bind(&r.rating_comment)
        .bind(&r.rated_at)
        .bind(r.reopened)
        .bind(r.revision)
}

/// Files a report: the row, its first event, its counters and its audit entry.
pub async fn insert(tx: &mut Tx, r: &Report, record: AuditRecord) -> Result<()> {
    let sql = format!(
        "INSERT INTO reports ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)"
    );
    bind_report(sqlx::query(&sql), r).execute(&mut **tx).await?;
    insert_event(tx, r, None, None, &record.actor, None).await?;
    bump(
        tx,
        month_of(&r.created_at)?,
        &r.unit_code,
        &r.agency_code,
        &[(Counter::ReportsReceived, 1)],
    )
    .await?;
    audit::append(
        tx,
        &record.fields(["category", "location", "description", "contact"]),
    )
    .await?;
    Ok(())
}

async fn insert_event(
    tx: &mut Tx,
    after: &Report,
    from_status: Option<ReportStatus>,
    from_agency: Option<&str>,
    actor: &str,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO report_events (report_id, seq, from_status, to_status, from_agency, to_agency, \
         actor, at, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&after.id)
    .bind(after.revision)
    .bind(from_status.map(ReportStatus::as_str))
    .bind(after.status.as_str())
    .bind(from_agency)
    .bind(&after.agency_code)
    .bind(actor)
    .bind(&after.updated_at)
    .bind(note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Report>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM reports WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(report_from_row).transpose()
}

pub async fn by_token(db: &Db, token: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT id FROM reports WHERE token = $1")
        .bind(token)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| text(&r, "id")).transpose()
}

/// What changed, for [`update`]: the event to record and the counters to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// An officer's move (status, public answer).
    Move,
    /// Handed to another agency.
    Forward,
    /// The reporter reopened a resolved report.
    Reopen,
    /// The reporter rated the resolution.
    Rate,
}

/// Refuses a move that would change what no move may change. Every field is named: one
/// added to `Report` must be written by `update`'s statement (`_` here) or listed as fixed.
fn unchanged_by_a_move(before: &Report, after: &Report) -> Result<()> {
    let Report {
        id,
        token,
        category_code,
        status: _,
        agency_code: _,
        unit_code,
        lat,
        lon,
        address,
        description,
        attributes,
        media_url,
        reporter,
        contact,
        reporter_code_hash,
        channel,
        supporters: _,
        status_note: _,
        resolution_note: _,
        created_at,
        updated_at: _,
        due_on: _,
        resolved_at: _,
        rating: _,
        rating_comment: _,
        rated_at: _,
        reopened: _,
        revision: _,
    } = after;
    // `supporters` is counted by joins in statements of their own, never by a move.
    let fixed = [
        ("id", id == &before.id),
        ("token", token == &before.token),
        ("category_code", category_code == &before.category_code),
        ("unit_code", unit_code == &before.unit_code),
        ("location", lat == &before.lat && lon == &before.lon),
        ("address", address == &before.address),
        ("description", description == &before.description),
        ("attributes", attributes == &before.attributes),
        ("media_url", media_url == &before.media_url),
        ("reporter", reporter == &before.reporter),
        ("contact", contact == &before.contact),
        (
            "reporter_code_hash",
            reporter_code_hash == &before.reporter_code_hash,
        ),
        ("channel", channel == &before.channel),
        ("created_at", created_at == &before.created_at),
    ];
    match fixed.iter().find(|(_, same)| !same) {
        Some((field, _)) => Err(crate::StorageError::Corrupt(format!(
            "report {id}: a move may not change {field}"
        ))),
        None => Ok(()),
    }
}

/// Writes `after` over `before` if nobody changed it since (`Ok(false)` otherwise), with
/// its event, counters and audit entry.
pub async fn update(
    tx: &mut Tx,
    before: &Report,
    after: &Report,
    change: Change,
    note: Option<&str>,
    record: AuditRecord,
) -> Result<bool> {
    unchanged_by_a_move(before, after)?;
    let n = sqlx::query(
        "UPDATE reports SET status = $1, agency_code = $2, status_note = $3, resolution_note = $4, \
         updated_at = $5, due_on = $6, resolved_at = $7, rating = $8, rating_comment = $9, \
         rated_at = $10, reopened = $11, revision = revision + 1 WHERE id = $12 AND revision = $13",
    )
    .bind(after.status.as_str())
    .bind(&after.agency_code)
    .bind(&after.status_note)
    .bind(&after.resolution_note)
    .bind(&after.updated_at)
    .bind(&after.due_on)
    .bind(&after.resolved_at)
    .bind(after.rating)
    .bind(&after.rating_comment)
    .bind(&after.rated_at)
    .bind(after.reopened)
    .bind(&before.id)
    .bind(before.revision)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let mut next = after.clone();
    next.revision = before.revision + 1;
    let from_agency =
        (before.agency_code != after.agency_code).then_some(before.agency_code.as_str());
    insert_event(
        tx,
        &next,
        Some(before.status),
        from_agency,
        &record.actor,
        note,
    )
    .await?;
    let month = month_of(&before.created_at)?;
    let unit = &before.unit_code;
    // Counters follow the agency answering now: a forwarded report moves with it.
    if let Some(old) = from_agency {
        move_report_counters(tx, month, unit, old, &after.agency_code, before).await?;
    }
    let resolved_before = before.resolved_at.is_some();
    let resolved_after = after.resolved_at.is_some();
    if !resolved_before && resolved_after {
        let hours = hours_between(
            &after.created_at,
            after.resolved_at.as_deref().unwrap_or_default(),
        )?;
        bump(
            tx,
            month,
            unit,
            &after.agency_code,
            &[(Counter::ReportsResolved, 1)],
        )
        .await?;
        bump_bucket(tx, month, unit, &after.agency_code, bucket_of(hours), 1).await?;
    } else if resolved_before && !resolved_after {
        let hours = hours_between(
            &before.created_at,
            before.resolved_at.as_deref().unwrap_or_default(),
        )?;
        bump(
            tx,
            month,
            unit,
            &before.agency_code,
            &[(Counter::ReportsResolved, -1)],
        )
        .await?;
        bump_bucket(tx, month, unit, &before.agency_code, bucket_of(hours), -1).await?;
    }
    if before.rating.is_none() {
        if let Some(score) = after.rating {
            bump(
                tx,
                month,
                unit,
                &after.agency_code,
                &[
                    (Counter::ReportRatings, 1),
                    (Counter::ReportScoreSum, score),
                ],
            )
            .await?;
        }
    }
    let fields: &[&str] = match change {
        Change::Move => &["status", "status_note"],
        Change::Forward => &["agency_code"],
        Change::Reopen => &["status"],
        Change::Rate => &["rating"],
    };
    audit::append(tx, &record.fields(fields.iter().copied())).await?;
    Ok(true)
}

/// Moves a report's received (and, if resolved, resolved) counts from one agency to another.
async fn move_report_counters(
    tx: &mut Tx,
    month: Month,
    unit: &str,
    from: &str,
    to: &str,
    r: &Report,
) -> Result<()> {
    bump(tx, month, unit, from, &[(Counter::ReportsReceived, -1)]).await?;
    bump(tx, month, unit, to, &[(Counter::ReportsReceived, 1)]).await?;
    if let Some(at) = &r.resolved_at {
        let b = bucket_of(hours_between(&r.created_at, at)?);
        bump(tx, month, unit, from, &[(Counter::ReportsResolved, -1)]).await?;
        bump_bucket(tx, month, unit, from, b, -1).await?;
        bump(tx, month, unit, to, &[(Counter::ReportsResolved, 1)]).await?;
        bump_bucket(tx, month, unit, to, b, 1).await?;
    }
    Ok(())
}

/// Adds a supporter; `Ok(false)` if they had joined already.
pub async fn support(tx: &mut Tx, id: &str, supporter: &str, record: AuditRecord) -> Result<bool> {
    let added = sqlx::query(
        "INSERT INTO report_supporters (report_id, supporter, at) VALUES ($1, $2, $3) \
         ON CONFLICT (report_id, supporter) DO NOTHING",
    )
    .bind(id)
    .bind(supporter)
    .bind(Timestamp::now().to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if added == 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE reports SET supporters = supporters + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    audit::append(tx, &record.fields(["supporters"])).await?;
    Ok(true)
}

#[derive(Debug, Clone)]
pub struct Event {
    pub from_status: Option<ReportStatus>,
    pub to_status: ReportStatus,
    pub from_agency: Option<String>,
    pub to_agency: String,
    pub actor: String,
    pub at: String,
    pub note: Option<String>,
}

pub async fn events(db: &Db, id: &str) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT from_status, to_status, from_agency, to_agency, actor, at, note FROM report_events \
         WHERE report_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await?;
    let parse = |s: String| {
        ReportStatus::parse(&s).ok_or_else(|| StorageError::Corrupt(format!("report status {s}")))
    };
    rows.iter()
        .map(|r| {
            Ok(Event {
                from_status: opt_text(r, "from_status")?.map(parse).transpose()?,
                to_status: parse(text(r, "to_status")?)?,
                from_agency: opt_text(r, "from_agency")?,
                to_agency: text(r, "to_agency")?,
                actor: text(r, "actor")?,
                at: text(r, "at")?,
                note: opt_text(r, "note")?,
            })
        })
        .collect()
}

/// A report as the public sees it: where, what, how far along; never who.
#[derive(Debug, Clone)]
pub struct PublicReport {
    pub id: String,
    pub category_code: String,
    pub status: ReportStatus,
    pub unit_code: String,
    pub lat: f64,
    pub lon: f64,
    pub supporters: i64,
    pub created_at: String,
}

fn public_from_row(row: &AnyRow) -> Result<PublicReport> {
    Ok(PublicReport {
        id: text(row, "id")?,
        category_code: text(row, "category_code")?,
        status: status_of(row)?,
        unit_code: text(row, "unit_code")?,
        lat: float(row, "lat")?,
        lon: float(row, "lon")?,
        supporters: int(row, "supporters")?,
        created_at: text(row, "created_at")?,
    })
}

/// Reports inside a box, at most `limit` (the caller asks for one more to know whether
/// the box held more). Newest first is not promised: a map zooms in instead.
pub async fn in_box(
    db: &Db,
    b: &BBox,
    statuses: Option<&[ReportStatus]>,
    category: Option<&str>,
    limit: i64,
) -> Result<Vec<PublicReport>> {
    let mut sql = format!(
        "SELECT {MAP_COLUMNS} FROM reports WHERE lat >= $1 AND lat <= $2 AND lon >= $3 AND lon <= $4"
    );
    let mut n = 4;
    if let Some(st) = statuses {
        let list: Vec<String> = st.iter().map(|s| format!("'{}'", s.as_str())).collect();
        sql.push_str(&format!(" AND status IN ({})", list.join(",")));
    }
    if category.is_some() {
        n += 1;
        sql.push_str(&format!(" AND category_code = ${n}"));
    }
    sql.push_str(&format!(" LIMIT ${}", n + 1));
    let mut q = sqlx::query(&sql)
        .bind(b.min_lat)
        .bind(b.max_lat)
        .bind(b.min_lon)
        .bind(b.max_lon);
    if let Some(c) = category {
        q = q.bind(c);
    }
    let rows = q.bind(limit).fetch_all(db.reader()).await?;
    rows.iter().map(public_from_row).collect()
}

/// Like [`in_box`], but as the JSON array of GeoJSON features, built by the database: a
/// busy district is thousands of features, and decoding each row only to encode it again
/// costs more than the query. `true` when the box held more than `limit`.
pub async fn in_box_geojson(
    db: &Db,
    b: &BBox,
    statuses: Option<&[ReportStatus]>,
    category: Option<&str>,
    limit: i64,
) -> Result<(String, bool)> {
    // The same document on both backends. PostgreSQL's json_build_object took four fifths of
    // a district's answer (21 of 25 ms for 5,000 features), so there the features are
    // joined as text: every value but the category is one sohoa generated (ids, statuses,
    // commune codes, timestamps: no character JSON escapes, which migration 0017 makes
    // the table enforce), and the category is quoted by to_json; numbers print as PostgreSQL's shortest exact float text, valid JSON.
    let agg = match db.backend() {
        crate::Backend::Sqlite => {
            "json_group_array(json_object('type', 'Feature', 'id', id, 'geometry', \
             json_object('type', 'Point', 'coordinates', json_array(lon, lat)), 'properties', \
             json_object('id', id, 'category', category_code, 'status', status, 'unit_code', \
             unit_code, 'supporters', supporters, 'created_at', created_at))) FILTER"
        }
        crate::Backend::Postgres => {
            "string_agg('{\"type\":\"Feature\",\"id\":\"' || id || \
             '\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[' || lon::text || ',' || \
             lat::text || ']},\"properties\":{\"id\":\"' || id || '\",\"category\":' || \
             to_json(category_code)::text || ',\"status\":\"' || status || '\",\"unit_code\":\"' || \
             unit_code || '\",\"supporters\":' || supporters::text || ',\"created_at\":\"' || \
             created_at || '\"}}', ',') FILTER"
        }
    };
    let mut inner = format!(
        "SELECT {MAP_COLUMNS}, ROW_NUMBER() OVER () AS rn FROM reports \
         WHERE lat >= $1 AND lat <= $2 AND lon >= $3 AND lon <= $4"
    );
    let mut n = 4;
    if let Some(st) = statuses {
        let list: Vec<String> = st.iter().map(|s| format!("'{}'", s.as_str())).collect();
        inner.push_str(&format!(" AND status IN ({})", list.join(",")));
    }
    if category.is_some() {
        n += 1;
        inner.push_str(&format!(" AND category_code = ${n}"));
    }
    inner.push_str(&format!(" LIMIT ${}", n + 1));
    let sql = format!(
        "SELECT COUNT(*) AS n, CAST({agg} (WHERE rn <= ${}) AS TEXT) AS features \
         FROM ({inner}) AS boxed",
        n + 2
    );
    let mut q = sqlx::query(&sql)
        .bind(b.min_lat)
        .bind(b.max_lat)
        .bind(b.min_lon)
        .bind(b.max_lon);
    if let Some(c) = category {
        q = q.bind(c);
    }
    let row = q.bind(limit + 1).bind(limit).fetch_one(db.reader()).await?;
    let found = int(&row, "n")?;
    let features = match (opt_text(&row, "features")?, db.backend()) {
        (None, _) => "[]".to_owned(),
        (Some(f), crate::Backend::Postgres) => format!("[{f}]"),
        (Some(f), crate::Backend::Sqlite) => f,
    };
    Ok((features, found > limit))
}

/// Open reports of a category near a point filed since `since`: candidates to join.
pub async fn open_near(
    db: &Db,
    category: &str,
    b: &BBox,
    since: &str,
) -> Result<Vec<PublicReport>> {
    let rows = sqlx::query(&format!(
        "SELECT {MAP_COLUMNS} FROM reports WHERE category_code = $1 AND lat >= $2 AND lat <= $3 \
         AND lon >= $4 AND lon <= $5 AND status IN ('open', 'acknowledged', 'in_progress') \
         AND created_at >= $6 LIMIT 50"
    ))
    .bind(category)
    .bind(b.min_lat)
    .bind(b.max_lat)
    .bind(b.min_lon)
    .bind(b.max_lon)
    .bind(since)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(public_from_row).collect()
}

/// What Open311's `GET requests` filters on.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub ids: Vec<String>,
    pub categories: Vec<String>,
    pub statuses: Vec<ReportStatus>,
    /// Filed at or after / before (stored form).
    pub start: Option<String>,
    pub end: Option<String>,
    pub agency: Option<String>,
    pub reporter: Option<String>,
    pub limit: i64,
}

/// Reports matching `s`, newest first.
pub async fn search(db: &Db, s: &Search) -> Result<Vec<Report>> {
    let mut f = crate::Filter::default();
    if !s.ids.is_empty() {
        let marks = vec!["?"; s.ids.len()].join(",");
        f.and(&format!("id IN ({marks})"), s.ids.iter().cloned());
    }
    if !s.categories.is_empty() {
        let marks = vec!["?"; s.categories.len()].join(",");
        f.and(
            &format!("category_code IN ({marks})"),
            s.categories.iter().cloned(),
        );
    }
    if !s.statuses.is_empty() {
        let marks = vec!["?"; s.statuses.len()].join(",");
        f.and(
            &format!("status IN ({marks})"),
            s.statuses.iter().map(|x| x.as_str().to_owned()),
        );
    }
    if let Some(v) = &s.start {
        f.and("created_at >= ?", [v.clone()]);
    }
    if let Some(v) = &s.end {
        f.and("created_at <= ?", [v.clone()]);
    }
    if let Some(v) = &s.agency {
        f.and("agency_code = ?", [v.clone()]);
    }
    if let Some(v) = &s.reporter {
        f.and("reporter = ?", [v.clone()]);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM reports{} ORDER BY created_at DESC, id DESC LIMIT {}",
        f.where_sql(),
        s.limit.clamp(1, 1000)
    );
    let rows = f.bind(sqlx::query(&sql)).fetch_all(db.reader()).await?;
    rows.iter().map(report_from_row).collect()
}

/// An agency's queue: unsettled reports, soonest due first.
pub async fn queue(
    db: &Db,
    agency: &str,
    status: Option<ReportStatus>,
    limit: i64,
) -> Result<Vec<Report>> {
    let (clause, arg) = match status {
        Some(s) => ("status = $2", s.as_str().to_owned()),
        None => ("status <> $2", ReportStatus::Closed.as_str().to_owned()),
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reports WHERE agency_code = $1 AND {clause} \
         ORDER BY due_on, id LIMIT $3"
    ))
    .bind(agency)
    .bind(arg)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(report_from_row).collect()
}

// ---------------------------------------------------------------------------------------
// Photos

#[derive(Debug, Clone)]
pub struct Photo {
    pub seq: i64,
    pub kind: String,
    pub sha256: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: String,
    pub at: String,
}

pub async fn photos(db: &Db, id: &str) -> Result<Vec<Photo>> {
    let rows = sqlx::query(
        "SELECT seq, kind, sha256, content_type, size, uploaded_by, at FROM report_photos \
         WHERE report_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Photo {
                seq: int(r, "seq")?,
                kind: text(r, "kind")?,
                sha256: text(r, "sha256")?,
                content_type: text(r, "content_type")?,
                size: int(r, "size")?,
                uploaded_by: text(r, "uploaded_by")?,
                at: text(r, "at")?,
            })
        })
        .collect()
}

/// Adds a photo as the report's next; `None` if it already has `max` of this kind.
pub async fn add_photo(
    tx: &mut Tx,
    id: &str,
    photo: &Photo,
    max: i64,
    record: AuditRecord,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS last, \
         SUM(CASE WHEN kind = $2 THEN 1 ELSE 0 END) AS same FROM report_photos WHERE report_id = $1",
    )
    .bind(id)
    .bind(&photo.kind)
    .fetch_one(&mut **tx)
    .await?;
    if opt_int(&row, "same")?.unwrap_or(0) >= max {
        return Ok(None);
    }
    let seq = int(&row, "last")? + 1;
    sqlx::query(
        "INSERT INTO report_photos (report_id, seq, kind, sha256, content_type, size, uploaded_by, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(seq)
    .bind(&photo.kind)
    .bind(&photo.sha256)
    .bind(&photo.content_type)
    .bind(photo.size)
    .bind(&photo.uploaded_by)
    .bind(&photo.at)
    .execute(&mut **tx)
    .await?;
    audit::append(tx, &record.fields(["photo"])).await?;
    Ok(Some(seq))
}

// ---------------------------------------------------------------------------------------
// Boundaries

pub async fn boundaries(db: &Db) -> Result<Vec<(Area, String)>> {
    let rows =
        sqlx::query("SELECT unit_code, geometry, source FROM unit_boundaries ORDER BY unit_code")
            .fetch_all(db.reader())
            .await?;
    rows.iter()
        .map(|r| {
            let code = text(r, "unit_code")?;
            let corrupt = |what: String| StorageError::Corrupt(format!("boundary {code}: {what}"));
            let unit = UnitCode::parse(&code).map_err(|e| corrupt(e.to_string()))?;
            let geometry: serde_json::Value =
                serde_json::from_str(&text(r, "geometry")?).map_err(|e| corrupt(e.to_string()))?;
            let area = Area::from_geojson(unit, &geometry).map_err(|e| corrupt(e.to_string()))?;
            Ok((area, text(r, "source")?))
        })
        .collect()
}

/// Replaces the boundaries of the units named in `areas` (others are kept).
pub async fn put_boundaries(
    tx: &mut Tx,
    areas: &[Area],
    source: &str,
    record: Option<AuditRecord>,
) -> Result<()> {
    let now = Timestamp::now().to_string();
    for a in areas {
        sqlx::query(
            "INSERT INTO unit_boundaries (unit_code, geometry, source, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (unit_code) DO UPDATE SET geometry = excluded.geometry, \
             source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(a.code.as_str())
        .bind(a.geometry().to_string())
        .bind(source)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    }
    if let Some(record) = record {
        audit::append(tx, &record.fields(["geometry"])).await?;
    }
    Ok(())
}

/// Stores the shipped approximate boundaries if there are none yet.
pub async fn ensure_boundaries(db: &Db, areas: &[Area]) -> Result<bool> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM unit_boundaries")
        .fetch_one(db.reader())
        .await
        .map_err(StorageError::from)
        .and_then(|r| int(&r, "n"))?;
    if n > 0 {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    put_boundaries(&mut tx, areas, "approximate", None).await?;
    tx.commit().await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// Evaluation counters

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Reports resolved within the hours of a bucket of [`BUCKET_HOURS`] (the last: longer).
    Resolved(usize),
    AppsDecided,
    AppsOnTime,
    AppRatings,
    AppScoreSum,
    ReportsReceived,
    ReportsResolved,
    ReportRatings,
    ReportScoreSum,
}

/// The columns of the resolution-time buckets, one more than the bounds.
const BUCKET_COLUMNS: [&str; BUCKET_HOURS.len() + 1] = [
    "resolved_b0",
    "resolved_b1",
    "resolved_b2",
    "resolved_b3",
    "resolved_b4",
    "resolved_b5",
    "resolved_b6",
    "resolved_b7",
    "resolved_b8",
    "resolved_b9",
    "resolved_b10",
    "resolved_b11",
    "resolved_b12",
    "resolved_b13",
    "resolved_b14",
    "resolved_b15",
    "resolved_b16",
];

impl Counter {
    const ALL: [Counter; 8] = [
        Counter::AppsDecided,
        Counter::AppsOnTime,
        Counter::AppRatings,
        Counter::AppScoreSum,
        Counter::ReportsReceived,
        Counter::ReportsResolved,
        Counter::ReportRatings,
        Counter::ReportScoreSum,
    ];

    fn column(self) -> &'static str {
        match self {
            Counter::Resolved(b) => BUCKET_COLUMNS[b.min(BUCKET_COLUMNS.len() - 1)],
            Counter::AppsDecided => "apps_decided",
            Counter::AppsOnTime => "apps_on_time",
            Counter::AppRatings => "app_ratings",
            Counter::AppScoreSum => "app_score_sum",
            Counter::ReportsReceived => "reports_received",
            Counter::ReportsResolved => "reports_resolved",
            Counter::ReportRatings => "report_ratings",
            Counter::ReportScoreSum => "report_score_sum",
        }
    }
}

/// Adds `deltas` to one cell's counters.
pub async fn bump(
    tx: &mut Tx,
    month: Month,
    unit: &str,
    agency: &str,
    deltas: &[(Counter, i64)],
) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    let cols: Vec<&str> = deltas.iter().map(|(c, _)| c.column()).collect();
    let marks: Vec<String> = (0..deltas.len()).map(|i| format!("${}", i + 4)).collect();
    let sets: Vec<String> = cols
        .iter()
        .map(|c| format!("{c} = evaluation_counts.{c} + excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO evaluation_counts (month, unit_code, agency_code, {}) VALUES ($1, $2, $3, {}) \
         ON CONFLICT (month, unit_code, agency_code) DO UPDATE SET {}",
        cols.join(", "),
        marks.join(", "),
        sets.join(", ")
    );
    let mut q = sqlx::query(&sql)
        .bind(month.to_string())
        .bind(unit.to_owned())
        .bind(agency.to_owned());
    for (_, d) in deltas {
        q = q.bind(*d);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

async fn bump_bucket(
    tx: &mut Tx,
    month: Month,
    unit: &str,
    agency: &str,
    bucket: usize,
    delta: i64,
) -> Result<()> {
    bump(
        tx,
        month,
        unit,
        agency,
        &[(Counter::Resolved(bucket), delta)],
    )
    .await
}

/// One cell of the evaluation: a commune, or an agency, or a commune × agency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub unit_code: Option<String>,
    pub agency_code: Option<String>,
    pub apps_decided: i64,
    pub apps_on_time: i64,
    pub app_ratings: i64,
    pub app_score_sum: i64,
    pub reports_received: i64,
    pub reports_resolved: i64,
    pub report_ratings: i64,
    pub report_score_sum: i64,
    /// Resolved reports per bucket of hours (one more than the bucket bounds).
    pub resolution: Vec<i64>,
}

impl Cell {
    fn add(&mut self, counter: Counter, v: i64) {
        let slot = match counter {
            Counter::Resolved(b) => {
                let i = b.min(self.resolution.len().saturating_sub(1));
                match self.resolution.get_mut(i) {
                    Some(slot) => slot,
                    None => return,
                }
            }
            Counter::AppsDecided => &mut self.apps_decided,
            Counter::AppsOnTime => &mut self.apps_on_time,
            Counter::AppRatings => &mut self.app_ratings,
            Counter::AppScoreSum => &mut self.app_score_sum,
            Counter::ReportsReceived => &mut self.reports_received,
            Counter::ReportsResolved => &mut self.reports_resolved,
            Counter::ReportRatings => &mut self.report_ratings,
            Counter::ReportScoreSum => &mut self.report_score_sum,
        };
        *slot += v;
    }

    /// Every counter of this cell and of `other`, added.
    pub fn merge(&mut self, other: &Cell) {
        for c in Counter::ALL {
            self.add(c, other.get(c));
        }
        for (i, n) in other.resolution.iter().enumerate() {
            self.add(Counter::Resolved(i), *n);
        }
    }

    fn get(&self, counter: Counter) -> i64 {
        match counter {
            Counter::Resolved(b) => self.resolution.get(b).copied().unwrap_or(0),
            Counter::AppsDecided => self.apps_decided,
            Counter::AppsOnTime => self.apps_on_time,
            Counter::AppRatings => self.app_ratings,
            Counter::AppScoreSum => self.app_score_sum,
            Counter::ReportsReceived => self.reports_received,
            Counter::ReportsResolved => self.reports_resolved,
            Counter::ReportRatings => self.report_ratings,
            Counter::ReportScoreSum => self.report_score_sum,
        }
    }

    /// An empty cell of a commune, with room for every resolution bucket.
    pub fn of_unit(unit_code: &str) -> Cell {
        Cell {
            unit_code: Some(unit_code.to_owned()),
            resolution: vec![0; BUCKET_HOURS.len() + 1],
            ..Cell::default()
        }
    }

    /// Reads every counter column of `r` into this cell.
    fn read(mut self, r: &AnyRow) -> Result<Cell> {
        if self.resolution.len() < BUCKET_COLUMNS.len() {
            self.resolution.resize(BUCKET_COLUMNS.len(), 0);
        }
        for c in Counter::ALL
            .into_iter()
            .chain((0..BUCKET_COLUMNS.len()).map(Counter::Resolved))
        {
            self.add(c, opt_int(r, c.column())?.unwrap_or(0));
        }
        Ok(self)
    }
}

/// Every counter column, counters first then the resolution buckets.
fn counter_columns() -> impl Iterator<Item = &'static str> {
    Counter::ALL
        .iter()
        .map(|c| c.column())
        .chain(BUCKET_COLUMNS)
}

/// The evaluation's cells per month and commune for the months `from..=to` (what the
/// public evaluation publishes from).
pub async fn cells_by_month(db: &Db, from: Month, to: Month) -> Result<Vec<(Month, Cell)>> {
    let sums: Vec<String> = counter_columns()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect();
    let rows = sqlx::query(&format!(
        "SELECT month, unit_code, {} FROM evaluation_counts WHERE month >= $1 AND month <= $2 \
         GROUP BY month, unit_code ORDER BY month, unit_code",
        sums.join(", ")
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                month_of_text(r)?,
                Cell::of_unit(&text(r, "unit_code")?).read(r)?,
            ))
        })
        .collect()
}

fn month_of_text(r: &AnyRow) -> Result<Month> {
    let m = text(r, "month")?;
    Month::parse(&m).map_err(|_| StorageError::Corrupt(format!("evaluation month {m}")))
}

/// The public evaluation's figures as last published, for the months `from..=to`.
pub async fn published(
    db: &Db,
    from: Month,
    to: Month,
) -> Result<Vec<(Month, PublicFigure, Cell)>> {
    let rows = sqlx::query(&format!(
        "SELECT month, unit_code, figure, {} FROM evaluation_published \
         WHERE month >= $1 AND month <= $2",
        counter_columns().collect::<Vec<_>>().join(", ")
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            let f = text(r, "figure")?;
            let figure = PublicFigure::parse(&f)
                .ok_or_else(|| StorageError::Corrupt(format!("published figure {f}")))?;
            Ok((
                month_of_text(r)?,
                figure,
                Cell::of_unit(&text(r, "unit_code")?).read(r)?,
            ))
        })
        .collect()
}

/// Publishes figures anew: each (month, commune, figure) keeps the counters it was
/// published from. Two readers publishing the same figure at once write the same row.
pub async fn publish(db: &Db, figures: &[(Month, PublicFigure, Cell)]) -> Result<()> {
    if figures.is_empty() {
        return Ok(());
    }
    let cols: Vec<&str> = counter_columns().collect();
    let marks: Vec<String> = (0..cols.len()).map(|i| format!("${}", i + 5)).collect();
    let sets: Vec<String> = std::iter::once("published_at")
        .chain(cols.iter().copied())
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO evaluation_published (month, unit_code, figure, published_at, {}) \
         VALUES ($1, $2, $3, $4, {}) ON CONFLICT (month, unit_code, figure) DO UPDATE SET {}",
        cols.join(", "),
        marks.join(", "),
        sets.join(", ")
    );
    let now = Timestamp::now().to_string();
    let mut tx = db.begin().await?;
    for (month, figure, cell) in figures {
        let mut q = sqlx::query(&sql)
            .bind(month.to_string())
            .bind(cell.unit_code.clone().unwrap_or_default())
            .bind(figure.as_str())
            .bind(&now);
        for c in Counter::ALL
            .into_iter()
            .chain((0..BUCKET_COLUMNS.len()).map(Counter::Resolved))
        {
            q = q.bind(cell.get(c));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// How cells are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Unit,
    Agency,
    UnitAndAgency,
}

/// The evaluation's cells for the months `from..=to`: one read of the counters of those
/// months, whatever the number of reports and applications behind them.
pub async fn cells(db: &Db, from: Month, to: Month, by: GroupBy) -> Result<Vec<Cell>> {
    let keys = match by {
        GroupBy::Unit => "unit_code",
        GroupBy::Agency => "agency_code",
        GroupBy::UnitAndAgency => "unit_code, agency_code",
    };
    let sums: Vec<String> = counter_columns()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect();
    let rows = sqlx::query(&format!(
        "SELECT {keys}, {} FROM evaluation_counts WHERE month >= $1 AND month <= $2 \
         GROUP BY {keys} ORDER BY {keys}",
        sums.join(", ")
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(db.reader())
    .await?;
    let key_of = |r: &AnyRow| -> Result<(Option<String>, Option<String>)> {
        Ok(match by {
            GroupBy::Unit => (Some(text(r, "unit_code")?), None),
            GroupBy::Agency => (None, Some(text(r, "agency_code")?)),
            GroupBy::UnitAndAgency => (Some(text(r, "unit_code")?), Some(text(r, "agency_code")?)),
        })
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let (unit_code, agency_code) = key_of(r)?;
        let cell = Cell {
            unit_code,
            agency_code,
            resolution: vec![0; BUCKET_HOURS.len() + 1],
            ..Cell::default()
        };
        out.push(cell.read(r)?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Application ratings

/// Rates a decided application once; `Ok(false)` if it was rated already.
#[allow(clippy::too_many_arguments)]
pub async fn rate_application(
    tx: &mut Tx,
    app: &crate::applications::Application,
    satisfaction: i64,
    on_time: bool,
    comment: Option<&str>,
    record: AuditRecord,
) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO application_ratings (number, satisfaction, on_time, comment, rated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (number) DO NOTHING",
    )
    .bind(&app.number)
    .bind(satisfaction)
    .bind(i64::from(on_time))
    .bind(comment)
    .bind(Timestamp::now().to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let decided = app
        .decided_at
        .as_deref()
        .ok_or_else(|| StorageError::Corrupt(format!("application {} undecided", app.number)))?;
    bump(
        tx,
        month_of(decided)?,
        &app.unit_code,
        &app.agency_code,
        &[
            (Counter::AppRatings, 1),
            (Counter::AppScoreSum, satisfaction),
        ],
    )
    .await?;
    audit::append(tx, &record.fields(["satisfaction", "on_time", "comment"])).await?;
    Ok(true)
}

/// Counts an application decided now: on time if decided by its due day.
pub(crate) async fn count_decision(
    tx: &mut Tx,
    app: &crate::applications::Application,
) -> Result<()> {
    let Some(decided) = app.decided_at.as_deref() else {
        return Ok(());
    };
    let day = local_date(decided)?;
    let on_time = app
        .due_on
        .as_deref()
        .is_none_or(|due| day.to_string().as_str() <= due);
    bump(
        tx,
        Month::of(day),
        &app.unit_code,
        &app.agency_code,
        &[
            (Counter::AppsDecided, 1),
            (Counter::AppsOnTime, i64::from(on_time)),
        ],
    )
    .await
}

pub async fn application_rating(
    db: &Db,
    number: &str,
) -> Result<Option<(i64, bool, Option<String>, String)>> {
    let row = sqlx::query(
        "SELECT satisfaction, on_time, comment, rated_at FROM application_ratings WHERE number = $1",
    )
    .bind(number)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| {
        Ok((
            int(&r, "satisfaction")?,
            int(&r, "on_time")? != 0,
            opt_text(&r, "comment")?,
            text(&r, "rated_at")?,
        ))
    })
    .transpose()
}

// ---------------------------------------------------------------------------------------
// Seeding (benchmarks)

/// Writes reports as they are, without events or audit entries, and adds what they count to
/// the evaluation's counters: for filling a benchmark's database, never for residents'
/// reports.
pub async fn seed(tx: &mut Tx, reports: &[Report]) -> Result<()> {
    const NCOLS: usize = 28;
    for chunk in crate::pow2_chunks(reports, 64) {
        let sql = format!(
            "INSERT INTO reports ({COLUMNS}) VALUES {}",
            crate::values_placeholders(tx, chunk.len(), NCOLS)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = bind_report(q, r);
        }
        q.execute(&mut **tx).await?;
    }
    type Key = (Month, String, String);
    let mut counts: std::collections::HashMap<Key, Vec<(Counter, i64)>> = Default::default();
    let mut buckets: std::collections::HashMap<(Key, usize), i64> = Default::default();
    for r in reports {
        let key = (
            month_of(&r.created_at)?,
            r.unit_code.clone(),
            r.agency_code.clone(),
        );
        let c = counts.entry(key.clone()).or_default();
        c.push((Counter::ReportsReceived, 1));
        if let Some(at) = &r.resolved_at {
            c.push((Counter::ReportsResolved, 1));
            *buckets
                .entry((key, bucket_of(hours_between(&r.created_at, at)?)))
                .or_default() += 1;
        }
        if let Some(score) = r.rating {
            c.push((Counter::ReportRatings, 1));
            c.push((Counter::ReportScoreSum, score));
        }
    }
    for ((month, unit, agency), deltas) in counts {
        let mut sums: Vec<(Counter, i64)> = Vec::new();
        for (c, d) in deltas {
            match sums.iter_mut().find(|(x, _)| *x == c) {
                Some((_, v)) => *v += d,
                None => sums.push((c, d)),
            }
        }
        bump(tx, month, &unit, &agency, &sums).await?;
    }
    for (((month, unit, agency), bucket), n) in buckets {
        bump_bucket(tx, month, &unit, &agency, bucket, n).await?;
    }
    Ok(())
}
