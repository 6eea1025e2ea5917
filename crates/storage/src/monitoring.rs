//! Procedure monitoring: received, in progress, decided on time or late, overdue now and
//! processing times, by agency × commune × procedure × month.
//!
//! What one application contributes to the counters is its [`Shape`], computed here and
//! nowhere else. Every write of an application adds the shape of what it wrote and takes
//! away the shape of what was there before, in the same transaction ([`Deltas`]); a full
//! recount ([`recount`]) sums the shapes of every stored application, which is how the
//! counters are checked and rebuilt (`sohoa monitoring check --repair`).

use std::collections::BTreeMap;

use sohoa_domain::feedback::evaluation::Month;
use sohoa_domain::services::workflow::Status;

use crate::applications::Application;
use crate::{int, local_date, text, AnyQuery, Db, Filter, Result, StorageError, Tx};

/// Where a month's flows are counted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    pub month: String,
    pub agency: String,
    pub unit: String,
    pub procedure: String,
}

/// Where an undecided application waits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenKey {
    pub agency: String,
    pub unit: String,
    pub procedure: String,
    pub status: String,
    /// The deadline clock runs (not paused for a supplement).
    pub running: bool,
    /// `""` when there is no due day yet.
    pub due_on: String,
}

/// The flows' counters of one key, in the columns' order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flow {
    pub received: i64,
    pub decided_on_time: i64,
    pub decided_late: i64,
    pub days_sum: i64,
}

impl Flow {
    fn add(&mut self, o: &Flow, sign: i64) {
        self.received += sign * o.received;
        self.decided_on_time += sign * o.decided_on_time;
        self.decided_late += sign * o.decided_late;
        self.days_sum += sign * o.days_sum;
    }
    fn is_zero(&self) -> bool {
        *self == Flow::default()
    }
}

/// Statuses counted as in progress: submitted and not yet decided or withdrawn.
pub const OPEN: [Status; 5] = [
    Status::Submitted,
    Status::Received,
    Status::InReview,
    Status::SupplementRequested,
    Status::Resubmitted,
];

fn date(s: &str) -> Result<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, fmt).map_err(|_| StorageError::Corrupt(format!("date {s}")))
}

/// What one application adds to the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    flows: Vec<(FlowKey, Flow)>,
    /// The decision's month key and how many days it took.
    duration: Option<(FlowKey, i64)>,
    open: Option<OpenKey>,
}

impl Shape {
    pub fn of(app: &Application) -> Result<Shape> {
        let mut shape = Shape::default();
        if app.status == Status::Draft {
            return Ok(shape);
        }
        let key = |month: Month| FlowKey {
            month: month.to_string(),
            agency: app.agency_code.clone(),
            unit: app.unit_code.clone(),
            procedure: app.procedure_code.clone(),
        };
        let received = app.received_on.as_deref().map(date).transpose()?;
        if let Some(day) = received {
            shape.flows.push((
                key(Month::of(day)),
                Flow {
                    received: 1,
                    ..Flow::default()
                },
            ));
        }
        if let Some(at) = app.decided_at.as_deref() {
            let day = local_date(at)?;
            // Same rule as the service evaluation: on time when decided on or before the
            // due day, or when there was none.
            let on_time = app
                .due_on
                .as_deref()
                .is_none_or(|due| day.to_string().as_str() <= due);
            let start = match received {
                Some(r) => r,
                None => local_date(app.submitted_at.as_deref().unwrap_or(&app.created_at))?,
            };
            let days = (day - start).whole_days().max(0);
            let k = key(Month::of(day));
            shape.flows.push((
                k.clone(),
                Flow {
                    decided_on_time: i64::from(on_time),
                    decided_late: i64::from(!on_time),
                    days_sum: days,
                    ..Flow::default()
                },
            ));
            shape.duration = Some((k, days));
        }
        if OPEN.contains(&app.status) && app.decided_at.is_none() {
            shape.open = Some(OpenKey {
                agency: app.agency_code.clone(),
                unit: app.unit_code.clone(),
                procedure: app.procedure_code.clone(),
                status: app.status.as_str().to_owned(),
                running: app.status.clock_runs() && app.paused_on.is_none(),
                due_on: app.due_on.clone().unwrap_or_default(),
            });
        }
        Ok(shape)
    }
}

