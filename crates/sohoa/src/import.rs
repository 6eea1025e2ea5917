//! `sohoa import`: load registry files (CSV or NDJSON) streaming, in batches.
//!
//! A blocking thread reads and parses the file (memory stays flat whatever its size) and
//! hands batches to the async writer, so parsing and writing use both cores. Every row is
//! checked (fields, units in force, duplicates within the file); each rejected row is
//! reported with its line number. By default valid rows load, committed every
//! `commit_rows` rows with an audit entry each time; with `all_or_nothing` the whole file is
//! one transaction that commits only if no row was rejected. Upserts skip unchanged records,
//! so importing the same file again changes nothing.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::registry::citizen::{self, Citizen, CitizenInput};
use sohoa_domain::registry::enterprise::{self, Enterprise, EnterpriseInput};
use sohoa_domain::registry::parcel::{self, LandParcel, ParcelInput};
use sohoa_domain::registry::FieldError;
use sohoa_domain::units::UnitLevel;
use sohoa_domain::{Timestamp, UnitCode};
use sohoa_storage::registry::{self as reg, Counts, Provenance};
use sohoa_storage::sealed::Keyring;
use sohoa_storage::{audit, Db, StorageError, Tx};
use time::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Registry {
    Citizens,
    Enterprises,
    Parcels,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// From the file name: `.ndjson` or `.jsonl` is NDJSON, anything else CSV.
    pub fn guess(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("ndjson" | "jsonl") => Format::Ndjson,
            _ => Format::Csv,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub registry: Registry,
    pub path: PathBuf,
    pub format: Format,
    pub all_or_nothing: bool,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
    /// Rows per commit in the default mode.
    pub commit_rows: usize,
    pub actor: String,
}

/// A row that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub line: u64,
    pub field: String,
    pub code: String,
    pub detail: String,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: {}: {} ({})",
            self.line, self.field, self.detail, self.code
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub rows: u64,
    pub counts: Counts,
    pub rejected_rows: u64,
    /// False when all-or-nothing rolled everything back.
    pub committed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    File(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The longest line accepted: no real record comes near it, and a file without line breaks
/// (a binary, a 2 GiB single line) is stopped before it fills memory.
const MAX_LINE: u64 = 1 << 20;

/// Counts bytes read (for the progress bar) and refuses over-long lines.
struct Guarded<R> {
    inner: R,
    read: Arc<AtomicU64>,
    since_newline: u64,
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
            }
        }
        if self.since_newline > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line is longer than {} KiB: is this a registry file?",
                    MAX_LINE / 1024
                ),
            ));
        }
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What differs between the three registries.
trait Kind: 'static {
    type Input: DeserializeOwned + Default;
    type Record;
    /// What the writer receives: the record's row, prepared on the reading thread.
    type Ready: Send + 'static;
    const NAME: &'static str;
    /// The table, and whether a load into it while empty may take the bulk path.
    const TABLE: &'static str;
    const BULK: bool;
    const HEADER: &'static [&'static str];
    const REQUIRED: &'static [&'static str];
    fn parse(input: &Self::Input, today: Date) -> Result<Self::Record, Vec<FieldError>>;
    /// A number identifying the record, to find duplicates in one file.
    fn identity(r: &Self::Record) -> u64;
    fn units(r: &Self::Record) -> Vec<(&'static str, UnitCode)>;
    /// Turns a record into its row; personal fields are sealed with `keys`.
    fn prepare(r: Self::Record, keys: &Keyring) -> Result<Self::Ready, StorageError>;
    async fn upsert(
        tx: &mut Tx,
        rows: &[Self::Ready],
        prov: &Provenance,
    ) -> Result<Counts, StorageError>;
    /// Inserts rows into the empty table of a bulk load.
    async fn insert_new(
        tx: &mut Tx,
        rows: &[Self::Ready],
        prov: &Provenance,
    ) -> Result<Counts, StorageError> {
        Self::upsert(tx, rows, prov).await
    }
}

/// Writes rows the bulk way (plain inserts into an empty table) or the upsert way.
async fn write_rows<K: Kind>(
    tx: &mut Tx,
    rows: &[K::Ready],
    prov: &Provenance,
    bulk: bool,
) -> Result<Counts, StorageError> {
    if bulk {
        K::insert_new(tx, rows, prov).await
    } else {
        K::upsert(tx, rows, prov).await
    }
}

