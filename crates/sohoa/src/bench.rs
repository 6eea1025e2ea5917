//! `sohoa bench load`: an HTTP load generator for the benchmarks under `bench/`. The Python
//! scripts there set a server up; this drives it, because a Python client on the same
//! 2-core machine spends more CPU per request than the server it measures.
//!
//! Each of `clients` connections sends requests back to back until the time is up, cycling
//! through the given paths and bearer tokens; a POST carries the body and, if asked, a fresh
//! `Idempotency-Key`. Any answer other than the expected status stops the run: a benchmark
//! that counts failures as throughput measures nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::Timestamp;

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub base_url: String,
    pub method: reqwest::Method,
    /// Paths (with query) to cycle through.
    pub paths: Vec<String>,
    /// Bearer tokens to cycle through; empty for none.
    pub tokens: Vec<String>,
    pub body: Option<Vec<u8>>,
    /// Send `Idempotency-Key: {prefix}-{client}-{n}`.
    pub idempotency_prefix: Option<String>,
    pub expect: u16,
    pub clients: usize,
    pub duration: Duration,
}

#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub requests: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("nothing to request: give at least one path")]
    NoPaths,
    #[error("{method} {path}: {error}")]
    Transport {
        method: reqwest::Method,
        path: String,
        error: reqwest::Error,
    },
    #[error("{method} {path}: expected {expected}, got {status}: {body}")]
    Unexpected {
        method: reqwest::Method,
        path: String,
        expected: u16,
        status: u16,
        body: String,
    },
    #[error("a client task failed: {0}")]
    Task(String),
}

/// Runs the load and reports throughput and latency percentiles.
pub async fn run(spec: LoadSpec) -> Result<LoadReport, LoadError> {
    if spec.paths.is_empty() {
        return Err(LoadError::NoPaths);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(spec.clients)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|error| LoadError::Transport {
            method: spec.method.clone(),
            path: String::new(),
            error,
        })?;
    let spec = Arc::new(spec);
    let start = Instant::now();
    let deadline = start + spec.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..spec.clients {
        let (spec, client) = (spec.clone(), client.clone());
        tasks.spawn(async move { one_client(&spec, &client, c, deadline).await });
    }
    let mut latencies: Vec<f64> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(mut l)) => latencies.append(&mut l),
            Ok(Err(e)) => {
                tasks.abort_all();
                return Err(e);
            }
            Err(e) => return Err(LoadError::Task(e.to_string())),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i.min(latencies.len() - 1)] * 1e3
    };
    Ok(LoadReport {
        requests: latencies.len() as u64,
        seconds,
        per_second: latencies.len() as f64 / seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
    })
}

async fn one_client(
    spec: &LoadSpec,
    client: &reqwest::Client,
    c: usize,
    deadline: Instant,
) -> Result<Vec<f64>, LoadError> {
    let mut latencies = Vec::new();
    let mut n = 0usize;
    while Instant::now() < deadline {
        // Spread the clients over paths and tokens so they do not move in step.
        let path = &spec.paths[(c + n * spec.clients) % spec.paths.len()];
        let mut req = client.request(spec.method.clone(), format!("{}{path}", spec.base_url));
        if !spec.tokens.is_empty() {
            req = req.bearer_auth(&spec.tokens[(c + n * spec.clients) % spec.tokens.len()]);
        }
        if let Some(body) = &spec.body {
            req = req
                .header("content-type", "application/json")
                .body(body.clone());
        }
        if let Some(prefix) = &spec.idempotency_prefix {
            req = req.header("idempotency-key", format!("{prefix}-{c}-{n}"));
        }
        let t = Instant::now();
        let transport = |error| LoadError::Transport {
            method: spec.method.clone(),
            path: path.clone(),
            error,
        };
        let res = req.send().await.map_err(transport)?;
        let status = res.status().as_u16();
        let body = res.bytes().await.map_err(transport)?;
        latencies.push(t.elapsed().as_secs_f64());
        if status != spec.expect {
            return Err(LoadError::Unexpected {
                method: spec.method.clone(),
                path: path.clone(),
                expected: spec.expect,
                status,
                body: String::from_utf8_lossy(&body).chars().take(500).collect(),
            });
        }
        n += 1;
    }
    Ok(latencies)
}