/// Changes to the counters, summed over any number of applications.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deltas {
    pub flows: BTreeMap<FlowKey, Flow>,
    pub durations: BTreeMap<(FlowKey, i64), i64>,
    pub open: BTreeMap<OpenKey, i64>,
}

impl Deltas {
    /// Adds `shape` (`sign` 1) or takes it away (`sign` -1).
    pub fn add(&mut self, shape: &Shape, sign: i64) {
        for (k, f) in &shape.flows {
            self.flows.entry(k.clone()).or_default().add(f, sign);
        }
        if let Some((k, days)) = &shape.duration {
            *self.durations.entry((k.clone(), *days)).or_default() += sign;
        }
        if let Some(k) = &shape.open {
            *self.open.entry(k.clone()).or_default() += sign;
        }
    }

    /// The move from `before` to `after` (either may be absent).
    pub fn change(before: Option<&Application>, after: &Application) -> Result<Deltas> {
        let mut d = Deltas::default();
        if let Some(b) = before {
            d.add(&Shape::of(b)?, -1);
        }
        d.add(&Shape::of(after)?, 1);
        d.prune();
        Ok(d)
    }

    fn prune(&mut self) {
        self.flows.retain(|_, f| !f.is_zero());
        self.durations.retain(|_, n| *n != 0);
        self.open.retain(|_, n| *n != 0);
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty() && self.durations.is_empty() && self.open.is_empty()
    }
}

/// Most keys per multi-row upsert.
const CHUNK: usize = 64;