struct Citizens;
impl Kind for Citizens {
    type Input = CitizenInput;
    type Record = Citizen;
    type Ready = reg::Prepared;
    const NAME: &'static str = "citizens";
    const TABLE: &'static str = "citizens";
    const BULK: bool = true;
    const HEADER: &'static [&'static str] = citizen::CSV_HEADER;
    const REQUIRED: &'static [&'static str] = &[
        "citizen_id",
        "full_name",
        "date_of_birth",
        "sex",
        "permanent_street",
        "permanent_unit",
    ];
    fn parse(input: &CitizenInput, today: Date) -> Result<Citizen, Vec<FieldError>> {
        Citizen::parse(input, today)
    }
    fn identity(r: &Citizen) -> u64 {
        r.citizen_id.as_str().parse().unwrap_or(0)
    }
    fn units(r: &Citizen) -> Vec<(&'static str, UnitCode)> {
        r.unit_codes().map(|(f, u)| (f, u.clone())).collect()
    }
    fn prepare(r: Citizen, keys: &Keyring) -> Result<reg::Prepared, StorageError> {
        reg::citizens::prepare(&r, keys)
    }
    async fn upsert(
        tx: &mut Tx,
        rows: &[reg::Prepared],
        prov: &Provenance,
    ) -> Result<Counts, StorageError> {
        reg::citizens::upsert_prepared(tx, rows, prov).await
    }
    async fn insert_new(
        tx: &mut Tx,
        rows: &[reg::Prepared],
        prov: &Provenance,
    ) -> Result<Counts, StorageError> {
        reg::citizens::insert_new(tx, rows, prov).await
    }
}

struct Enterprises;
impl Kind for Enterprises {
    type Input = EnterpriseInput;
    type Record = Enterprise;
    type Ready = reg::Prepared;
    const NAME: &'static str = "enterprises";
    const TABLE: &'static str = "enterprises";
    const BULK: bool = true;
    const HEADER: &'static [&'static str] = enterprise::CSV_HEADER;
    const REQUIRED: &'static [&'static str] = enterprise::CSV_HEADER;
    fn parse(input: &EnterpriseInput, today: Date) -> Result<Enterprise, Vec<FieldError>> {
        Enterprise::parse(input, today)
    }
    fn identity(r: &Enterprise) -> u64 {
        r.tax_code.as_str().replace('-', "").parse().unwrap_or(0)
    }
    fn units(r: &Enterprise) -> Vec<(&'static str, UnitCode)> {
        vec![("unit", r.address.unit_code.clone())]
    }
    fn prepare(r: Enterprise, _: &Keyring) -> Result<reg::Prepared, StorageError> {
        Ok(reg::enterprises::prepare(&r))
    }
    async fn upsert(
        tx: &mut Tx,
        rows: &[reg::Prepared],
        prov: &Provenance,
    ) -> Result<Counts, StorageError> {
        reg::enterprises::upsert_prepared(tx, rows, prov).await
    }
    async fn insert_new(
        tx: &mut Tx,
        rows: &[reg::Prepared],
        prov: &Provenance,
    ) -> Result<Counts, StorageError> {
        reg::enterprises::insert_new(tx, rows, prov).await
    }
}

struct Parcels;
impl Kind for Parcels {
    type Input = ParcelInput;
    type Record = LandParcel;
    type Ready = LandParcel;
    const NAME: &'static str = "parcels";
    const TABLE: &'static str = "land_parcels";
    // Owner rows are written beside each parcel: parcels always take the upsert path.
    const BULK: bool = false;
    const HEADER: &'static [&'static str] = parcel::CSV_HEADER;
    const REQUIRED: &'static [&'static str] = &[
        "unit",
        "map_sheet",
        "parcel_number",
        "area_m2",
        "land_use",
        "owners",
    ];
    fn parse(input: &ParcelInput, _today: Date) -> Result<LandParcel, Vec<FieldError>> {
        LandParcel::parse(input)
    }
    fn identity(r: &LandParcel) -> u64 {
        // SipHash with fixed keys: deterministic; a collision among a city's parcels is
        // vanishingly unlikely, and would only make a row be reported as a duplicate.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        r.key().hash(&mut h);
        h.finish()
    }
    fn units(r: &LandParcel) -> Vec<(&'static str, UnitCode)> {
        vec![("unit", r.unit_code.clone())]
    }
    fn prepare(r: LandParcel, _: &Keyring) -> Result<LandParcel, StorageError> {
        Ok(r)
    }
    async fn upsert(
        tx: &mut Tx,
        rows: &[LandParcel],
        prov: &Provenance,
    ) -> Result<Counts, StorageError> {
        reg::parcels::upsert_all(tx, rows, prov).await
    }
}

