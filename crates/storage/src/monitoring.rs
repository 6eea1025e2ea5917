//! Procedure monitoring: received, in progress, decided on time or late, overdue now and
//! processing times, by agency × commune × procedure × month.
//!
//! What one application contributes to the counters is its [`Shape`], computed here and
//! nowhere else. Every write of an application adds the shape of what it wrote and takes
//! away the shape of what was there before, in the same transaction ([`Deltas`]); a full
//! recount ([`recount`]) sums the shapes of every stored application, which is how the
//! counters are checked and rebuilt (`sohoa monitoring check --repair`).
//!
//! A dashboard's cost follows what it shows, not the applications nor the finest groups:
//! the counters are kept at five [`Grain`]s (the finest, and summed over all but the
//! agency, the commune, the procedure, or everything), a question reads the coarsest grain
//! that answers it, processing days are a histogram of columns in the flows' row, and
//! "overdue now" is a counter that a daily [`roll_over`] moves, with the days since the
//! last roll-over added from `monitor_due` at reading so the figure is exact every day.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::feedback::evaluation::Month;
use sohoa_domain::registry::date_text;
use sohoa_domain::services::application::ApplicationNumber;
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::services::workflow::Status;
use sohoa_domain::{CitizenId, UnitCode};

use crate::application::Application;
use crate::{int, text, AnyQuery, Db, Filter, Result, StorageError, Tx};

/// Processing days counted one day each, from 0 to this.
pub const EXACT_DAYS: i64 = 30;
/// The inclusive upper bounds of the wider buckets after the exact days; the last column
/// counts everything longer.
pub const WIDE_BUCKETS: [i64; 7] = [35, 40, 45, 60, 90, 180, 365];
/// Columns of the processing days' histogram.
pub const HISTOGRAM: usize = EXACT_DAYS as usize + 1 + WIDE_BUCKETS.len() + 1;

/// The histogram column that counts a decision taking `days`.
pub fn bucket_of(days: i64) -> usize {
    if days <= EXACT_DAYS {
        return days.max(0) as usize;
    }
    EXACT_DAYS as usize
        + 1
        + WIDE_BUCKETS
            .iter()
            .position(|&hi| days <= hi)
            .unwrap_or(WIDE_BUCKETS.len())
}

/// The days histogram column `i` spans: first and last (`None` for the open-ended one).
pub fn bucket_span(i: usize) -> (i64, Option<i64>) {
    let exact = EXACT_DAYS as usize + 1;
    if i < exact {
        return (i as i64, Some(i as i64));
    }
    let j = i - exact;
    let lo = match j {
        0 => EXACT_DAYS + 1,
        _ => WIDE_BUCKETS[j - 1] + 1,
    };
    (lo, WIDE_BUCKETS.get(j).copied())
}

/// The histogram's column names, as in the migration: `d7`, `d31_35`, `d366_more`.
static HIST_COLUMNS: LazyLock<Vec<String>> = LazyLock::new(|| {
    (0..HISTOGRAM)
        .map(|i| match bucket_span(i) {
            (lo, Some(hi)) if lo == hi => format!("d{lo}"),
            (lo, Some(hi)) => format!("d{lo}_{hi}"),
            (lo, None) => format!("d{lo}_more"),
        })
        .collect()
});

/// The median of the decisions counted in `hist`: exact while it falls within the exact
/// days (the mean of the two middle ones for an even count); inside a wider bucket, its
/// decisions are taken as spread evenly over the bucket's days; in the open-ended one, its
/// first day.
pub fn median_of(hist: &[i64]) -> Option<f64> {
    let n: i64 = hist.iter().sum();
    if n <= 0 {
        return None;
    }
    let at = |rank: i64| {
        let mut seen = 0;
        for (i, &c) in hist.iter().enumerate() {
            if c > 0 && rank < seen + c {
                return match bucket_span(i) {
                    (lo, Some(hi)) => {
                        lo as f64 + (hi - lo) as f64 * ((rank - seen) as f64 + 0.5) / c as f64
                    }
                    (lo, None) => lo as f64,
                };
            }
            seen += c;
        }
        0.0
    };
    Some(if n % 2 == 1 {
        at(n / 2)
    } else {
        (at(n / 2 - 1) + at(n / 2)) / 2.0
    })
}

/// Agency, commune and procedure of a group; `""` where a grain sums over one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dims {
    pub agency: String,
    pub unit: String,
    pub procedure: String,
}

/// Which dimensions a row of counters keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    /// Agency × commune × procedure.
    Each,
    Agency,
    Unit,
    Procedure,
    City,
}