/// Writes `d` into the counters (in the caller's transaction).
pub async fn apply(tx: &mut Tx, d: &Deltas) -> Result<()> {
    let flows: Vec<(&FlowKey, &Flow)> = d.flows.iter().collect();
    for chunk in crate::pow2_chunks(&flows, CHUNK) {
        let sql = format!(
            "INSERT INTO monitor_flows (month, agency_code, unit_code, procedure_code, received, \
             decided_on_time, decided_late, days_sum) VALUES {} ON CONFLICT (month, agency_code, \
             unit_code, procedure_code) DO UPDATE SET \
             received = monitor_flows.received + excluded.received, \
             decided_on_time = monitor_flows.decided_on_time + excluded.decided_on_time, \
             decided_late = monitor_flows.decided_late + excluded.decided_late, \
             days_sum = monitor_flows.days_sum + excluded.days_sum",
            crate::values_placeholders(tx, chunk.len(), 8)
        );
        let mut q = sqlx::query(&sql);
        for (k, f) in chunk {
            q = q
                .bind(k.month.clone())
                .bind(k.agency.clone())
                .bind(k.unit.clone())
                .bind(k.procedure.clone())
                .bind(f.received)
                .bind(f.decided_on_time)
                .bind(f.decided_late)
                .bind(f.days_sum);
        }
        q.execute(&mut **tx).await?;
    }
    let durations: Vec<(&(FlowKey, i64), &i64)> = d.durations.iter().collect();
    for chunk in crate::pow2_chunks(&durations, CHUNK) {
        let sql = format!(
            "INSERT INTO monitor_durations (month, agency_code, unit_code, procedure_code, days, n) \
             VALUES {} ON CONFLICT (month, agency_code, unit_code, procedure_code, days) \
             DO UPDATE SET n = monitor_durations.n + excluded.n",
            crate::values_placeholders(tx, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for ((k, days), n) in chunk {
            q = q
                .bind(k.month.clone())
                .bind(k.agency.clone())
                .bind(k.unit.clone())
                .bind(k.procedure.clone())
                .bind(*days)
                .bind(**n);
        }
        q.execute(&mut **tx).await?;
    }
    let open: Vec<(&OpenKey, &i64)> = d.open.iter().collect();
    for chunk in crate::pow2_chunks(&open, CHUNK) {
        let sql = format!(
            "INSERT INTO monitor_open (agency_code, unit_code, procedure_code, status, running, \
             due_on, n) VALUES {} ON CONFLICT (agency_code, unit_code, procedure_code, status, \
             running, due_on) DO UPDATE SET n = monitor_open.n + excluded.n",
            crate::values_placeholders(tx, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for (k, n) in chunk {
            q = bind_open(q, k).bind(**n);
        }
        q.execute(&mut **tx).await?;
    }
    // The rows a decrement may have emptied: kept, they would pile up one per past due day.
    for (k, n) in &d.open {
        if *n < 0 {
            let q = sqlx::query(
                "DELETE FROM monitor_open WHERE agency_code = $1 AND unit_code = $2 \
                 AND procedure_code = $3 AND status = $4 AND running = $5 AND due_on = $6 AND n = 0",
            );
            bind_open(q, k).execute(&mut **tx).await?;
        }
    }
    for ((k, days), n) in &d.durations {
        if *n < 0 {
            sqlx::query(
                "DELETE FROM monitor_durations WHERE month = $1 AND agency_code = $2 \
                 AND unit_code = $3 AND procedure_code = $4 AND days = $5 AND n = 0",
            )
            .bind(k.month.clone())
            .bind(k.agency.clone())
            .bind(k.unit.clone())
            .bind(k.procedure.clone())
            .bind(*days)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

fn bind_open<'q>(q: AnyQuery<'q>, k: &OpenKey) -> AnyQuery<'q> {
    q.bind(k.agency.clone())
        .bind(k.unit.clone())
        .bind(k.procedure.clone())
        .bind(k.status.clone())
        .bind(i64::from(k.running))
        .bind(k.due_on.clone())
}

/// How many applications are stored (for a recount's progress).
pub async fn applications(db: &Db) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM applications")
        .fetch_one(db.reader())
        .await?)
}

/// Applications read per page while recounting.
const RECOUNT_PAGE: i64 = 5_000;

/// The counters as a full recount of `applications` makes them, without opening any seal.
pub async fn recount(db: &Db, mut progress: impl FnMut(u64)) -> Result<Deltas> {
    let mut d = Deltas::default();
    let mut after = String::new();
    let mut seen = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT number, procedure_code, agency_code, unit_code, status, created_at, \
             submitted_at, received_on, due_on, paused_on, decided_at FROM applications \
             WHERE number > $1 ORDER BY number LIMIT $2",
        )
        .bind(after.clone())
        .bind(RECOUNT_PAGE)
        .fetch_all(db.reader())
        .await?;
        let Some(last) = rows.last() else { break };
        after = text(last, "number")?;
        for r in &rows {
            let app = skeleton(r)?;
            d.add(&Shape::of(&app)?, 1);
        }
        seen += rows.len() as u64;
        progress(seen);
    }
    d.prune();
    Ok(d)
}

/// An application with just what its shape needs.
fn skeleton(r: &sqlx::any::AnyRow) -> Result<Application> {
    use crate::opt_text;
    let s = text(r, "status")?;
    Ok(Application {
        number: text(r, "number")?,
        procedure_code: text(r, "procedure_code")?,
        procedure_version: 0,
        applicant: String::new(),
        agency_code: text(r, "agency_code")?,
        unit_code: text(r, "unit_code")?,
        status: Status::parse(&s)
            .ok_or_else(|| StorageError::Corrupt(format!("application status {s}")))?,
        content: None,
        fee: None,
        fee_payable: None,
        waiver_basis: None,
        assigned_to: None,
        created_at: text(r, "created_at")?,
        submitted_at: opt_text(r, "submitted_at")?,
        received_on: opt_text(r, "received_on")?,
        due_on: opt_text(r, "due_on")?,
        paused_on: opt_text(r, "paused_on")?,
        decided_at: opt_text(r, "decided_at")?,
        updated_at: String::new(),
        revision: 0,
        lookup_hash: String::new(),
        assisted_by: None,
        fee_paid_at: None,
        enterprise: None,
    })
}

/// The counters as stored.
pub async fn stored(db: &Db) -> Result<Deltas> {
    let mut d = Deltas::default();
    for r in sqlx::query(
        "SELECT month, agency_code, unit_code, procedure_code, received, decided_on_time, \
         decided_late, days_sum FROM monitor_flows",
    )
    .fetch_all(db.reader())
    .await?
    {
        d.flows.insert(
            flow_key(&r)?,
            Flow {
                received: int(&r, "received")?,
                decided_on_time: int(&r, "decided_on_time")?,
                decided_late: int(&r, "decided_late")?,
                days_sum: int(&r, "days_sum")?,
            },
        );
    }
    for r in sqlx::query(
        "SELECT month, agency_code, unit_code, procedure_code, days, n FROM monitor_durations",
    )
    .fetch_all(db.reader())
    .await?
    {
        d.durations
            .insert((flow_key(&r)?, int(&r, "days")?), int(&r, "n")?);
    }
    for r in sqlx::query(
        "SELECT agency_code, unit_code, procedure_code, status, running, due_on, n FROM monitor_open",
    )
    .fetch_all(db.reader())
    .await?
    {
        d.open.insert(
            OpenKey {
                agency: text(&r, "agency_code")?,
                unit: text(&r, "unit_code")?,
                procedure: text(&r, "procedure_code")?,
                status: text(&r, "status")?,
                running: int(&r, "running")? != 0,
                due_on: text(&r, "due_on")?,
            },
            int(&r, "n")?,
        );
    }
    d.prune();
    Ok(d)
}

fn flow_key(r: &sqlx::any::AnyRow) -> Result<FlowKey> {
    Ok(FlowKey {
        month: text(r, "month")?,
        agency: text(r, "agency_code")?,
        unit: text(r, "unit_code")?,
        procedure: text(r, "procedure_code")?,
    })
}

/// How many stored counters differ from a recount (keys missing on either side count).
pub fn differences(stored: &Deltas, recounted: &Deltas) -> usize {
    fn diff<K: Ord, V: PartialEq>(a: &BTreeMap<K, V>, b: &BTreeMap<K, V>) -> usize {
        a.iter().filter(|(k, v)| b.get(k) != Some(v)).count()
            + b.keys().filter(|k| !a.contains_key(k)).count()
    }
    diff(&stored.flows, &recounted.flows)
        + diff(&stored.durations, &recounted.durations)
        + diff(&stored.open, &recounted.open)
}

/// Replaces the counters with `recounted`, in one transaction.
pub async fn replace(db: &Db, recounted: &Deltas) -> Result<()> {
    let mut tx = db.begin().await?;
    for t in ["monitor_flows", "monitor_durations", "monitor_open"] {
        sqlx::query(&format!("DELETE FROM {t}"))
            .execute(&mut *tx)
            .await?;
    }
    apply(&mut tx, recounted).await?;
    crate::settings::set(&mut tx, BUILT, "1").await?;
    tx.commit().await?;
    Ok(())
}

const BUILT: &str = "monitoring.built";

/// Builds the counters from the stored applications once, for a database that had
/// applications before monitoring existed. `true` when it did.
pub async fn ensure_built(db: &Db) -> Result<bool> {
    let mut tx = db.begin().await?;
    let built = crate::settings::get(&mut tx, BUILT).await?.is_some();
    tx.rollback().await?;
    if built {
        return Ok(false);
    }
    let d = recount(db, |_| {}).await?;
    replace(db, &d).await?;
    Ok(true)
}

/// What a dashboard groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    City,
    Agency,
    Unit,
    Procedure,
    Month,
}