/// Imports a file; `on_reject` sees each rejected row as it is found.
pub async fn run(
    db: &Db,
    opts: &ImportOptions,
    on_reject: impl FnMut(&Reject),
) -> Result<Report, ImportError> {
    match opts.registry {
        Registry::Citizens => run_kind::<Citizens>(db, opts, on_reject).await,
        Registry::Enterprises => run_kind::<Enterprises>(db, opts, on_reject).await,
        Registry::Parcels => run_kind::<Parcels>(db, opts, on_reject).await,
    }
}

enum Item<R> {
    Row(u64, R),
    Rejected(Vec<Reject>),
    /// The row could not be prepared for a reason of ours (sealing failed): stop.
    Failed(StorageError),
}

/// Commune-level units in force today: the only ones a current record may name.
async fn units_in_force(db: &Db) -> Result<HashSet<String>, StorageError> {
    let mut set = HashSet::new();
    let mut page = 1;
    loop {
        let q = sohoa_storage::units::UnitQuery {
            as_of: sohoa_domain::timestamp::today(),
            level: Some(UnitLevel::Commune),
            kind: None,
            parent: None,
            search: None,
            page: sohoa_domain::paging::PageRequest::parse(Some(page), Some(200))
                .unwrap_or_default(),
        };
        let p = sohoa_storage::units::list(db, &q).await?;
        let done = !p.has_next();
        set.extend(p.items.into_iter().map(|u| u.code.to_string()));
        if done {
            return Ok(set);
        }
        page += 1;
    }
}

