//! `sohoa`: serve the platform, migrate its database, verify its audit log.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sohoa::config::{
    resolve_log, FileConfig, LogArgs, LogFormat, ServeArgs, ServeConfig, StoreArgs, StoreConfig,
};
use sohoa_storage::audit::{self, Verification};
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// sohoa ("số hóa", to digitize): the digital-government platform of Ho Chi Minh City.
#[derive(Debug, Parser)]
#[command(name = "sohoa", version, about, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the JSON API, the web pages and the metrics over HTTP.
    ///
    /// Options come from flags, then SOHOA_* environment variables, then the TOML file
    /// (--config, or ./sohoa.toml when present), then the defaults shown.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and load the reference administrative units, then exit.
    Migrate,
    /// Load a registry file (CSV or NDJSON), reporting every rejected row with its line.
    ///
    /// Valid rows load and rejected rows are listed; with --all-or-nothing any rejected row
    /// loads nothing. Importing the same file again changes nothing. Exit code: 0 when every
    /// row loaded, 3 when some rows were rejected and the others loaded, 1 when nothing was
    /// loaded (a rejected row under --all-or-nothing, or a file that cannot be read).
    Import(ImportArgs),
    /// Replace the shipped approximate commune boundaries with official ones from a GeoJSON
    /// FeatureCollection (each feature: `properties.code`, a Polygon or MultiPolygon). Every
    /// feature must be right or nothing is loaded; units the file leaves out keep theirs.
    Boundaries { file: std::path::PathBuf },
    /// Check the procedure-monitoring counters against a full recount of the applications
    /// (with --repair, replace them by the recount). Exit code 0 when they agree (or were
    /// repaired), 1 when they differ, 2 when the check could not run.
    Monitoring {
        #[arg(long)]
        repair: bool,
    },
    /// Write deterministic synthetic registry data as import files (citizens.csv,
    /// enterprises.csv, parcels.csv).
    Generate(GenerateArgs),
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Take a consistent copy of the database and the uploaded files into a new directory,
    /// while the server runs. Exit code 0 when done, 2 when it could not be taken.
    Backup {
        /// A new (or empty) directory.
        dir: std::path::PathBuf,
    },
    /// Restore a backup into the configured database and data directory, then check that
    /// the audit chain verifies and ends where the backup's did. Stop the server first when
    /// it runs on SQLite. Exit code 0 when restored and verified, 1 when the restored copy
    /// fails the check, 2 when nothing could be restored.
    Restore {
        dir: std::path::PathBuf,
        /// Overwrite a database that already holds data.
        #[arg(long)]
        replace: bool,
    },
    /// Run a payment gateway simulator that confirms payments to sohoa's webhook, signed
    /// with SOHOA_PAYMENT_WEBHOOK_SECRET (for trying online fees out and for tests).
    PaymentSimulator {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        /// sohoa's webhook URL.
        #[arg(long, default_value = "http://127.0.0.1:8080/api/v1/payments/webhook")]
        webhook: String,
        /// Play VNPay too, calling this IPN URL (the merchant's secret in SOHOA_VNPAY_SECRET).
        #[arg(long, value_name = "URL")]
        vnpay_ipn: Option<String>,
        /// The merchant code VNPay knows.
        #[arg(long, default_value = "SOHOA001")]
        vnpay_tmn_code: String,
    },
    /// Send the citizens' messages that are due (the notification.send jobs): emails (.eml)
    /// or text messages (.sms) written into a directory for the relay to pick up. A message
    /// that fails is tried again later (see `sohoa jobs list`). Exit code 0 when the run
    /// ended.
    Notify {
        /// Where to write the messages.
        #[arg(long, default_value = "sohoa-data/outbox")]
        out: std::path::PathBuf,
    },
    /// The city's signing PKI: its CA and the agencies' result-signing certificates.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// The keys that seal personal data at rest.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// The durable background jobs: what waits, runs, failed; try one again or cancel it.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Fees paid by bank transfer.
    Payments {
        #[command(subcommand)]
        command: PaymentsCommand,
    },
    /// Tools for the benchmarks under bench/.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Drive a running server with HTTP requests for a while and print a JSON report
    /// (requests, per_second, p50_ms, p99_ms). Stops at the first unexpected status.
    Load(LoadArgs),
    /// Write COUNT applications of one procedure to one agency, spread over the statuses
    /// and due dates of a busy queue (for the queue benchmark; not for a real database).
    SeedApplications {
        #[arg(long)]
        count: u64,
        /// The deciding agency's code.
        #[arg(long)]
        agency: String,
        /// The procedure's code (it must exist).
        #[arg(long)]
        procedure: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write COUNT applications over AGENCIES (comma-separated) and PROCEDURES, received
    /// over two years, with their monitoring counters, unsealed and without events (for
    /// the monitoring benchmark; not for a real database); --csv also writes them as CSV.
    SeedMonitoring {
        #[arg(long)]
        count: u64,
        #[arg(long, value_delimiter = ',')]
        agencies: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        procedures: Vec<String>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        csv: Option<std::path::PathBuf>,
    },
    /// Forecast SERIES synthetic monthly series of LENGTH months, HORIZON ahead, each with
    /// its backtest, on THREADS threads; print the time taken and the models chosen.
    Forecast {
        #[arg(long, default_value_t = 1000)]
        series: u64,
        #[arg(long, default_value_t = 120)]
        length: usize,
        #[arg(long, default_value_t = 12)]
        horizon: usize,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Write COUNT residents' reports over the city, routed, over a year and every status,
    /// with their evaluation counters (for the feedback benchmark; not for a real database).
    SeedReports {
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, clap::Args)]
struct LoadArgs {
    /// The server's base URL.
    #[arg(long)]
    url: String,
    /// A path to request; give several (or --paths-file) to cycle through them.
    #[arg(long = "path")]
    paths: Vec<String>,
    /// A file with one path per line, added to --path.
    #[arg(long)]
    paths_file: Option<std::path::PathBuf>,
    #[arg(long, default_value = "GET")]
    method: String,
    /// A file whose bytes are sent as the JSON body.
    #[arg(long)]
    body_file: Option<std::path::PathBuf>,
    /// A file with one bearer token per line, cycled through.
    #[arg(long)]
    tokens_file: Option<std::path::PathBuf>,
    /// Send a fresh Idempotency-Key with this prefix on every request.
    #[arg(long)]
    idempotency_prefix: Option<String>,
    /// The status every answer must have.
    #[arg(long, default_value_t = 200)]
    expect: u16,
    /// Connections sending at once.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    #[arg(long, default_value_t = 15.0)]
    seconds: f64,
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Make the city's signing CA and a result-signing certificate for every agency (done on
    /// first use otherwise), and print the CA certificate to give to those who verify results.
    Init {
        /// The address residents reach the server at: new certificates name its revocation
        /// list (…/pki/city.crl)
        #[arg(long, env = "SOHOA_PUBLIC_URL", value_name = "URL")]
        public_url: Option<String>,
    },
    /// Every certificate the city CA issued, newest first, with its state (current,
    /// replaced, expired, revoked).
    List,
    /// Revoke a certificate (a compromised key, an agency merged away): it joins the
    /// revocation list at once, and its owner's next signature uses a new key. Exit status 1
    /// when it cannot be revoked (unknown, revoked already, the root).
    Revoke {
        /// The serial number, hex, as `sohoa pki list` prints it
        serial: String,
        /// key-compromise, superseded, cessation-of-operation or affiliation-changed
        #[arg(long, value_parser = parse_reason)]
        reason: sohoa_domain::pki::RevocationReason,
    },
}

fn parse_reason(s: &str) -> Result<sohoa_domain::pki::RevocationReason, String> {
    sohoa_domain::pki::RevocationReason::parse(s).ok_or_else(|| {
        "one of key-compromise, superseded, cessation-of-operation, affiliation-changed".into()
    })
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print a new key line (`ID:HEX`) to put first in the key file: from then on it seals,
    /// and the keys after it still open what they sealed.
    Generate {
        /// The new key's id [default: one more than the largest configured]
        #[arg(long)]
        id: Option<u32>,
    },
    /// Re-seal all personal data under the first key, while the server runs (which must
    /// already hold the new key file). Afterwards the older keys can be removed. Exit code 0
    /// when done, 2 when it could not finish (run it again: it resumes).
    Rotate,
}

#[derive(Debug, Subcommand)]
enum PaymentsCommand {
    /// Match a bank statement (CSV with the columns transaction_id, date, amount,
    /// description) to the fees owed: a credit whose note names exactly one application,
    /// for exactly what it owes, confirms its fee (once per bank transaction, however often
    /// the statement is read). Lists every other line with why. Exit code 0 when every line
    /// was settled, 1 when some are left for review, 2 when the statement cannot be read.
    Reconcile {
        statement: std::path::PathBuf,
        /// The bank whose statement it is: its transaction ids are unique within it.
        #[arg(long, default_value = "city")]
        bank: String,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Counts per kind and state, then the newest jobs.
    List {
        /// ready, running, done, dead or cancelled.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Make a dead or cancelled job ready to run now, its attempts counted afresh.
    Retry { id: String },
    /// Cancel a job waiting to run (a running one finishes its attempt).
    Cancel { id: String },
    /// Run a recurring job now, here (jobs.purge, evaluation.publish), instead of waiting
    /// for its hour. Exit code 0 when it ran, 1 when it failed or there is no such kind.
    Run { kind: String },
    /// Forget jobs that ended (done or cancelled) more than DAYS days ago; dead ones stay.
    /// Every server does this hourly by itself.
    Purge {
        #[arg(long, default_value_t = 30, value_name = "DAYS")]
        older_than_days: u32,
    },
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Open a city administrator's account, the first account of a new installation; the
    /// administrator then opens the others through the API. The password is read from
    /// SOHOA_STAFF_PASSWORD, or else from the first line of standard input.
    AddAdmin {
        /// 3-32 lower-case letters, digits, '.', '-' or '_', starting with a letter.
        username: String,
        /// The name shown to people.
        #[arg(long)]
        display_name: String,
    },
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// Which registry the file holds.
    #[arg(value_enum)]
    registry: sohoa::import::Registry,
    /// The file: CSV with a header row, or NDJSON (one JSON object per line).
    file: std::path::PathBuf,
    /// File format [default: from the extension: .ndjson or .jsonl is NDJSON, else CSV]
    #[arg(long, value_enum)]
    format: Option<sohoa::import::Format>,
    /// Load nothing if any row is rejected.
    #[arg(long)]
    all_or_nothing: bool,
    /// Rows per transaction when loading valid rows [default: 50000]
    #[arg(long, value_name = "N", default_value_t = 50_000)]
    commit_rows: usize,
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// Number of citizens.
    #[arg(long, default_value_t = 1_000)]
    citizens: u64,
    /// Number of enterprises.
    #[arg(long, default_value_t = 100)]
    enterprises: u64,
    /// Number of land parcels.
    #[arg(long, default_value_t = 500)]
    parcels: u64,
    /// Random seed: the same seed writes the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory to write the files into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: std::path::PathBuf,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain and name the first broken entry. Exit code 0 when the chain is
    /// intact, 1 when it is broken, 2 when it could not be checked.
    Verify,
}

fn init_logging(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sohoa: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(run());
    // Whatever task is still running once the command is done (a pool's maintenance that
    // never yields, in a rare sqlx race) must not keep the process from exiting.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    code
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let file = match FileConfig::load(cli.store.config.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("sohoa: {e}");
            return ExitCode::from(2);
        }
    };
    let (format, filter) = resolve_log(&cli.log, &file);
    init_logging(format, &filter);
    let store = match StoreConfig::resolve(&cli.store, &file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sohoa: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve(args) => serve(&store, &args, &file).await,
        Command::Migrate => migrate(&store).await,
        Command::Import(args) => import(&store, &args).await,
        Command::Monitoring { repair } => monitoring(&store, repair).await,
        Command::Boundaries { file } => boundaries(&store, &file).await,
        Command::Generate(args) => generate(&args),
        Command::Audit {
            command: AuditCommand::Verify,
        } => verify(&store).await,
        Command::Backup { dir } => backup(&store, &dir).await,
        Command::Restore { dir, replace } => restore(&store, &dir, replace).await,
        Command::Keys { command } => keys(&store, command).await,
        Command::Bench { command } => bench(&store, command).await,
        Command::Notify { out } => notify(&store, &out).await,
        Command::Jobs { command } => jobs(&store, command).await,
        Command::Payments {
            command: PaymentsCommand::Reconcile { statement, bank },
        } => reconcile(&store, &statement, &bank).await,
        Command::Pki { command } => pki(&store, command).await,
        Command::PaymentSimulator {
            listen,
            webhook,
            vnpay_ipn,
            vnpay_tmn_code,
        } => payment_simulator(listen, webhook, vnpay_ipn.map(|u| (u, vnpay_tmn_code))).await,
        Command::Staff {
            command:
                StaffCommand::AddAdmin {
                    username,
                    display_name,
                },
        } => add_admin(&store, &username, &display_name).await,
    }
}

/// A command's result as its exit code: success, or `failure` with the error on stderr.
fn exit_with<T, E: std::fmt::Display>(
    result: Result<T, E>,
    failure: u8,
    ok: impl FnOnce(T),
) -> ExitCode {
    match result {
        Ok(v) => {
            ok(v);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sohoa: {e}");
            ExitCode::from(failure)
        }
    }
}

async fn jobs(store: &StoreConfig, command: JobsCommand) -> ExitCode {
    use sohoa::jobs as cli;
    let result = with_db(store, 2, async |db| match command {
        JobsCommand::List { state, kind, limit } => {
            cli::list(db, state.as_deref(), kind.as_deref(), limit).await
        }
        JobsCommand::Retry { id } => cli::retry(db, &id).await.map(|()| format!("{id}: ready\n")),
        JobsCommand::Cancel { id } => cli::cancel(db, &id)
            .await
            .map(|()| format!("{id}: cancelled\n")),
        JobsCommand::Run { kind } => cli::run(db, &kind).await,
        JobsCommand::Purge { older_than_days } => cli::purge(db, older_than_days)
            .await
            .map(|n| format!("{n} jobs forgotten\n")),
    })
    .await;
    match result {
        Ok(r) => exit_with(r, 1, |text| print!("{text}")),
        Err(code) => code,
    }
}

async fn reconcile(store: &StoreConfig, statement: &std::path::Path, bank: &str) -> ExitCode {
    let result = with_db(store, 2, async |db| {
        sohoa::payments::reconcile(db, statement, bank).await
    })
    .await;
    match result {
        Ok(Ok((report, settled))) => {
            print!("{report}");
            ExitCode::from(if settled { 0 } else { 1 })
        }
        Ok(Err(e)) => {
            eprintln!("sohoa: {e}");
            ExitCode::from(2)
        }
        Err(code) => code,
    }
}

async fn monitoring(store: &StoreConfig, repair: bool) -> ExitCode {
    with_db(store, 2, async |db| check_monitoring(db, repair).await)
        .await
        .unwrap_or_else(|code| code)
}

async fn boundaries(store: &StoreConfig, file: &std::path::Path) -> ExitCode {
    let result = match with_db(store, 1, async |db| {
        sohoa::boundaries::import(db, file).await
    })
    .await
    {
        Ok(r) => r,
        Err(code) => return code,
    };
    exit_with(result, 1, |n| println!("{n} communes' boundaries replaced"))
}

async fn backup(store: &StoreConfig, dir: &std::path::Path) -> ExitCode {
    let result = sohoa::backup::backup(store, dir).await;
    exit_with(result.map_err(|e| format!("backup failed: {e}")), 2, |m| {
        println!(
            "backup written to {}: {} database, {} audit entries, {} files",
            dir.display(),
            m.backend,
            m.audit_entries,
            m.files
        );
    })
}

async fn restore(store: &StoreConfig, dir: &std::path::Path, replace: bool) -> ExitCode {
    use sohoa::backup::BackupError;
    match sohoa::backup::restore(store, dir, replace).await {
        Ok(m) => {
            println!(
                "restored from {}: {} audit entries verified, head {}",
                dir.display(),
                m.audit_entries,
                m.audit_head_hash
            );
            ExitCode::SUCCESS
        }
        Err(e @ (BackupError::BrokenChain(_) | BackupError::HeadMismatch { .. })) => {
            eprintln!("sohoa: restored, but the copy fails its check: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("sohoa: restore failed: {e}");
            ExitCode::from(2)
        }
    }
}

async fn bench(store: &StoreConfig, command: BenchCommand) -> ExitCode {
    match command {
        BenchCommand::Load(args) => bench_load(args).await,
        BenchCommand::SeedReports { count, seed } => seed_reports(store, count, seed).await,
        BenchCommand::SeedMonitoring {
            count,
            agencies,
            procedures,
            seed,
            csv,
        } => {
            let spec = sohoa::bench::MonitorSeed {
                count,
                agencies,
                procedures,
                seed,
                csv,
                progress: std::io::stderr().is_terminal(),
            };
            seed_monitoring(store, &spec).await
        }
        BenchCommand::Forecast {
            series,
            length,
            horizon,
            threads,
        } => bench_forecast(series, length, horizon, threads),
        BenchCommand::SeedApplications {
            count,
            agency,
            procedure,
            seed,
        } => {
            let spec = sohoa::bench::SeedSpec {
                count,
                agency,
                procedure,
                seed,
                progress: std::io::stderr().is_terminal(),
            };
            seed_applications(store, &spec).await
        }
    }
}

async fn seed_reports(store: &StoreConfig, count: u64, seed: u64) -> ExitCode {
    let result = match with_db(store, 2, async |db| {
        sohoa::bench::seed_reports(db, count, seed, std::io::stderr().is_terminal()).await
    })
    .await
    {
        Ok(r) => r,
        Err(code) => return code,
    };
    exit_with(result, 1, |n| println!("{n} reports written"))
}

async fn seed_monitoring(store: &StoreConfig, spec: &sohoa::bench::MonitorSeed) -> ExitCode {
    let result = match with_db(store, 2, async |db| {
        sohoa::bench::seed_monitoring(db, spec).await
    })
    .await
    {
        Ok(r) => r,
        Err(code) => return code,
    };
    exit_with(result, 1, |n| println!("{n} applications written"))
}

async fn seed_applications(store: &StoreConfig, spec: &sohoa::bench::SeedSpec) -> ExitCode {
    let result = match with_db(store, 2, async |db| {
        sohoa::bench::seed_applications(db, spec).await
    })
    .await
    {
        Ok(r) => r,
        Err(code) => return code,
    };
    exit_with(result, 1, |n| println!("{n} applications written"))
}

fn bench_forecast(series: u64, length: usize, horizon: usize, threads: usize) -> ExitCode {
    let data: Vec<Vec<f64>> = (0..series)
        .map(|i| sohoa_forecast::synthetic::series(i, length))
        .collect();
    let start = std::time::Instant::now();
    let results = sohoa_forecast::forecast_many(&data, 12, horizon, threads);
    let secs = start.elapsed().as_secs_f64();
    let mut chosen: std::collections::BTreeMap<&str, usize> = Default::default();
    let (mut failed, mut backtested, mut beat) = (0, 0, 0);
    for r in &results {
        match r {
            Ok(f) => {
                *chosen.entry(f.model.name()).or_default() += 1;
                if let Some(b) = &f.backtest {
                    backtested += 1;
                    if b.chosen
                        .mase
                        .zip(b.baseline.mase)
                        .is_some_and(|(c, b)| c < b)
                    {
                        beat += 1;
                    }
                }
            }
            Err(_) => failed += 1,
        }
    }
    println!(
        "{series} series x {length} months, h={horizon}, {threads} threads: {secs:.2} s; \
         chosen {chosen:?}; backtested {backtested}, beat seasonal naive on MASE {beat}, failed {failed}"
    );
    ExitCode::SUCCESS
}

async fn notify(store: &StoreConfig, out: &std::path::Path) -> ExitCode {
    let result = match with_db(store, 2, async |db| sohoa::notify::drain(db, out).await).await {
        Ok(r) => r,
        Err(code) => return code,
    };
    let result =
        result.map_err(|e| format!("sending stopped: {e} (run it again: unsent messages stay)"));
    exit_with(result, 2, |s| {
        println!(
            "{} emails, {} text messages written to {}; {} recipients without a contact",
            s.emails,
            s.sms,
            out.display(),
            s.no_contact
        );
    })
}

async fn pki(store: &StoreConfig, command: PkiCommand) -> ExitCode {
    match command {
        PkiCommand::Init { public_url } => {
            let url = sohoa::pki::crl_url(public_url.as_deref());
            let result = match with_db(store, 2, async |db| {
                sohoa_storage::pki::init(db, url.as_deref()).await
            })
            .await
            {
                Ok(r) => r,
                Err(code) => return code,
            };
            exit_with(result, 2, |(ca, n)| {
                eprintln!("{n} agencies hold a result-signing certificate; the city CA:");
                print!("{ca}");
            })
        }
        PkiCommand::List => {
            let result = match with_db(store, 2, async |db| sohoa::pki::list(db).await).await {
                Ok(r) => r,
                Err(code) => return code,
            };
            exit_with(result, 2, |text| print!("{text}"))
        }
        PkiCommand::Revoke { serial, reason } => {
            let result = match with_db(store, 2, async |db| {
                sohoa::pki::revoke(db, &serial, reason).await
            })
            .await
            {
                Ok(r) => r,
                Err(code) => return code,
            };
            let failure = match &result {
                Err(sohoa::pki::RevokeError::Storage(_)) => 2,
                _ => 1,
            };
            exit_with(result, failure, |c| {
                println!("revoked {} of {} ({})", c.serial, c.owner, reason.as_str());
            })
        }
    }
}

async fn payment_simulator(
    listen: std::net::SocketAddr,
    webhook: String,
    vnpay: Option<(String, String)>,
) -> ExitCode {
    let secret = match std::env::var("SOHOA_PAYMENT_WEBHOOK_SECRET") {
        Ok(s) if s.len() >= 16 => s,
        _ => {
            eprintln!(
                "sohoa: set SOHOA_PAYMENT_WEBHOOK_SECRET (at least 16 characters), the same as the server's"
            );
            return ExitCode::from(2);
        }
    };
    let vnpay = match vnpay {
        None => None,
        Some((ipn_url, tmn_code)) => match std::env::var("SOHOA_VNPAY_SECRET") {
            Ok(s) if s.len() >= 16 => Some(sohoa::paysim::SimVnpay {
                merchant: sohoa_domain::payments::vnpay::Merchant {
                    tmn_code,
                    secret: s.into_bytes(),
                },
                ipn_url,
            }),
            _ => {
                eprintln!("sohoa: set SOHOA_VNPAY_SECRET (at least 16 characters), the merchant's");
                return ExitCode::from(2);
            }
        },
    };
    match sohoa::paysim::bind_with(listen, webhook, secret.into_bytes(), vnpay).await {
        Ok((addr, serve)) => {
            println!("payment simulator on http://{addr}/pay");
            exit_with(serve.await, 2, |()| {})
        }
        Err(e) => {
            eprintln!("sohoa: cannot listen on {listen}: {e}");
            ExitCode::from(2)
        }
    }
}

async fn serve(store: &StoreConfig, args: &ServeArgs, file: &FileConfig) -> ExitCode {
    let cfg = match ServeConfig::resolve(args, file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sohoa: {e}");
            return ExitCode::from(2);
        }
    };
    let started = match sohoa::start(store, &cfg, shutdown_signal()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("sohoa: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        addr = %started.addr,
        database = started.db.backend().name(),
        admin = cfg.admin_token.is_some(),
        tls = cfg.tls_cert.is_some(),
        "listening on {}://{}",
        if cfg.tls_cert.is_some() { "https" } else { "http" },
        started.addr
    );
    match started.run.await {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "server stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM (what service managers and container runtimes send) or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: finishing requests in flight");
}

async fn migrate(store: &StoreConfig) -> ExitCode {
    match sohoa::open_and_migrate(store).await {
        Ok(db) => {
            let known = db.known_migrations();
            println!(
                "database ({}) is up to date with {} migrations: {}",
                db.backend().name(),
                known.len(),
                known.join(", ")
            );
            db.close().await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sohoa: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn add_admin(store: &StoreConfig, username: &str, display_name: &str) -> ExitCode {
    let password = match std::env::var("SOHOA_STAFF_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            if std::io::stdin().is_terminal() {
                eprint!("password (10-128 characters, shown as typed): ");
            }
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() {
                eprintln!("sohoa: could not read the password");
                return ExitCode::from(2);
            }
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let db = match sohoa::open_and_migrate(store).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("sohoa: {e}");
            return ExitCode::from(2);
        }
    };
    let result = sohoa::staff::add_admin(&db, username, display_name, &password).await;
    db.close().await;
    match result {
        Ok(()) => {
            println!("city administrator {username} created");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sohoa: {e}");
            ExitCode::from(2)
        }
    }
}

async fn keys(store: &StoreConfig, command: KeysCommand) -> ExitCode {
    match command {
        KeysCommand::Generate { id } => {
            let next = match sohoa::load_keyring(store, false) {
                Ok(Some(k)) => k.ids().into_iter().max().unwrap_or(0) + 1,
                Ok(None) => 1,
                Err(e) => {
                    eprintln!("sohoa: {e}");
                    return ExitCode::from(2);
                }
            };
            match sohoa_storage::sealed::Keyring::generate_line(id.unwrap_or(next)) {
                Ok(line) => {
                    println!("{line}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("sohoa: {e}");
                    ExitCode::from(2)
                }
            }
        }
        KeysCommand::Rotate => {
            let db = match sohoa::open_and_migrate(store).await {
                Ok(db) => db,
                Err(e) => {
                    eprintln!("sohoa: {e}");
                    return ExitCode::from(2);
                }
            };
            let show = std::io::stderr().is_terminal();
            let started = std::time::Instant::now();
            let report = |what: &str, n: u64| {
                if show {
                    let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    eprint!("\rre-sealing {what}: {n} records ({rate:.0}/s)   ");
                }
            };
            let result = match sohoa_storage::registry::citizens::reseal(&db, 1_000, |n| {
                report("citizens", n)
            })
            .await
            {
                Ok(citizens) => {
                    sohoa_storage::applications::reseal(&db, 1_000, |n| report("applications", n))
                        .await
                        .map(|apps| citizens + apps)
                }
                Err(e) => Err(e),
            };
            // The signing keys too: few, so one batch.
            let result = match result {
                Ok(n) => sohoa_storage::pki::reseal(&db).await.map(|k| n + k),
                Err(e) => Err(e),
            };
            if show {
                eprintln!();
            }
            let active = db.keyring().map(|k| k.active_id()).unwrap_or(0);
            db.close().await;
            match result {
                Ok(n) => {
                    println!("{n} records re-sealed under key {active}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("sohoa: rotation stopped: {e} (run it again to resume)");
                    ExitCode::from(2)
                }
            }
        }
    }
}

async fn verify(store: &StoreConfig) -> ExitCode {
    let db = match sohoa::open(store).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("sohoa: {e}");
            return ExitCode::from(2);
        }
    };
    let show_progress = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let result = audit::verify(&db, |checked, total| {
        if show_progress {
            let pct = if total > 0 {
                checked * 100 / total
            } else {
                100
            };
            let rate = checked as f64 / started.elapsed().as_secs_f64().max(1e-3);
            eprint!("\rverifying audit chain: {checked}/{total} entries ({pct}%, {rate:.0}/s)   ");
        }
    })
    .await;
    if show_progress {
        eprintln!();
    }
    db.close().await;
    match result {
        Ok(Verification::Intact { entries }) => {
            println!("audit chain intact: {entries} entries verified");
            ExitCode::SUCCESS
        }
        Ok(Verification::Broken(b)) => {
            println!("audit chain BROKEN at entry {}: {b}", b.seq());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("sohoa: cannot verify the audit chain: {e}");
            ExitCode::from(2)
        }
    }
}

async fn import(store: &StoreConfig, args: &ImportArgs) -> ExitCode {
    use sohoa::import::{self, Format, ImportOptions};
    let db = match sohoa::open_and_migrate(store).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("sohoa: {e}");
            return ExitCode::from(1);
        }
    };
    let opts = ImportOptions {
        registry: args.registry,
        path: args.file.clone(),
        format: args.format.unwrap_or_else(|| Format::guess(&args.file)),
        all_or_nothing: args.all_or_nothing,
        progress: std::io::stderr().is_terminal(),
        commit_rows: args.commit_rows.max(1),
        actor: "cli".to_owned(),
    };
    let mut out = std::io::stdout().lock();
    let result = import::run(&db, &opts, |r| {
        use std::io::Write;
        let _ = writeln!(out, "rejected {r}");
    })
    .await;
    match db.checkpoint().await {
        Ok(true) => tracing::info!("database checkpointed"),
        Ok(false) => tracing::info!("checkpoint left to the server, whose readers are busy"),
        Err(e) => tracing::warn!(error = %e, "could not checkpoint the database"),
    }
    db.close().await;
    match result {
        Ok(report) => {
            let c = report.counts;
            println!(
                "{} rows read: {} inserted, {} updated, {} unchanged, {} rejected{}",
                report.rows,
                c.inserted,
                c.updated,
                c.unchanged,
                report.rejected_rows,
                if report.committed {
                    ""
                } else {
                    "; nothing was loaded (--all-or-nothing)"
                }
            );
            if !report.committed {
                ExitCode::from(1)
            } else if report.rejected_rows > 0 {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("sohoa: import stopped: {e}");
            ExitCode::from(1)
        }
    }
}

fn generate(args: &GenerateArgs) -> ExitCode {
    let opts = sohoa::generate::GenerateOptions {
        citizens: args.citizens,
        enterprises: args.enterprises,
        parcels: args.parcels,
        seed: args.seed,
        out: args.out.clone(),
        progress: std::io::stderr().is_terminal(),
    };
    match sohoa::generate::generate(&opts) {
        Ok(g) => {
            for p in [g.citizens, g.enterprises, g.parcels] {
                println!("wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sohoa: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bench_load(args: LoadArgs) -> ExitCode {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let lines = |path: &Option<std::path::PathBuf>| -> Result<Vec<String>, String> {
        match path {
            None => Ok(Vec::new()),
            Some(p) => Ok(String::from_utf8_lossy(&read(p)?)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()),
        }
    };
    let spec = (|| -> Result<sohoa::bench::LoadSpec, String> {
        let mut paths = args.paths.clone();
        paths.extend(lines(&args.paths_file)?);
        Ok(sohoa::bench::LoadSpec {
            base_url: args.url.trim_end_matches('/').to_owned(),
            method: args
                .method
                .to_uppercase()
                .parse()
                .map_err(|_| format!("not an HTTP method: {}", args.method))?,
            paths,
            tokens: lines(&args.tokens_file)?,
            body: args.body_file.as_deref().map(read).transpose()?,
            idempotency_prefix: args.idempotency_prefix.clone(),
            expect: args.expect,
            clients: args.clients.max(1),
            duration: std::time::Duration::try_from_secs_f64(args.seconds)
                .map_err(|_| format!("not a duration in seconds: {}", args.seconds))?,
        })
    })();
    let spec = match spec {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sohoa: {e}");
            return ExitCode::from(2);
        }
    };
    match sohoa::bench::run(spec).await {
        Ok(report) => match serde_json::to_string(&report) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("sohoa: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("sohoa: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens and migrates the database for a command, or says why not and gives the exit code.
async fn check_monitoring(db: &sohoa_storage::Db, repair: bool) -> ExitCode {
    match sohoa::monitoring::check(db, repair, std::io::stderr().is_terminal()).await {
        Ok(o) if o.differences == 0 => {
            println!(
                "monitoring counters agree with a recount of {} applications",
                o.applications
            );
            ExitCode::SUCCESS
        }
        Ok(o) if o.repaired => {
            println!(
                "{} monitoring counters differed from the recount; replaced",
                o.differences
            );
            ExitCode::SUCCESS
        }
        Ok(o) => {
            println!(
                "{} monitoring counters differ from a recount (run with --repair)",
                o.differences
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("sohoa: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs `work` on the database (opened and migrated), closing it after: exit code
/// `failure` when it cannot be opened.
async fn with_db<T>(
    store: &StoreConfig,
    failure: u8,
    work: impl AsyncFnOnce(&sohoa_storage::Db) -> T,
) -> Result<T, ExitCode> {
    let db = open_for_command(store, failure).await?;
    let out = work(&db).await;
    db.close().await;
    Ok(out)
}

async fn open_for_command(store: &StoreConfig, failure: u8) -> Result<sohoa_storage::Db, ExitCode> {
    sohoa::open_and_migrate(store).await.map_err(|e| {
        eprintln!("sohoa: {e}");
        ExitCode::from(failure)
    })
}