impl By {
    fn column(self) -> &'static str {
        match self {
            By::City => "'city'",
            By::Agency => "agency_code",
            By::Unit => "unit_code",
            By::Procedure => "procedure_code",
            By::Month => "month",
        }
    }
}

/// Which applications a dashboard counts: months `from..=to` for the flows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub agency: Option<String>,
    pub unit: Option<String>,
    pub procedure: Option<String>,
    pub from: Month,
    pub to: Month,
}

/// One row of a dashboard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub key: String,
    pub received: i64,
    pub decided_on_time: i64,
    pub decided_late: i64,
    pub days_sum: i64,
    /// Days per decision → how many; for the median.
    pub durations: BTreeMap<i64, i64>,
    /// Now, whatever the months (absent when grouped by month).
    pub in_progress: Option<i64>,
    pub overdue: Option<i64>,
}

impl Figures {
    pub fn decided(&self) -> i64 {
        self.decided_on_time + self.decided_late
    }
    pub fn mean_days(&self) -> Option<f64> {
        let n = self.decided();
        (n > 0).then(|| self.days_sum as f64 / n as f64)
    }
    /// The middle decision's days (the mean of the two middle ones for an even count).
    pub fn median_days(&self) -> Option<f64> {
        let n: i64 = self.durations.values().sum();
        if n <= 0 {
            return None;
        }
        let at = |rank: i64| {
            let mut seen = 0;
            for (d, c) in &self.durations {
                seen += c;
                if seen > rank {
                    return *d as f64;
                }
            }
            0.0
        };
        Some(if n % 2 == 1 {
            at(n / 2)
        } else {
            (at(n / 2 - 1) + at(n / 2)) / 2.0
        })
    }
}