async fn run_kind<K: Kind>(
    db: &Db,
    opts: &ImportOptions,
    mut on_reject: impl FnMut(&Reject),
) -> Result<Report, ImportError> {
    let file = File::open(&opts.path).map_err(|source| ImportError::Open {
        path: opts.path.clone(),
        source,
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let units = units_in_force(db).await?;
    let keys = db.keyring()?;
    let (tx_items, mut rx_items) = tokio::sync::mpsc::channel::<Vec<Item<K::Ready>>>(8);
    let reader = {
        let read = Arc::new(AtomicU64::new(0));
        let format = opts.format;
        let progress = opts.progress;
        tokio::task::spawn_blocking(move || {
            let guarded = Guarded {
                inner: file,
                read: read.clone(),
                since_newline: 0,
            };
            let mut bar = Progress::new(progress, size, read);
            parse_file::<K>(guarded, format, &units, &keys, &tx_items, &mut bar)
        })
    };

    let source = format!(
        "import:{}",
        opts.path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("file")
    );
    let mut load = Load::<K>::begin(db, opts, source).await?;
    while let Some(batch) = rx_items.recv().await {
        // Returning drops the open transaction, which rolls back: nothing of this
        // batch or, under --all-or-nothing, of the file is kept.
        load.take(batch, &mut on_reject)?;
        load.write_if_due(db).await?;
    }
    // The reader's verdict: a fatal problem (bad header, unreadable file) stops the import.
    let fatal = match reader.await {
        Ok(Ok(())) => None,
        Ok(Err(msg)) => Some(msg),
        Err(e) => Some(format!("the reader stopped: {e}")),
    };
    let report = load.finish(db, fatal.is_none()).await?;
    match fatal {
        Some(msg) if report.committed => Err(ImportError::File(format!(
            "{msg}; the {} valid rows before it are loaded",
            report.counts.inserted + report.counts.updated + report.counts.unchanged
        ))),
        Some(msg) => Err(ImportError::File(format!(
            "{msg}; nothing from this file was loaded"
        ))),
        None => Ok(report),
    }
}

/// The writing side of an import: the rows waiting to be written, the report so far, and
/// the transaction that spans the file when there is one.
struct Load<'a, K: Kind> {
    opts: &'a ImportOptions,
    source: String,
    report: Report,
    pending: Vec<K::Ready>,
    first_line: u64,
    last_line: u64,
    whole: Option<Tx>,
    bulk: Option<reg::BulkLoad>,
}

impl<'a, K: Kind> Load<'a, K> {
    /// Starts writing: one transaction spans the file in all-or-nothing mode, and for a
    /// bulk load into an empty table (indexes dropped, rows inserted, indexes built once,
    /// then commit); otherwise each batch commits on its own.
    async fn begin(db: &Db, opts: &'a ImportOptions, source: String) -> Result<Self, ImportError> {
        let mut whole: Option<Tx> = None;
        let mut bulk = None;
        let mut tx = db.begin().await?;
        if K::BULK && reg::is_empty(&mut tx, K::TABLE).await? {
            bulk = Some(reg::bulk_begin(&mut tx, K::TABLE).await?);
            whole = Some(tx);
        } else if opts.all_or_nothing {
            whole = Some(tx);
        } else {
            tx.rollback().await.map_err(StorageError::from)?;
        }
        Ok(Self {
            opts,
            source,
            report: Report::default(),
            pending: Vec::new(),
            first_line: 0,
            last_line: 0,
            whole,
            bulk,
        })
    }

    /// Counts a batch from the reader: its rows wait to be written, its rejects are
    /// reported. A row that could not be prepared stops the import.
    fn take(
        &mut self,
        batch: Vec<Item<K::Ready>>,
        on_reject: &mut impl FnMut(&Reject),
    ) -> Result<(), ImportError> {
        for item in batch {
            match item {
                Item::Row(line, r) => {
                    self.report.rows += 1;
                    if self.pending.is_empty() {
                        self.first_line = line;
                    }
                    self.last_line = line;
                    self.pending.push(r);
                }
                Item::Failed(e) => return Err(ImportError::Storage(e)),
                Item::Rejected(rejects) => {
                    self.report.rows += 1;
                    self.report.rejected_rows += 1;
                    rejects.iter().for_each(&mut *on_reject);
                }
            }
        }
        Ok(())
    }

    /// Writes the waiting rows once there are enough: committed as a batch, or into the
    /// transaction that spans the file.
    async fn write_if_due(&mut self, db: &Db) -> Result<(), ImportError> {
        let n = self.pending.len();
        if n >= self.opts.commit_rows || (self.whole.is_some() && n >= 10_000) {
            let prov = provenance(&self.source, self.opts);
            let counts = match self.whole.as_mut() {
                Some(tx) => write_rows::<K>(tx, &self.pending, &prov, self.bulk.is_some()).await?,
                None => {
                    let lines = (self.first_line, self.last_line);
                    commit_batch::<K>(db, &self.pending, &prov, &self.source, lines).await?
                }
            };
            self.report.counts.add(counts);
            self.pending.clear();
        }
        Ok(())
    }

    /// Writes what is left and commits; a transaction that spans the file commits only if
    /// the reader finished (`read_all`) and, under all-or-nothing, nothing was rejected.
    async fn finish(self, db: &Db, read_all: bool) -> Result<Report, ImportError> {
        let Self {
            opts,
            source,
            mut report,
            pending,
            first_line,
            last_line,
            whole,
            bulk,
        } = self;
        let prov = provenance(&source, opts);
        match whole {
            Some(mut tx) => {
                if read_all && !(opts.all_or_nothing && report.rejected_rows > 0) {
                    report
                        .counts
                        .add(write_rows::<K>(&mut tx, &pending, &prov, bulk.is_some()).await?);
                    if let Some(load) = bulk {
                        let t = Instant::now();
                        tracing::info!(rows = report.rows, "rows written; building the indexes");
                        reg::bulk_finish(&mut tx, load).await?;
                        tracing::info!(seconds = t.elapsed().as_secs_f64(), "indexes built");
                    }
                    audit::append(
                        &mut tx,
                        &import_record::<K>(&source, &opts.actor, &report.counts, (1, last_line)),
                    )
                    .await?;
                    tx.commit().await.map_err(StorageError::from)?;
                    report.committed = true;
                } else {
                    tx.rollback().await.map_err(StorageError::from)?;
                    report.counts = Counts::default();
                }
            }
            None => {
                if !pending.is_empty() {
                    report.counts.add(
                        commit_batch::<K>(db, &pending, &prov, &source, (first_line, last_line))
                            .await?,
                    );
                }
                report.committed = true;
            }
        }
        Ok(report)
    }
}

fn provenance(source: &str, opts: &ImportOptions) -> Provenance {
    Provenance {
        source: source.to_owned(),
        actor: opts.actor.clone(),
        at: Timestamp::now(),
    }
}

fn import_record<K: Kind>(source: &str, actor: &str, c: &Counts, lines: (u64, u64)) -> AuditRecord {
    AuditRecord::new(actor, format!("{}.import", K::NAME), K::NAME, source).fields([
        format!("lines={}-{}", lines.0, lines.1),
        format!("inserted={}", c.inserted),
        format!("updated={}", c.updated),
        format!("unchanged={}", c.unchanged),
    ])
}

async fn commit_batch<K: Kind>(
    db: &Db,
    rows: &[K::Ready],
    prov: &Provenance,
    source: &str,
    lines: (u64, u64),
) -> Result<Counts, StorageError> {
    let mut tx = db.begin().await?;
    let counts = K::upsert(&mut tx, rows, prov).await?;
    if counts.inserted + counts.updated > 0 {
        audit::append(
            &mut tx,
            &import_record::<K>(source, &prov.actor, &counts, lines),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(counts)
}

/// Reads and checks every row, sending batches to the writer. Returns a message for a
/// problem that makes the rest of the file unreadable.
fn parse_file<K: Kind>(
    input: impl Read,
    format: Format,
    units: &HashSet<String>,
    keys: &Keyring,
    out: &tokio::sync::mpsc::Sender<Vec<Item<K::Ready>>>,
    bar: &mut Progress,
) -> Result<(), String> {
    let mut rows = Rows::<K> {
        today: sohoa_domain::timestamp::today(),
        units,
        keys,
        // Grown as rows come, not reserved from the file's size: a reservation that
        // overshoots the next power of two doubles the table for good (570 MB instead of
        // 285 MB at 14 million rows), while growing holds two tables only for the moment
        // of a resize.
        seen: HashMap::new(),
        batch: Vec::with_capacity(2_000),
        out,
        bar,
        rows: 0,
    };
    match format {
        Format::Csv => read_csv(input, &mut rows)?,
        Format::Ndjson => read_ndjson(input, &mut rows)?,
    }
    rows.flush()?;
    rows.bar.tick(rows.rows, true);
    Ok(())
}

/// The reading side of an import: checks each row and sends them to the writer in batches.
struct Rows<'a, K: Kind> {
    today: Date,
    units: &'a HashSet<String>,
    keys: &'a Keyring,
    /// Each record's identity and the line it was first seen on.
    seen: HashMap<u64, u32>,
    batch: Vec<Item<K::Ready>>,
    out: &'a tokio::sync::mpsc::Sender<Vec<Item<K::Ready>>>,
    bar: &'a mut Progress,
    /// Rows read so far.
    rows: u64,
}

impl<K: Kind> Rows<'_, K> {
    /// Checks one row (or the reason it could not be read) and adds it to the batch.
    fn check(&mut self, line: u64, parsed: Result<K::Input, Reject>) {
        let today = self.today;
        let item = match parsed
            .and_then(|input| K::parse(&input, today).map_err(|errs| field_rejects(line, errs)))
        {
            Err(r) => Item::Rejected(vec![r]),
            Ok(record) => self.verdict(line, record),
        };
        self.batch.push(item);
    }

    /// A parsed record rejected for naming units not in force or for repeating an earlier
    /// line, or else prepared for the writer.
    fn verdict(&mut self, line: u64, record: K::Record) -> Item<K::Ready> {
        let unknown: Vec<Reject> = K::units(&record)
            .into_iter()
            .filter(|(_, u)| !self.units.contains(u.as_str()))
            .map(|(field, u)| Reject {
                line,
                field: field.to_owned(),
                code: "unknown_unit".into(),
                detail: format!("no commune-level unit {u} is in force today"),
            })
            .collect();
        if !unknown.is_empty() {
            Item::Rejected(unknown)
        } else if let Some(first) = self.seen.insert(K::identity(&record), line_u32(line)) {
            // Keep pointing at the first occurrence.
            self.seen.insert(K::identity(&record), first);
            Item::Rejected(vec![Reject {
                line,
                field: K::REQUIRED[0].to_owned(),
                code: "duplicate".into(),
                detail: format!("the same record is on line {first}"),
            }])
        } else {
            match K::prepare(record, self.keys) {
                Ok(ready) => Item::Row(line, ready),
                Err(e) => Item::Failed(e),
            }
        }
    }

    /// Sends the batch once it is full.
    fn send_if_full(&mut self) -> Result<(), String> {
        if self.batch.len() >= 2_000 {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends the batch to the writer and moves the progress bar.
    fn flush(&mut self) -> Result<(), String> {
        self.bar.tick(self.rows, false);
        self.out
            .blocking_send(std::mem::take(&mut self.batch))
            .map_err(|_| "the writer stopped".to_owned())
    }
}

/// Reads a CSV file: its header checked, then record by record.
fn read_csv<K: Kind>(input: impl Read, rows: &mut Rows<'_, K>) -> Result<(), String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = rdr
        .byte_headers()
        .map_err(|e| format!("line 1: cannot read the header: {e}"))?
        .clone();
    let headers = csv::StringRecord::from_byte_record(headers)
        .map_err(|_| "line 1: the header is not UTF-8".to_owned())?;
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_owned()).collect();
    check_header::<K>(&names)?;
    let headers = csv::StringRecord::from(names.clone());
    let mut raw = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut raw) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => match e.kind() {
                csv::ErrorKind::Io(_) => {
                    return Err(format!(
                        "after line {}: {e}",
                        raw.position().map_or(0, |p| p.line())
                    ))
                }
                _ => {
                    let line = e.position().map_or(0, |p| p.line());
                    rows.check(
                        line,
                        Err(reject(line, "row", "malformed_row", e.to_string())),
                    );
                    continue;
                }
            },
        }
        rows.rows += 1;
        let line = raw.position().map_or(rows.rows + 1, |p| p.line());
        let parsed = csv_input::<K>(&raw, &headers, &names, line);
        rows.check(line, parsed);
        rows.send_if_full()?;
    }
    Ok(())
}