impl Grain {
    pub const ALL: [Grain; 5] = [
        Grain::Each,
        Grain::Agency,
        Grain::Unit,
        Grain::Procedure,
        Grain::City,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Each => "each",
            Grain::Agency => "agency",
            Grain::Unit => "unit",
            Grain::Procedure => "procedure",
            Grain::City => "city",
        }
    }

    fn parse(s: &str) -> Result<Grain> {
        Grain::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| StorageError::Corrupt(format!("monitoring grain {s}")))
    }

    /// `d` with the dimensions this grain sums over blanked.
    fn project(self, d: &Dims) -> Dims {
        let keep = |kept: bool, v: &String| if kept { v.clone() } else { String::new() };
        Dims {
            agency: keep(matches!(self, Grain::Each | Grain::Agency), &d.agency),
            unit: keep(matches!(self, Grain::Each | Grain::Unit), &d.unit),
            procedure: keep(matches!(self, Grain::Each | Grain::Procedure), &d.procedure),
        }
    }

    /// The coarsest grain that keeps what `by` groups on and what `scope` filters on.
    pub fn for_query(by: By, scope: &Scope) -> Grain {
        let agency = by == By::Agency || scope.agency.is_some();
        let unit = by == By::Unit || scope.unit.is_some();
        let procedure = by == By::Procedure || scope.procedure.is_some();
        match (agency, unit, procedure) {
            (false, false, false) => Grain::City,
            (true, false, false) => Grain::Agency,
            (false, true, false) => Grain::Unit,
            (false, false, true) => Grain::Procedure,
            _ => Grain::Each,
        }
    }
}

/// Where a month's flows are counted (at the finest grain).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    pub month: String,
    pub dims: Dims,
}

/// Where an undecided application waits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenKey {
    pub dims: Dims,
    /// The deadline clock runs (not paused for a supplement).
    pub running: bool,
    /// `""` when there is no due day yet.
    pub due_on: String,
}

impl OpenKey {
    /// Counted in `monitor_due`: only a running clock with a due day can become overdue.
    fn due(&self) -> Option<&str> {
        (self.running && !self.due_on.is_empty()).then_some(self.due_on.as_str())
    }
}

/// The flows' counters of one key, in the columns' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub received: i64,
    /// Of those received, filed online (every channel but the counter): the national
    /// digital-transformation index's share.
    pub received_online: i64,
    pub decided_on_time: i64,
    pub decided_late: i64,
    pub days_sum: i64,
    /// Decisions by [`bucket_of`] their days.
    pub hist: [i64; HISTOGRAM],
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            received: 0,
            received_online: 0,
            decided_on_time: 0,
            decided_late: 0,
            days_sum: 0,
            hist: [0; HISTOGRAM],
        }
    }
}

impl Flow {
    fn add(&mut self, o: &Flow, sign: i64) {
        self.received += sign * o.received;
        self.received_online += sign * o.received_online;
        self.decided_on_time += sign * o.decided_on_time;
        self.decided_late += sign * o.decided_late;
        self.days_sum += sign * o.days_sum;
        for (a, b) in self.hist.iter_mut().zip(o.hist) {
            *a += sign * b;
        }
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

/// What one application adds to the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    flows: Vec<(FlowKey, Flow)>,
    open: Option<OpenKey>,
}

impl Shape {
    pub fn of(app: &Application) -> Result<Shape> {
        let mut shape = Shape::default();
        if app.status == Status::Draft {
            return Ok(shape);
        }
        let dims = Dims {
            agency: app.agency_code.to_string(),
            unit: app.unit_code.to_string(),
            procedure: app.procedure_code.to_string(),
        };
        let key = |month: Month| FlowKey {
            month: month.to_string(),
            dims: dims.clone(),
        };
        let received = app.received_on;
        if let Some(day) = received {
            shape.flows.push((
                key(Month::of(day)),
                Flow {
                    received: 1,
                    received_online: i64::from(app.channel.is_online()),
                    ..Flow::default()
                },
            ));
        }
        if let Some(at) = app.decided_at {
            let day = at.local_date();
            // Same rule as the service evaluation: on time when decided on or before the
            // due day, or when there was none.
            let on_time = app.due_on.is_none_or(|due| day <= due);
            let start = match received {
                Some(r) => r,
                None => app.submitted_at.unwrap_or(app.created_at).local_date(),
            };
            let days = (day - start).whole_days().max(0);
            let mut flow = Flow {
                decided_on_time: i64::from(on_time),
                decided_late: i64::from(!on_time),
                days_sum: days,
                ..Flow::default()
            };
            flow.hist[bucket_of(days)] = 1;
            shape.flows.push((key(Month::of(day)), flow));
        }
        if OPEN.contains(&app.status) && app.decided_at.is_none() {
            shape.open = Some(OpenKey {
                dims,
                running: app.status.clock_runs() && app.paused_on.is_none(),
                due_on: app.due_on.map(date_text).unwrap_or_default(),
            });
        }
        Ok(shape)
    }
}

/// Changes to the counters, summed over any number of applications, at the finest grain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deltas {
    pub flows: BTreeMap<FlowKey, Flow>,
    pub open: BTreeMap<OpenKey, i64>,
}