fn scope_filter(s: &Scope, months: bool) -> Filter {
    let mut f = Filter::default();
    if months {
        f.and("month >= ?", [s.from.to_string()]);
        f.and("month <= ?", [s.to.to_string()]);
    }
    for (col, v) in [
        ("agency_code", &s.agency),
        ("unit_code", &s.unit),
        ("procedure_code", &s.procedure),
    ] {
        if let Some(v) = v {
            f.and(&format!("{col} = ?"), [v.clone()]);
        }
    }
    f
}

/// The figures of `scope` grouped `by`, sorted by key; `today` (`YYYY-MM-DD`) decides what
/// is overdue. Reads the counters only: its cost grows with the keys shown.
pub async fn figures(db: &Db, by: By, scope: &Scope, today: &str) -> Result<Vec<Figures>> {
    let col = by.column();
    // PostgreSQL refuses a constant to group by: the city is one group anyway.
    let group = |extra: &str| match (by, extra) {
        (By::City, "") => String::new(),
        (By::City, e) => format!(" GROUP BY {e}"),
        (_, "") => format!(" GROUP BY {col}"),
        (_, e) => format!(" GROUP BY {col}, {e}"),
    };
    let mut rows: BTreeMap<String, Figures> = BTreeMap::new();
    let f = scope_filter(scope, true);
    let sql = format!(
        "SELECT {col} AS k, CAST(COALESCE(SUM(received), 0) AS BIGINT) AS received, \
         CAST(COALESCE(SUM(decided_on_time), 0) AS BIGINT) AS on_time, \
         CAST(COALESCE(SUM(decided_late), 0) AS BIGINT) AS late, \
         CAST(COALESCE(SUM(days_sum), 0) AS BIGINT) AS days FROM monitor_flows{}{}",
        f.where_sql(),
        group("")
    );
    for r in f.bind(sqlx::query(&sql)).fetch_all(db.reader()).await? {
        let e = entry(&mut rows, text(&r, "k")?);
        e.received = int(&r, "received")?;
        e.decided_on_time = int(&r, "on_time")?;
        e.decided_late = int(&r, "late")?;
        e.days_sum = int(&r, "days")?;
    }
    let sql = format!(
        "SELECT {col} AS k, days, CAST(SUM(n) AS BIGINT) AS n FROM monitor_durations{}{}",
        f.where_sql(),
        group("days")
    );
    for r in f.bind(sqlx::query(&sql)).fetch_all(db.reader()).await? {
        let e = entry(&mut rows, text(&r, "k")?);
        e.durations.insert(int(&r, "days")?, int(&r, "n")?);
    }
    if by != By::Month {
        let f = scope_filter(scope, false);
        let today_at = f.next_placeholder();
        let sql = format!(
            "SELECT {col} AS k, CAST(COALESCE(SUM(n), 0) AS BIGINT) AS open, \
             CAST(COALESCE(SUM(CASE WHEN running = 1 AND due_on <> '' AND due_on < ${today_at} \
             THEN n ELSE 0 END), 0) AS BIGINT) AS overdue FROM monitor_open{}{}",
            f.where_sql(),
            group("")
        );
        for r in f
            .bind(sqlx::query(&sql))
            .bind(today.to_owned())
            .fetch_all(db.reader())
            .await?
        {
            let e = entry(&mut rows, text(&r, "k")?);
            e.in_progress = Some(int(&r, "open")?);
            e.overdue = Some(int(&r, "overdue")?);
        }
        for e in rows.values_mut() {
            e.in_progress.get_or_insert(0);
            e.overdue.get_or_insert(0);
        }
    }
    Ok(rows.into_values().collect())
}

fn entry(rows: &mut BTreeMap<String, Figures>, key: String) -> &mut Figures {
    rows.entry(key.clone()).or_insert_with(|| Figures {
        key,
        ..Figures::default()
    })
}