/// One CSV record as the registry's input: as many fields as the header, UTF-8 text.
fn csv_input<K: Kind>(
    raw: &csv::ByteRecord,
    headers: &csv::StringRecord,
    names: &[String],
    line: u64,
) -> Result<K::Input, Reject> {
    if raw.len() != headers.len() {
        return Err(reject(
            line,
            "row",
            "wrong_field_count",
            format!("expected {} fields, found {}", headers.len(), raw.len()),
        ));
    }
    match csv::StringRecord::from_byte_record(raw.clone()) {
        Err(e) => {
            let field = e.utf8_error().field();
            Err(reject(
                line,
                names.get(field).map_or("row", String::as_str),
                "invalid_utf8",
                "not valid UTF-8 text".into(),
            ))
        }
        Ok(rec) => rec
            .deserialize::<K::Input>(Some(headers))
            .map_err(|e| reject(line, "row", "malformed_row", e.to_string())),
    }
}

/// Reads an NDJSON file line by line; blank lines are skipped.
fn read_ndjson<K: Kind>(input: impl Read, rows: &mut Rows<'_, K>) -> Result<(), String> {
    let mut lines = BufReader::new(input);
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        match lines.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("after line {line}: {e}")),
        }
        line += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        rows.rows += 1;
        let parsed = match std::str::from_utf8(&buf) {
            Err(_) => Err(reject(
                line,
                "row",
                "invalid_utf8",
                "not valid UTF-8 text".into(),
            )),
            Ok(text) => {
                ndjson_input::<K>(text).map_err(|(code, detail)| reject(line, "row", code, detail))
            }
        };
        rows.check(line, parsed);
        rows.send_if_full()?;
    }
    Ok(())
}