/// What `sohoa bench seed-applications` writes.
#[derive(Debug, Clone)]
pub struct SeedSpec {
    pub count: u64,
    pub agency: String,
    pub procedure: String,
    pub seed: u64,
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Storage(#[from] sohoa_storage::StorageError),
    #[error("no agency {0}")]
    NoAgency(String),
    #[error("no procedure {0}")]
    NoProcedure(String),
    #[error("a generated value does not parse: {0}")]
    Generated(String),
}

/// A well-formed CCCD from a random draw: province 079, born in the 1900s (0 or 1 by
/// sex), a birth year, a serial.
fn generated_citizen(r: u64) -> Result<sohoa_domain::CitizenId, SeedError> {
    let citizen = format!(
        "079{}{:02}{:06}",
        (r >> 24) % 2,
        40 + (r >> 26) % 60,
        (r >> 32) % 1_000_000
    );
    sohoa_domain::CitizenId::parse(&citizen).map_err(|_| SeedError::Generated(citizen))
}

/// The file the monitoring seed lists its applications in, with its header.
fn seed_csv(path: &std::path::Path) -> Result<std::io::BufWriter<std::fs::File>, SeedError> {
    use std::io::Write as _;
    let f = std::fs::File::create(path)
        .map_err(|e| SeedError::Storage(sohoa_storage::StorageError::Corrupt(e.to_string())))?;
    let mut w = std::io::BufWriter::new(f);
    let _ = writeln!(
        w,
        "agency_code,unit_code,procedure_code,status,received_on,due_on,paused_on,decided_at"
    );
    Ok(w)
}

/// Applications per transaction when seeding.
const SEED_BATCH: usize = 2_048;

/// A small xorshift generator: reproducible without a dependency.
struct Xorshift(u64);

impl Xorshift {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn draw(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A seed's progress: rows written so far, shown on the bar.
struct Seeding {
    count: u64,
    written: u64,
    read: Arc<std::sync::atomic::AtomicU64>,
    bar: crate::import::Progress,
}

impl Seeding {
    fn new(count: u64, progress: bool) -> Self {
        let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let bar = crate::import::Progress::new(progress, count, read.clone());
        Self {
            count,
            written: 0,
            read,
            bar,
        }
    }
    /// How many rows the next batch holds, at most `batch`.
    fn next_batch(&self, batch: usize) -> usize {
        (self.count - self.written).min(batch as u64) as usize
    }
    fn wrote(&mut self, n: usize) {
        self.written += n as u64;
        self.read
            .store(self.written, std::sync::atomic::Ordering::Relaxed);
        self.bar.tick(self.written, self.written == self.count);
    }
}

/// What the application seed writes to: the procedure (code and version) and the agency.
struct SeedTarget {
    code: sohoa_domain::services::procedure::ProcedureCode,
    version: i64,
    agency: sohoa_domain::agency::Agency,
}

/// Finds the procedure and agency the application seed names.
async fn seed_target(db: &sohoa_storage::Db, spec: &SeedSpec) -> Result<SeedTarget, SeedError> {
    let code = sohoa_domain::services::procedure::ProcedureCode::parse(&spec.procedure)
        .ok_or_else(|| SeedError::NoProcedure(spec.procedure.clone()))?;
    let proc = sohoa_storage::procedures::get(db, &code, None)
        .await?
        .ok_or_else(|| SeedError::NoProcedure(spec.procedure.clone()))?;
    let agency_code = sohoa_domain::agency::AgencyCode::parse(&spec.agency)
        .map_err(|_| SeedError::NoAgency(spec.agency.clone()))?;
    let agency = sohoa_storage::agencies::get(db, &agency_code)
        .await?
        .ok_or_else(|| SeedError::NoAgency(spec.agency.clone()))?;
    Ok(SeedTarget {
        code,
        version: proc.version,
        agency,
    })
}

/// Writes `count` applications of one procedure to one agency, spread over the statuses
/// and due dates of a busy queue, through the same storage path as submissions (answers
/// sealed, first event, notification, audit entry), so the queue benchmark reads rows like
/// real ones. Deterministic for a seed, apart from the application numbers.
pub async fn seed_applications(db: &sohoa_storage::Db, spec: &SeedSpec) -> Result<u64, SeedError> {
    use sohoa_domain::audit::AuditRecord;
    use sohoa_domain::services::application::{ApplicationNumber, LookupCode};
    use sohoa_storage::applications::{self as store, NewApplication};

    let target = seed_target(db, spec).await?;
    let keys = db.keyring()?;
    let mut rng = Xorshift::new(spec.seed);
    let today = time::OffsetDateTime::now_utc().date();
    let mut seeding = Seeding::new(spec.count, spec.progress);
    while seeding.written < spec.count {
        let n = seeding.next_batch(SEED_BATCH);
        let mut jobs = Vec::with_capacity(n);
        for _ in 0..n {
            let r = rng.draw();
            let number = ApplicationNumber::from_random(rng.draw().to_le_bytes());
            let lookup = LookupCode::from_random(rng.draw().to_le_bytes());
            let app = queued_application(&target, today, r, number.clone(), lookup)?;
            let record =
                AuditRecord::new("bench-seed", "application.submit", "application", number);
            jobs.push(NewApplication::new(
                &keys,
                app,
                None,
                None,
                Vec::new(),
                record,
            )?);
        }
        let mut tx = db.begin().await?;
        store::create_many(&mut tx, &jobs).await?;
        tx.commit()
            .await
            .map_err(sohoa_storage::StorageError::from)?;
        seeding.wrote(n);
    }
    db.refresh_statistics().await?;
    Ok(seeding.written)
}

/// A status of a busy queue, by share: `pick` is a draw from 0 to 99.
fn queue_status(mut pick: u32) -> sohoa_domain::services::workflow::Status {
    use sohoa_domain::services::workflow::Status;
    let statuses = [
        (Status::Submitted, 10),
        (Status::Received, 25),
        (Status::InReview, 30),
        (Status::SupplementRequested, 5),
        (Status::Approved, 5),
        (Status::Rejected, 3),
        (Status::ResultIssued, 22),
    ];
    statuses
        .iter()
        .find(|(_, share)| {
            let hit = pick < *share;
            pick = pick.saturating_sub(*share);
            hit
        })
        .map_or(Status::InReview, |(s, _)| *s)
}

/// One application of the queue seed from the draw `r`: its status, age, dates, officer,
/// applicant and answers.
fn queued_application(
    target: &SeedTarget,
    today: time::Date,
    r: u64,
    number: sohoa_domain::services::application::ApplicationNumber,
    lookup: sohoa_domain::services::application::LookupCode,
) -> Result<sohoa_storage::applications::Application, SeedError> {
    use sohoa_domain::services::application::{Answer, Content};
    use sohoa_domain::services::workflow::Status;

    let day = |offset: i64| today + time::Duration::days(offset);
    let status = queue_status((r % 100) as u32);
    let age = ((r >> 8) % 90) as i64;
    let created = at_hour(day(-age), 8);
    let received = (status != Status::Submitted).then(|| day(-age + 1));
    // Due about two working weeks after receipt: some in the past (overdue when
    // still open), most ahead.
    let due = received.as_ref().map(|_| day(-age + 15));
    let officer = (r >> 16) % 12;
    let answer = |key: &str, value| Answer {
        key: key.into(),
        value,
        prefilled: false,
    };
    Ok(sohoa_storage::applications::Application {
        number,
        procedure_code: target.code.clone(),
        procedure_version: target.version,
        applicant: generated_citizen(r)?,
        agency_code: target.agency.code.clone(),
        unit_code: target.agency.unit_code.clone(),
        status,
        content: Some(Content {
            answers: vec![
                answer("reason", serde_json::json!("Hồ sơ thử tải")),
                answer("copies", serde_json::json!(1 + r % 5)),
            ],
            flags: Vec::new(),
            lookup_code: lookup.to_string(),
        }),
        fee: None,
        fee_payable: None,
        waiver_basis: None,
        assigned_to: (officer < 10 && status != Status::Submitted)
            .then(|| format!("canbo{officer}")),
        created_at: created,
        submitted_at: Some(created),
        received_on: received,
        due_on: due,
        paused_on: (status == Status::SupplementRequested).then(|| day(-age + 5)),
        decided_at: matches!(
            status,
            Status::Approved | Status::Rejected | Status::ResultIssued
        )
        .then(|| at_hour(day(-age + 10), 10)),
        updated_at: created,
        revision: 1,
        lookup_hash: lookup.hash(),
        assisted_by: None,
        channel: sohoa_domain::services::channel::Channel::Online,
        intake_agency: None,
        fee_paid_at: None,
        enterprise: None,
    })
}

/// Reports per transaction when seeding.
const REPORT_BATCH: usize = 4_096;

/// Writes `count` reports over the city (most in its dense core), routed as a resident's
/// would be, spread over a year and over every status, with resolution times and ratings,
/// and their evaluation counters (for the feedback benchmark; not for a real database).
/// Deterministic for a seed.
pub async fn seed_reports(
    db: &sohoa_storage::Db,
    count: u64,
    seed: u64,
    progress: bool,
) -> Result<u64, SeedError> {
    use sohoa_domain::feedback::geo::Boundaries;
    use sohoa_storage::feedback as store;

    let boundaries = Boundaries::new(
        store::boundaries(db)
            .await?
            .into_iter()
            .map(|(a, _)| a)
            .collect(),
    );
    let categories: Vec<_> = store::categories(db)
        .await?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let mut draw = ReportDraw {
        rng: Xorshift::new(seed),
        boundaries,
        categories,
        routes: Default::default(),
        now: time::OffsetDateTime::now_utc(),
    };
    let mut seeding = Seeding::new(count, progress);
    while seeding.written < count {
        let n = seeding.next_batch(REPORT_BATCH);
        let mut batch = Vec::with_capacity(n);
        while batch.len() < n {
            if let Some(report) = draw.report(db).await? {
                batch.push(report);
            }
        }
        let mut tx = db.begin().await?;
        store::seed(&mut tx, &batch).await?;
        tx.commit()
            .await
            .map_err(sohoa_storage::StorageError::from)?;
        seeding.wrote(n);
    }
    db.settle_bulk_load("reports").await?;
    db.settle_bulk_load("evaluation_counts").await?;
    Ok(seeding.written)
}

/// What the report seed draws from: the random stream, the wards' boundaries, the
/// categories, and the agency each (category, ward) is routed to, as found so far.
struct ReportDraw {
    rng: Xorshift,
    boundaries: sohoa_domain::feedback::geo::Boundaries,
    categories: Vec<String>,
    routes: std::collections::HashMap<(String, String), Option<AgencyCode>>,
    now: time::OffsetDateTime,
}

impl ReportDraw {
    /// A report at a random place, or none when the place is in no ward or no agency
    /// answers for its category there.
    async fn report(
        &mut self,
        db: &sohoa_storage::Db,
    ) -> Result<Option<sohoa_storage::feedback::Report>, SeedError> {
        use sohoa_domain::feedback::geo::Point;

        let unit = |r: u64| (r % 1_000_000) as f64 / 1_000_000.0;
        let rng = &mut self.rng;
        let r = rng.draw();
        // Seven in ten in the dense core, the rest anywhere on the mainland.
        let (lat, lon) = if r % 10 < 7 {
            (
                10.70 + 0.16 * unit(rng.draw()),
                106.60 + 0.20 * unit(rng.draw()),
            )
        } else {
            (
                10.35 + 1.0 * unit(rng.draw()),
                106.40 + 1.1 * unit(rng.draw()),
            )
        };
        let Some(p) = Point::new(lat, lon).ok() else {
            return Ok(None);
        };
        let Some(unit_code) = self.boundaries.locate(p).map(|u| u.as_str().to_owned()) else {
            return Ok(None);
        };
        let category =
            self.categories[(self.rng.draw() % self.categories.len() as u64) as usize].clone();
        let Some(agency) = self.route(db, &category, &unit_code).await? else {
            return Ok(None);
        };
        Ok(Some(self.fill(category, agency, unit_code, (lat, lon))))
    }

    /// The agency routing gives a category in a ward, asked once per pair.
    async fn route(
        &mut self,
        db: &sohoa_storage::Db,
        category: &str,
        unit_code: &str,
    ) -> Result<Option<AgencyCode>, SeedError> {
        let key = (category.to_owned(), unit_code.to_owned());
        if let Some(a) = self.routes.get(&key) {
            return Ok(a.clone());
        }
        let code = sohoa_domain::UnitCode::parse(unit_code)
            .map_err(|e| sohoa_storage::StorageError::Corrupt(e.to_string()))?;
        let a = sohoa_storage::feedback::route(db, category, &code).await?;
        self.routes.insert(key, a.clone());
        Ok(a)
    }

    /// The rest of a report: when it came (within the year), its status, resolution,
    /// rating and supporters.
    fn fill(
        &mut self,
        category: String,
        agency: AgencyCode,
        unit_code: String,
        (lat, lon): (f64, f64),
    ) -> sohoa_storage::feedback::Report {
        use sohoa_domain::feedback::report::ReportStatus;

        let (rng, now) = (&mut self.rng, self.now);
        let created = now - time::Duration::minutes((rng.draw() % (365 * 24 * 60)) as i64);
        let status = match rng.draw() % 100 {
            0..=19 => ReportStatus::Open,
            20..=29 => ReportStatus::Acknowledged,
            30..=44 => ReportStatus::InProgress,
            45..=64 => ReportStatus::Resolved,
            _ => ReportStatus::Closed,
        };
        let resolved_at = status.is_settled().then(|| {
            let t = created + time::Duration::minutes((rng.draw() % (20 * 24 * 60)) as i64 + 30);
            sohoa_domain::Timestamp::from_datetime(t.min(now))
        });
        let rating = (status == ReportStatus::Closed && rng.draw() % 10 < 6)
            .then(|| (1 + rng.draw() % 5) as i64);
        let created_at = sohoa_domain::Timestamp::from_datetime(created);
        let id = format!("PB-{:016X}", rng.draw());
        sohoa_storage::feedback::Report {
            token: format!("tk-{id}"),
            category_code: category,
            status,
            agency_code: agency,
            unit_code,
            lat,
            lon,
            address: None,
            description: "Phản ánh thử tải".to_owned(),
            attributes: "{}".to_owned(),
            media_url: None,
            reporter: None,
            contact: None,
            reporter_code_hash: String::new(),
            channel: "bench".to_owned(),
            supporters: (rng.draw() % 4) as i64,
            status_note: None,
            resolution_note: resolved_at.as_ref().map(|_| "Đã xử lý".to_owned()),
            updated_at: resolved_at.unwrap_or(created_at),
            due_on: created.date() + time::Duration::days(5),
            resolved_at,
            rating,
            rating_comment: None,
            rated_at: None,
            reopened: 0,
            revision: 1,
            created_at,
            id,
        }
    }
}

/// What `sohoa bench seed-monitoring` writes.
#[derive(Debug, Clone)]
pub struct MonitorSeed {
    pub count: u64,
    /// Deciding agencies (each at its own unit).
    pub agencies: Vec<String>,
    pub procedures: Vec<String>,
    pub seed: u64,
    /// Where to write the same rows as CSV, for the reference engine of the benchmark.
    pub csv: Option<std::path::PathBuf>,
    pub progress: bool,
}

/// What the monitoring seed spreads its applications over: the agencies with their units,
/// the procedures with their versions, and the one applicant.
struct MonitorTargets {
    agencies: Vec<(sohoa_domain::agency::AgencyCode, sohoa_domain::UnitCode)>,
    procedures: Vec<(sohoa_domain::services::procedure::ProcedureCode, i64)>,
    applicant: sohoa_domain::CitizenId,
}

/// Finds the agencies and procedures the monitoring seed names (at least one of each).
async fn monitor_targets(
    db: &sohoa_storage::Db,
    spec: &MonitorSeed,
) -> Result<MonitorTargets, SeedError> {
    let mut agencies = Vec::new();
    for a in &spec.agencies {
        let code = sohoa_domain::agency::AgencyCode::parse(a)
            .map_err(|_| SeedError::NoAgency(a.clone()))?;
        let agency = sohoa_storage::agencies::get(db, &code)
            .await?
            .ok_or_else(|| SeedError::NoAgency(a.clone()))?;
        agencies.push((agency.code, agency.unit_code));
    }
    let mut procedures = Vec::new();
    for p in &spec.procedures {
        let code = sohoa_domain::services::procedure::ProcedureCode::parse(p)
            .ok_or_else(|| SeedError::NoProcedure(p.clone()))?;
        let proc = sohoa_storage::procedures::get(db, &code, None)
            .await?
            .ok_or_else(|| SeedError::NoProcedure(p.clone()))?;
        procedures.push((code, proc.version));
    }
    if agencies.is_empty() || procedures.is_empty() {
        return Err(SeedError::NoAgency(String::new()));
    }
    Ok(MonitorTargets {
        agencies,
        procedures,
        applicant: generated_citizen(0)?,
    })
}

/// Writes `count` applications spread over `agencies` and `procedures`, received over
/// the last two years, most decided (some late), the rest waiting (some overdue), with
/// their monitoring counters, fast: no events, audit or sealing (see
/// `applications::bench_insert`). For the monitoring benchmark only.
pub async fn seed_monitoring(db: &sohoa_storage::Db, spec: &MonitorSeed) -> Result<u64, SeedError> {
    use sohoa_storage::applications as store;
    use std::io::Write as _;

    let targets = monitor_targets(db, spec).await?;
    let mut csv = spec.csv.as_deref().map(seed_csv).transpose()?;
    let mut rng = Xorshift::new(spec.seed);
    let today = sohoa_domain::timestamp::today();
    let mut seeding = Seeding::new(spec.count, spec.progress);
    const BATCH: usize = 8_192;
    while seeding.written < spec.count {
        let n = seeding.next_batch(BATCH);
        let mut apps = Vec::with_capacity(n);
        for k in 0..n {
            let i = seeding.written + k as u64;
            apps.push(monitored_application(
                &targets,
                today,
                rng.draw(),
                i,
                csv.as_mut(),
            ));
        }
        let mut tx = db.begin().await?;
        store::bench_insert(&mut tx, &apps, "bench").await?;
        tx.commit()
            .await
            .map_err(sohoa_storage::StorageError::from)?;
        seeding.wrote(n);
    }
    if let Some(mut w) = csv {
        let _ = w.flush();
    }
    db.refresh_statistics().await?;
    Ok(seeding.written)
}

/// One application of the monitoring seed from the draw `r`, numbered after `i`; its line
/// is added to `csv` if there is one.
fn monitored_application(
    targets: &MonitorTargets,
    today: time::Date,
    r: u64,
    i: u64,
    csv: Option<&mut std::io::BufWriter<std::fs::File>>,
) -> sohoa_storage::applications::Application {
    use sohoa_domain::services::application::ApplicationNumber;
    use std::io::Write as _;

    let day = |offset: i64| today + time::Duration::days(offset);
    let (agency, unit) = &targets.agencies[(r % targets.agencies.len() as u64) as usize];
    let (procedure, version) =
        &targets.procedures[((r >> 8) % targets.procedures.len() as u64) as usize];
    // Received up to two years ago; older ones are almost all decided.
    let age = ((r >> 16) % 730) as i64;
    let received = day(-age);
    let due = day(-age + 10 + ((r >> 28) % 10) as i64);
    let (status, decided_at, paused) = monitored_outcome(r, age, day);
    let number = ApplicationNumber::from_random(i.to_le_bytes());
    let created = at_hour(received, 1);
    if let Some(w) = csv {
        let _ = writeln!(
            w,
            "{agency},{unit},{procedure},{},{received},{due},{},{}",
            status.as_str(),
            paused.map(|d| d.to_string()).unwrap_or_default(),
            decided_at.as_deref().unwrap_or("")
        );
    }
    sohoa_storage::applications::Application {
        number,
        procedure_code: procedure.clone(),
        procedure_version: *version,
        applicant: targets.applicant.clone(),
        agency_code: agency.clone(),
        unit_code: unit.clone(),
        status,
        content: None,
        fee: None,
        fee_payable: None,
        waiver_basis: None,
        assigned_to: None,
        created_at: created,
        submitted_at: Some(created),
        received_on: Some(received),
        due_on: Some(due),
        paused_on: paused,
        decided_at: decided_at.as_deref().and_then(|t| Timestamp::parse(t).ok()),
        updated_at: created,
        revision: 1,
        lookup_hash: String::new(),
        assisted_by: None,
        channel: sohoa_domain::services::channel::Channel::Online,
        intake_agency: None,
        fee_paid_at: None,
        enterprise: None,
    }
}

/// Where an application received `age` days ago stands: waiting (the recent ones and one
/// in a hundred older ones), or decided, with the time of decision and any pause.
/// `hour` o'clock (UTC) on `day`: seeded applications' times.
fn at_hour(day: time::Date, hour: i64) -> Timestamp {
    Timestamp::from_datetime((day.midnight() + time::Duration::hours(hour)).assume_utc())
}

fn monitored_outcome(
    r: u64,
    age: i64,
    day: impl Fn(i64) -> time::Date,
) -> (
    sohoa_domain::services::workflow::Status,
    Option<String>,
    Option<time::Date>,
) {
    use sohoa_domain::services::workflow::Status;

    let waiting = age < 30 || (r >> 40).is_multiple_of(100);
    if waiting {
        let s = match (r >> 44) % 10 {
            0 => Status::SupplementRequested,
            1..=4 => Status::Received,
            _ => Status::InReview,
        };
        let paused = (s == Status::SupplementRequested).then(|| day(-age + 3));
        (s, None, paused)
    } else {
        // Most on time, about one in seven late.
        let took = if (r >> 48).is_multiple_of(7) {
            12 + (r >> 52) % 20
        } else {
            2 + (r >> 52) % 9
        };
        let decided = (-age + took as i64).min(0);
        (
            Status::ResultIssued,
            Some(format!("{}T03:00:00Z", day(decided))),
            None,
        )
    }
}