impl Deltas {
    /// Adds `shape` (`sign` 1) or takes it away (`sign` -1).
    pub fn add(&mut self, shape: &Shape, sign: i64) {
        for (k, f) in &shape.flows {
            self.flows.entry(k.clone()).or_default().add(f, sign);
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
        self.open.retain(|_, n| *n != 0);
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty() && self.open.is_empty()
    }
}

/// Undecided applications of a group, and how many are overdue (due before the day the
/// counters were last rolled over to).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Open {
    pub in_progress: i64,
    pub overdue: i64,
}

/// The counters' rows, as stored or as a change to them: every grain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub flows: BTreeMap<(Grain, String, Dims), Flow>,
    pub open: BTreeMap<(Grain, Dims), Open>,
    /// Due day and group → undecided applications with a running clock.
    pub due: BTreeMap<(String, Dims), i64>,
}

impl Counters {
    /// The rows `d` moves, with applications due before `overdue_before` counted overdue.
    pub fn of(d: &Deltas, overdue_before: &str) -> Counters {
        let mut c = Counters::default();
        for (k, f) in &d.flows {
            for g in Grain::ALL {
                c.flows
                    .entry((g, k.month.clone(), g.project(&k.dims)))
                    .or_default()
                    .add(f, 1);
            }
        }
        for (k, &n) in &d.open {
            let overdue = k.due().is_some_and(|due| due < overdue_before);
            for g in Grain::ALL {
                let o = c.open.entry((g, g.project(&k.dims))).or_default();
                o.in_progress += n;
                o.overdue += if overdue { n } else { 0 };
            }
            if let Some(due) = k.due() {
                *c.due.entry((due.to_owned(), k.dims.clone())).or_default() += n;
            }
        }
        c.prune();
        c
    }

    fn prune(&mut self) {
        self.flows.retain(|_, f| !f.is_zero());
        self.open.retain(|_, o| *o != Open::default());
        self.due.retain(|_, n| *n != 0);
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty() && self.open.is_empty() && self.due.is_empty()
    }
}

/// Most keys per multi-row upsert (the flows' rows bind 48 values each).
const CHUNK: usize = 64;

/// The setting: `overdue` counts running clocks due before this day (`""`: none yet).
const OVERDUE_BEFORE: &str = "monitoring.overdue_before";