/// Line numbers as stored for duplicate detection (files of over 4 billion lines share the
/// last number, which only blurs a duplicate report).
fn line_u32(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

fn reject(line: u64, field: &str, code: &str, detail: String) -> Reject {
    Reject {
        line,
        field: field.to_owned(),
        code: code.to_owned(),
        detail,
    }
}

/// All of a row's field errors as one reject per field. (The first is returned; the others
/// are folded into its detail so one row stays one report line per problem field.)
fn field_rejects(line: u64, errs: Vec<FieldError>) -> Reject {
    let mut it = errs.into_iter();
    let first = it.next().map_or_else(
        || reject(line, "row", "invalid", "rejected".into()),
        |e| reject(line, e.field, e.code, e.detail),
    );
    it.fold(first, |mut acc, e| {
        acc.detail
            .push_str(&format!("; {}: {} ({})", e.field, e.detail, e.code));
        acc
    })
}

fn check_header<K: Kind>(names: &[String]) -> Result<(), String> {
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !K::HEADER.contains(n))
        .collect();
    let missing: Vec<&str> = K::REQUIRED
        .iter()
        .copied()
        .filter(|r| !names.iter().any(|n| n == r))
        .collect();
    let mut dup = HashSet::new();
    let repeated: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !dup.insert(*n))
        .collect();
    if unknown.is_empty() && missing.is_empty() && repeated.is_empty() {
        return Ok(());
    }
    let mut msg = format!("line 1: the header does not fit a {} file.", K::NAME);
    if !missing.is_empty() {
        msg.push_str(&format!(" Missing columns: {}.", missing.join(", ")));
    }
    if !unknown.is_empty() {
        msg.push_str(&format!(" Unknown columns: {}.", unknown.join(", ")));
    }
    if !repeated.is_empty() {
        msg.push_str(&format!(" Repeated columns: {}.", repeated.join(", ")));
    }
    msg.push_str(&format!(" Expected: {}.", K::HEADER.join(",")));
    Err(msg)
}

