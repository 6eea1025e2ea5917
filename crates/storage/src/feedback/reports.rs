//! Reports: filed, moved, forwarded, supported, read back for the map and the queue.

use super::*;

#[derive(Debug, Clone)]
pub struct Report {
    pub id: String,
    pub token: String,
    pub category_code: String,
    pub status: ReportStatus,
    /// The agency answering it now (forwarding changes it).
    pub agency_code: AgencyCode,
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
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The last day to resolve it (the category's working days from filing).
    pub due_on: Date,
    pub resolved_at: Option<Timestamp>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<Timestamp>,
    pub reopened: i64,
    pub revision: i64,
}

/// The sealing context of a report's contact.
pub fn contact_context(id: &str) -> String {
    format!("reports.contact:{id}")
}

pub(super) const COLUMNS: &str =
    "id, token, category_code, status, agency_code, unit_code, lat, lon, \
    address, description, attributes, media_url, reporter, contact, reporter_code_hash, channel, \
    supporters, status_note, resolution_note, created_at, updated_at, due_on, resolved_at, \
    rating, rating_comment, rated_at, reopened, revision";

/// The columns the public map shows: nothing about who reported, and only what a marker
/// needs (the rest is one request away), so that the `reports_map` index covers them and a
/// box is read from the index alone.
const MAP_COLUMNS: &str = "id, category_code, status, unit_code, lat, lon, supporters, created_at";

/// The table rows are read from, as errors name it.
const T: &str = "reports";

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
        agency_code: parsed(row, T, "agency_code", |a| AgencyCode::parse(a).ok())?,
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
        created_at: parsed(row, T, "created_at", stamp)?,
        updated_at: parsed(row, T, "updated_at", stamp)?,
        due_on: parsed(row, T, "due_on", day)?,
        resolved_at: opt_parsed(row, T, "resolved_at", stamp)?,
        rating: opt_int(row, "rating")?,
        rating_comment: opt_text(row, "rating_comment")?,
        rated_at: opt_parsed(row, T, "rated_at", stamp)?,
        reopened: int(row, "reopened")?,
        revision: int(row, "revision")?,
    })
}

/// The month a report's counters live in: the month it was filed (in the city's time).
pub(super) fn month_of(at: Timestamp) -> Month {
    Month::of(at.local_date())
}

pub(super) fn hours_between(from: Timestamp, to: Timestamp) -> f64 {
    let d = to.datetime() - from.datetime();
    d.as_seconds_f64().max(0.0) / 3600.0
}

/// Binds a report's columns in the order of [`COLUMNS`].
pub(super) fn bind_report<'q>(q: AnyQuery<'q>, r: &'q Report) -> AnyQuery<'q> {
    q.bind(&r.id)
        .bind(&r.token)
        .bind(&r.category_code)
        .bind(r.status.as_str())
        .bind(r.agency_code.as_str())
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
        .bind(r.created_at.to_string())
        .bind(r.updated_at.to_string())
        .bind(date_text(r.due_on))
        .bind(r.resolved_at.map(|t| t.to_string()))
        .bind(r.rating)
        .bind(&r.rating_comment)
        .bind(r.rated_at.map(|t| t.to_string()))
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
        month_of(r.created_at),
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
    .bind(after.agency_code.as_str())
    .bind(actor)
    .bind(after.updated_at.to_string())
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
    if !write_over(tx, before, after).await? {
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
    let month = month_of(before.created_at);
    let unit = &before.unit_code;
    // Counters follow the agency answering now: a forwarded report moves with it.
    if let Some(old) = from_agency {
        move_report_counters(tx, month, unit, old, &after.agency_code, before).await?;
    }
    count_resolution(tx, month, before, after).await?;
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

/// The row's update, if its revision is still `before`'s: whether it was written.
async fn write_over(tx: &mut Tx, before: &Report, after: &Report) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE reports SET status = $1, agency_code = $2, status_note = $3, resolution_note = $4, \
         updated_at = $5, due_on = $6, resolved_at = $7, rating = $8, rating_comment = $9, \
         rated_at = $10, reopened = $11, revision = revision + 1 WHERE id = $12 AND revision = $13",
    )
    .bind(after.status.as_str())
    .bind(after.agency_code.as_str())
    .bind(&after.status_note)
    .bind(&after.resolution_note)
    .bind(after.updated_at.to_string())
    .bind(date_text(after.due_on))
    .bind(after.resolved_at.map(|t| t.to_string()))
    .bind(after.rating)
    .bind(&after.rating_comment)
    .bind(after.rated_at.map(|t| t.to_string()))
    .bind(after.reopened)
    .bind(&before.id)
    .bind(before.revision)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n != 0)
}

/// Counts a report resolved by this change (with its time to resolve), or takes back the
/// count of one that is no longer resolved.
async fn count_resolution(
    tx: &mut Tx,
    month: Month,
    before: &Report,
    after: &Report,
) -> Result<()> {
    let unit = &before.unit_code;
    match (before.resolved_at, after.resolved_at) {
        (None, Some(at)) => {
            let hours = hours_between(after.created_at, at);
            bump(
                tx,
                month,
                unit,
                &after.agency_code,
                &[(Counter::ReportsResolved, 1)],
            )
            .await?;
            bump_bucket(tx, month, unit, &after.agency_code, bucket_of(hours), 1).await?;
        }
        (Some(at), None) => {
            let hours = hours_between(before.created_at, at);
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
        _ => {}
    }
    Ok(())
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
    if let Some(at) = r.resolved_at {
        let b = bucket_of(hours_between(r.created_at, at));
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
    pub at: Timestamp,
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
                at: parsed(r, "report_events", "at", stamp)?,
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
    pub created_at: Timestamp,
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
        created_at: parsed(row, T, "created_at", stamp)?,
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