/// The day the `overdue` counters are reckoned to (`""`: before every day). With `lock`,
/// read so that no roll-over can commit beside the caller's transaction: on PostgreSQL the
/// row is locked in share mode (a roll-over updates it); SQLite has one writer at a time,
/// and the callers read it after their first write, once their transaction holds the write
/// lock.
async fn read_overdue_before(conn: &mut sqlx::AnyConnection, lock: bool) -> Result<String> {
    let sql = if lock && conn.backend_name() != "SQLite" {
        "SELECT value FROM settings WHERE key = $1 FOR SHARE"
    } else {
        "SELECT value FROM settings WHERE key = $1"
    };
    let row = sqlx::query(sql)
        .bind(OVERDUE_BEFORE)
        .fetch_optional(conn)
        .await?;
    row.map(|r| text(&r, "value"))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Writes `d` into the counters, in the caller's transaction, after its writes of the
/// applications themselves.
pub async fn apply(tx: &mut Tx, d: &Deltas) -> Result<()> {
    if d.is_empty() {
        return Ok(());
    }
    let before = read_overdue_before(tx, true).await?;
    write(tx, &Counters::of(d, &before)).await
}

/// Adds `c`'s flows to the stored ones.
async fn write_flows(tx: &mut Tx, c: &Counters) -> Result<()> {
    static FLOWS_SQL: LazyLock<(String, String)> = LazyLock::new(|| {
        let values = [
            "received",
            "received_online",
            "decided_on_time",
            "decided_late",
            "days_sum",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(HIST_COLUMNS.iter().cloned())
        .collect::<Vec<_>>();
        let set = values
            .iter()
            .map(|c| format!("{c} = monitor_flows.{c} + excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        (
            format!(
                "INSERT INTO monitor_flows (grain, month, agency_code, unit_code,                  procedure_code, {}) VALUES ",
                values.join(", ")
            ),
            format!(
                " ON CONFLICT (grain, month, agency_code, unit_code, procedure_code)                  DO UPDATE SET {set}"
            ),
        )
    });
    let flows: Vec<_> = c.flows.iter().collect();
    for chunk in crate::pow2_chunks(&flows, CHUNK) {
        let (head, tail) = &*FLOWS_SQL;
        let sql = format!(
            "{head}{}{tail}",
            crate::values_placeholders(tx, chunk.len(), 10 + HISTOGRAM)
        );
        let mut q = sqlx::query(&sql);
        for ((g, month, d), f) in chunk {
            q = bind_dims(q.bind(g.as_str()).bind(month.clone()), d)
                .bind(f.received)
                .bind(f.received_online)
                .bind(f.decided_on_time)
                .bind(f.decided_late)
                .bind(f.days_sum);
            for n in f.hist {
                q = q.bind(n);
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Adds `c` to the stored counters.
async fn write(tx: &mut Tx, c: &Counters) -> Result<()> {
    write_flows(tx, c).await?;
    let open: Vec<_> = c.open.iter().collect();
    for chunk in crate::pow2_chunks(&open, CHUNK) {
        let sql = format!(
            "INSERT INTO monitor_open (grain, agency_code, unit_code, procedure_code,              in_progress, overdue) VALUES {} ON CONFLICT (grain, agency_code, unit_code,              procedure_code) DO UPDATE SET              in_progress = monitor_open.in_progress + excluded.in_progress,              overdue = monitor_open.overdue + excluded.overdue",
            crate::values_placeholders(tx, chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for ((g, d), o) in chunk {
            q = bind_dims(q.bind(g.as_str()), d)
                .bind(o.in_progress)
                .bind(o.overdue);
        }
        q.execute(&mut **tx).await?;
    }
    let due: Vec<_> = c.due.iter().collect();
    for chunk in crate::pow2_chunks(&due, CHUNK) {
        let sql = format!(
            "INSERT INTO monitor_due (due_on, agency_code, unit_code, procedure_code, n)              VALUES {} ON CONFLICT (due_on, agency_code, unit_code, procedure_code)              DO UPDATE SET n = monitor_due.n + excluded.n",
            crate::values_placeholders(tx, chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for ((day, d), n) in chunk {
            q = bind_dims(q.bind(day.clone()), d).bind(**n);
        }
        q.execute(&mut **tx).await?;
    }
    // The due days a decrement may have emptied: kept, they would pile up one per day.
    for ((day, d), n) in &c.due {
        if *n < 0 {
            let q = sqlx::query(
                "DELETE FROM monitor_due WHERE due_on = $1 AND agency_code = $2                  AND unit_code = $3 AND procedure_code = $4 AND n = 0",
            );
            bind_dims(q.bind(day.clone()), d).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

fn bind_dims<'q>(q: AnyQuery<'q>, d: &Dims) -> AnyQuery<'q> {
    q.bind(d.agency.clone())
        .bind(d.unit.clone())
        .bind(d.procedure.clone())
}

/// Moves the `overdue` counters on to `today`: the running clocks due from the last
/// roll-over's day up to yesterday become overdue. Once a day is enough (readings add the
/// days since), and running it twice, or from two servers at once, moves nothing twice:
/// the setting changes only from the value this call read. `true` when it moved.
pub async fn roll_over(db: &Db, today: &str) -> Result<bool> {
    let before = overdue_before(db).await?;
    if before.as_str() >= today {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    // First, so that this transaction holds the write lock (SQLite) or the row (PostgreSQL)
    // before it reads what to move.
    let moved = sqlx::query("UPDATE settings SET value = $1 WHERE key = $2 AND value = $3")
        .bind(today)
        .bind(OVERDUE_BEFORE)
        .bind(before.clone())
        .execute(&mut *tx)
        .await?;
    if moved.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    let mut c = Counters::default();
    for r in sqlx::query(
        "SELECT agency_code, unit_code, procedure_code, CAST(SUM(n) AS BIGINT) AS n          FROM monitor_due WHERE due_on >= $1 AND due_on < $2          GROUP BY agency_code, unit_code, procedure_code",
    )
    .bind(before)
    .bind(today)
    .fetch_all(&mut *tx)
    .await?
    {
        let d = dims(&r)?;
        let n = int(&r, "n")?;
        for g in Grain::ALL {
            c.open.entry((g, g.project(&d))).or_default().overdue += n;
        }
    }
    write(&mut tx, &c).await?;
    tx.commit().await?;
    Ok(true)
}

/// The day the `overdue` counters are reckoned to (`""`: before every day).
pub async fn overdue_before(db: &Db) -> Result<String> {
    let mut conn = db.reader().acquire().await?;
    read_overdue_before(&mut conn, false).await
}

fn dims(r: &sqlx::any::AnyRow) -> Result<Dims> {
    Ok(Dims {
        agency: text(r, "agency_code")?,
        unit: text(r, "unit_code")?,
        procedure: text(r, "procedure_code")?,
    })
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
            "SELECT number, procedure_code, applicant, agency_code, unit_code, status, created_at, \
             submitted_at, received_on, due_on, paused_on, decided_at, updated_at, channel FROM applications \
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
    use crate::{day, opt_parsed, parsed};
    const T: &str = "applications";
    let s = text(r, "status")?;
    Ok(Application {
        number: parsed(r, T, "number", ApplicationNumber::parse)?,
        procedure_code: parsed(r, T, "procedure_code", ProcedureCode::parse)?,
        procedure_version: 0,
        applicant: parsed(r, T, "applicant", |s| CitizenId::parse(s).ok())?,
        agency_code: parsed(r, T, "agency_code", |s| AgencyCode::parse(s).ok())?,
        unit_code: parsed(r, T, "unit_code", |s| UnitCode::parse(s).ok())?,
        status: Status::parse(&s)
            .ok_or_else(|| StorageError::Corrupt(format!("application status {s}")))?,
        content: None,
        fee: None,
        fee_payable: None,
        waiver_basis: None,
        assigned_to: None,
        created_at: parsed(r, T, "created_at", crate::stamp)?,
        submitted_at: opt_parsed(r, T, "submitted_at", crate::stamp)?,
        received_on: opt_parsed(r, T, "received_on", day)?,
        due_on: opt_parsed(r, T, "due_on", day)?,
        paused_on: opt_parsed(r, T, "paused_on", day)?,
        decided_at: opt_parsed(r, T, "decided_at", crate::stamp)?,
        updated_at: parsed(r, T, "updated_at", crate::stamp)?,
        revision: 0,
        lookup_hash: String::new(),
        assisted_by: None,
        channel: parsed(
            r,
            T,
            "channel",
            sohoa_domain::services::channel::Channel::parse,
        )?,
        intake_agency: None,
        fee_paid_at: None,
        enterprise: None,
    })
}

/// The counters as stored.
pub async fn stored(db: &Db) -> Result<Counters> {
    let mut c = Counters::default();
    let cols = HIST_COLUMNS.join(", ");
    for r in sqlx::query(&format!(
        "SELECT grain, month, agency_code, unit_code, procedure_code, received, received_online, \
         decided_on_time, decided_late, days_sum, {cols} FROM monitor_flows"
    ))
    .fetch_all(db.reader())
    .await?
    {
        let mut f = Flow {
            received: int(&r, "received")?,
            received_online: int(&r, "received_online")?,
            decided_on_time: int(&r, "decided_on_time")?,
            decided_late: int(&r, "decided_late")?,
            days_sum: int(&r, "days_sum")?,
            ..Flow::default()
        };
        for (n, col) in f.hist.iter_mut().zip(HIST_COLUMNS.iter()) {
            *n = int(&r, col)?;
        }
        c.flows.insert(
            (
                Grain::parse(&text(&r, "grain")?)?,
                text(&r, "month")?,
                dims(&r)?,
            ),
            f,
        );
    }
    for r in sqlx::query(
        "SELECT grain, agency_code, unit_code, procedure_code, in_progress, overdue \
         FROM monitor_open",
    )
    .fetch_all(db.reader())
    .await?
    {
        c.open.insert(
            (Grain::parse(&text(&r, "grain")?)?, dims(&r)?),
            Open {
                in_progress: int(&r, "in_progress")?,
                overdue: int(&r, "overdue")?,
            },
        );
    }
    for r in
        sqlx::query("SELECT due_on, agency_code, unit_code, procedure_code, n FROM monitor_due")
            .fetch_all(db.reader())
            .await?
    {
        c.due
            .insert((text(&r, "due_on")?, dims(&r)?), int(&r, "n")?);
    }
    c.prune();
    Ok(c)
}

/// How many stored counters differ from a recount (keys missing on either side count).
pub fn differences(stored: &Counters, recounted: &Counters) -> usize {
    fn diff<K: Ord, V: PartialEq>(a: &BTreeMap<K, V>, b: &BTreeMap<K, V>) -> usize {
        a.iter().filter(|(k, v)| b.get(k) != Some(v)).count()
            + b.keys().filter(|k| !a.contains_key(k)).count()
    }
    diff(&stored.flows, &recounted.flows)
        + diff(&stored.open, &recounted.open)
        + diff(&stored.due, &recounted.due)
}

/// Replaces the counters with `recounted`, reckoned overdue before `overdue_before`, in one
/// transaction.
pub async fn replace(db: &Db, recounted: &Counters, overdue_before: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    crate::settings::set(&mut tx, OVERDUE_BEFORE, overdue_before).await?;
    for t in ["monitor_flows", "monitor_open", "monitor_due"] {
        sqlx::query(&format!("DELETE FROM {t}"))
            .execute(&mut *tx)
            .await?;
    }
    write(&mut tx, recounted).await?;
    crate::settings::set(&mut tx, BUILT, "1").await?;
    tx.commit().await?;
    Ok(())
}

const BUILT: &str = "monitoring.built";

/// Builds the counters from the stored applications once, for a database that had
/// applications before monitoring existed (or before its counters changed form). `true`
/// when it did.
pub async fn ensure_built(db: &Db) -> Result<bool> {
    let mut tx = db.begin().await?;
    let built = crate::settings::get(&mut tx, BUILT).await?.is_some();
    tx.rollback().await?;
    if built {
        return Ok(false);
    }
    let today = sohoa_domain::timestamp::today().to_string();
    let d = recount(db, |_| {}).await?;
    replace(db, &Counters::of(&d, &today), &today).await?;
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
    /// Of those received, filed online.
    pub received_online: i64,
    pub decided_on_time: i64,
    pub decided_late: i64,
    pub days_sum: i64,
    /// Decisions by [`bucket_of`] the days they took; for the median.
    pub hist: Vec<i64>,
    /// Now, whatever the months (absent when grouped by month).
    pub in_progress: Option<i64>,
    pub overdue: Option<i64>,
}

impl Figures {
    pub fn decided(&self) -> i64 {
        self.decided_on_time + self.decided_late
    }
    /// The share received that was filed online, in percent (none before anything was
    /// received).
    pub fn online_share(&self) -> Option<f64> {
        (self.received > 0).then(|| 100.0 * self.received_online as f64 / self.received as f64)
    }
    pub fn mean_days(&self) -> Option<f64> {
        let n = self.decided();
        (n > 0).then(|| self.days_sum as f64 / n as f64)
    }
    /// See [`median_of`].
    pub fn median_days(&self) -> Option<f64> {
        median_of(&self.hist)
    }
}

/// The scope as a filter: of one grain's rows (`monitor_due` has only the finest, and no
/// grain column), of the scope's months when `months`.
fn scope_filter(s: &Scope, grain: Option<Grain>, months: bool) -> Filter {
    let mut f = Filter::default();
    if let Some(g) = grain {
        f.and("grain = ?", [g.as_str().to_owned()]);
    }
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
/// is overdue. Reads the counters of the coarsest grain that answers, so its cost grows
/// with the keys shown; the first reading of a day rolls the overdue counters over.
pub async fn figures(db: &Db, by: By, scope: &Scope, today: &str) -> Result<Vec<Figures>> {
    roll_over(db, today).await?;
    let q = Grouped {
        col: by.column(),
        // PostgreSQL refuses a constant to group by: the city is one group anyway.
        group: match by {
            By::City => String::new(),
            _ => format!(" GROUP BY {}", by.column()),
        },
        scope,
        grain: Grain::for_query(by, scope),
    };
    // One snapshot for the counters and the day they are reckoned to, so that a roll-over
    // committing meanwhile cannot count a day twice.
    let mut tx = db.reader().begin().await?;
    if (*tx).backend_name() != "SQLite" {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let mut rows: BTreeMap<String, Figures> = BTreeMap::new();
    read_flows(&mut tx, &q, &mut rows).await?;
    if by != By::Month {
        read_open(&mut tx, &q, &mut rows).await?;
        read_overdue_since_roll_over(&mut tx, &q, today, &mut rows).await?;
        for e in rows.values_mut() {
            e.in_progress.get_or_insert(0);
            e.overdue.get_or_insert(0);
        }
    }
    tx.rollback().await?;
    Ok(rows.into_values().collect())
}

/// How [`figures`] reads: the key column, its `GROUP BY` clause, the scope and the grain
/// of counters that answers it.
struct Grouped<'a> {
    col: &'static str,
    group: String,
    scope: &'a Scope,
    grain: Grain,
}

/// Adds the flows of the scope's months (received, decided, days, histogram) to `rows`.
async fn read_flows(
    conn: &mut sqlx::AnyConnection,
    q: &Grouped<'_>,
    rows: &mut BTreeMap<String, Figures>,
) -> Result<()> {
    let Grouped { col, group, .. } = q;
    let f = scope_filter(q.scope, Some(q.grain), true);
    let hist = HIST_COLUMNS
        .iter()
        .map(|c| format!(", CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {c}"))
        .collect::<String>();
    let sql = format!(
        "SELECT {col} AS k, CAST(COALESCE(SUM(received), 0) AS BIGINT) AS received, \
         CAST(COALESCE(SUM(received_online), 0) AS BIGINT) AS received_online, \
         CAST(COALESCE(SUM(decided_on_time), 0) AS BIGINT) AS on_time, \
         CAST(COALESCE(SUM(decided_late), 0) AS BIGINT) AS late, \
         CAST(COALESCE(SUM(days_sum), 0) AS BIGINT) AS days{hist} FROM monitor_flows{}{group}",
        f.where_sql(),
    );
    for r in f.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let e = entry(rows, text(&r, "k")?);
        e.received = int(&r, "received")?;
        e.received_online = int(&r, "received_online")?;
        e.decided_on_time = int(&r, "on_time")?;
        e.decided_late = int(&r, "late")?;
        e.days_sum = int(&r, "days")?;
        for (n, c) in e.hist.iter_mut().zip(HIST_COLUMNS.iter()) {
            *n = int(&r, c)?;
        }
    }
    Ok(())
}

/// Sets what is in progress and overdue now, as of the last roll-over, in `rows`.
async fn read_open(
    conn: &mut sqlx::AnyConnection,
    q: &Grouped<'_>,
    rows: &mut BTreeMap<String, Figures>,
) -> Result<()> {
    let Grouped { col, group, .. } = q;
    let f = scope_filter(q.scope, Some(q.grain), false);
    let sql = format!(
        "SELECT {col} AS k, CAST(COALESCE(SUM(in_progress), 0) AS BIGINT) AS open, \
         CAST(COALESCE(SUM(overdue), 0) AS BIGINT) AS overdue FROM monitor_open{}{group}",
        f.where_sql(),
    );
    for r in f.bind(sqlx::query(&sql)).fetch_all(&mut *conn).await? {
        let e = entry(rows, text(&r, "k")?);
        e.in_progress = Some(int(&r, "open")?);
        e.overdue = Some(int(&r, "overdue")?);
    }
    Ok(())
}

/// Corrects the overdue counts of `rows` for the days between the last roll-over and
/// `today`.
async fn read_overdue_since_roll_over(
    conn: &mut sqlx::AnyConnection,
    q: &Grouped<'_>,
    today: &str,
    rows: &mut BTreeMap<String, Figures>,
) -> Result<()> {
    let Grouped { col, group, .. } = q;
    // The days between the last roll-over and today: added when the counters are behind
    // (no reading yet today), taken away when they are ahead of the `today` asked about.
    let before = read_overdue_before(conn, false).await?;
    let (from, to, sign) = if before.as_str() < today {
        (before, today.to_owned(), 1)
    } else {
        (today.to_owned(), before, -1)
    };
    if from < to {
        let f = scope_filter(q.scope, None, false);
        let at = f.next_placeholder();
        let sql = format!(
            "SELECT {col} AS k, CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM monitor_due \
             {} due_on >= ${at} AND due_on < ${}{group}",
            match f.where_sql() {
                w if w.is_empty() => " WHERE".to_owned(),
                w => format!("{w} AND"),
            },
            at + 1
        );
        for r in f
            .bind(sqlx::query(&sql))
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?
        {
            let n = int(&r, "n")?;
            if n != 0 {
                let e = entry(rows, text(&r, "k")?);
                *e.overdue.get_or_insert(0) += sign * n;
            }
        }
    }
    Ok(())
}

fn entry(rows: &mut BTreeMap<String, Figures>, key: String) -> &mut Figures {
    rows.entry(key.clone()).or_insert_with(|| Figures {
        key,
        hist: vec![0; HISTOGRAM],
        ..Figures::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_falls_in_one_bucket_whose_span_holds_it() {
        let mut last = 0;
        for days in 0..=800 {
            let i = bucket_of(days);
            assert!(i >= last && i < HISTOGRAM, "{days}");
            last = i;
            let (lo, hi) = bucket_span(i);
            assert!(
                lo <= days && hi.is_none_or(|hi| days <= hi),
                "{days} in {i}"
            );
        }
        assert_eq!(bucket_of(-3), 0);
        assert_eq!(bucket_of(EXACT_DAYS), EXACT_DAYS as usize);
        assert_eq!(bucket_of(10_000), HISTOGRAM - 1);
        assert_eq!(HIST_COLUMNS[31], "d31_35");
        assert_eq!(HIST_COLUMNS[HISTOGRAM - 1], "d366_more");
    }

    #[test]
    fn the_migrations_hold_every_histogram_column() {
        for sql in [
            include_str!("../migrations/sqlite/0016_monitoring_grains.sql"),
            include_str!("../migrations/postgres/0016_monitoring_grains.sql"),
        ] {
            for c in HIST_COLUMNS.iter() {
                assert!(sql.contains(&format!("    {c} ")), "{c}");
            }
        }
    }

    #[test]
    fn medians_are_exact_to_the_day_and_spread_over_wider_buckets() {
        let hist = |days: &[i64]| {
            let mut h = vec![0; HISTOGRAM];
            for &d in days {
                h[bucket_of(d)] += 1;
            }
            h
        };
        assert_eq!(median_of(&hist(&[])), None);
        assert_eq!(median_of(&hist(&[4, 9, 2])), Some(4.0));
        assert_eq!(median_of(&hist(&[4, 9, 2, 30])), Some(6.5));
        // One decision in 46..=60: the bucket's middle.
        assert_eq!(median_of(&hist(&[50])), Some(53.0));
        // Two in 61..=90 spread at a quarter and three quarters.
        assert_eq!(median_of(&hist(&[70, 88])), Some(75.5));
        assert_eq!(median_of(&hist(&[400, 500, 3])), Some(366.0));
    }

    fn scope() -> Scope {
        let m = Month::of(time::macros::date!(2026 - 11 - 01));
        Scope {
            agency: None,
            unit: None,
            procedure: None,
            from: m,
            to: m,
        }
    }

    #[test]
    fn a_question_reads_the_coarsest_grain_that_answers_it() {
        let s = scope();
        assert_eq!(Grain::for_query(By::City, &s), Grain::City);
        assert_eq!(Grain::for_query(By::Month, &s), Grain::City);
        assert_eq!(Grain::for_query(By::Unit, &s), Grain::Unit);
        assert_eq!(Grain::for_query(By::Agency, &s), Grain::Agency);
        assert_eq!(Grain::for_query(By::Procedure, &s), Grain::Procedure);
        let one = Scope {
            unit: Some("26743".into()),
            ..scope()
        };
        assert_eq!(Grain::for_query(By::City, &one), Grain::Unit);
        assert_eq!(Grain::for_query(By::Month, &one), Grain::Unit);
        assert_eq!(Grain::for_query(By::Unit, &one), Grain::Unit);
        assert_eq!(Grain::for_query(By::Procedure, &one), Grain::Each);
    }

    #[test]
    fn a_change_is_counted_at_every_grain_and_overdue_by_the_day_given() {
        let dims = Dims {
            agency: "UBND-26743".into(),
            unit: "26743".into(),
            procedure: "1.001193".into(),
        };
        let mut d = Deltas::default();
        d.open.insert(
            OpenKey {
                dims: dims.clone(),
                running: true,
                due_on: "2026-11-20".into(),
            },
            2,
        );
        d.open.insert(
            OpenKey {
                dims: dims.clone(),
                running: false,
                due_on: "2026-11-01".into(),
            },
            1,
        );
        let c = Counters::of(&d, "2026-11-21");
        assert_eq!(c.open.len(), 5);
        for g in Grain::ALL {
            assert_eq!(
                c.open[&(g, g.project(&dims))],
                Open {
                    in_progress: 3,
                    overdue: 2
                }
            );
        }
        assert_eq!(c.open[&(Grain::City, Dims::default())].overdue, 2);
        // A paused clock is never due.
        assert_eq!(c.due.len(), 1);
        assert_eq!(c.due[&("2026-11-20".to_owned(), dims.clone())], 2);
        let c = Counters::of(&d, "2026-11-20");
        assert_eq!(
            c.open[&(Grain::Unit, Grain::Unit.project(&dims))].overdue,
            0
        );
    }
}