/// An NDJSON line as the registry's input: every value becomes text (numbers as written,
/// objects such as a parcel's geometry as JSON), missing keys stay empty.
fn ndjson_input<K: Kind>(text: &str) -> Result<K::Input, (&'static str, String)> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ("malformed_row", format!("not a JSON object: {e}")))?;
    let obj = value
        .as_object()
        .ok_or(("malformed_row", "not a JSON object".to_owned()))?;
    let mut flat = serde_json::Map::new();
    for (k, v) in obj {
        if !K::HEADER.contains(&k.as_str()) {
            return Err((
                "unknown_field",
                format!("unknown field {k:?}; expected: {}", K::HEADER.join(", ")),
            ));
        }
        let s = match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        flat.insert(k.clone(), serde_json::Value::String(s));
    }
    for r in K::REQUIRED {
        if !flat.contains_key(*r) {
            return Err(("missing_field", format!("missing field {r:?}")));
        }
    }
    serde_json::from_value(serde_json::Value::Object(flat))
        .map_err(|e| ("malformed_row", e.to_string()))
}

/// A progress bar on stderr: percentage, rows, rows/s and ETA; silent when not asked for.
pub(crate) struct Progress {
    on: bool,
    size: u64,
    read: Arc<AtomicU64>,
    start: Instant,
    last: Instant,
}

impl Progress {
    pub(crate) fn new(on: bool, size: u64, read: Arc<AtomicU64>) -> Self {
        let now = Instant::now();
        Self {
            on,
            size,
            read,
            start: now,
            last: now,
        }
    }

    pub(crate) fn tick(&mut self, rows: u64, done: bool) {
        if !self.on || (!done && self.last.elapsed() < Duration::from_millis(200)) {
            return;
        }
        self.last = Instant::now();
        let read = self.read.load(Ordering::Relaxed);
        let frac = if self.size > 0 {
            (read as f64 / self.size as f64).min(1.0)
        } else {
            1.0
        };
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let rate = rows as f64 / secs;
        let eta = if frac > 0.0 { secs / frac - secs } else { 0.0 };
        let width = 30;
        let filled = (frac * width as f64) as usize;
        eprint!(
            "\r[{}{}] {:>3.0}% {} rows, {:.0} rows/s, ETA {}   ",
            "#".repeat(filled),
            " ".repeat(width - filled),
            frac * 100.0,
            rows,
            rate,
            format_secs(eta)
        );
        if done {
            eprintln!();
        }
    }
}

fn format_secs(s: f64) -> String {
    let s = s.max(0.0) as u64;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}
