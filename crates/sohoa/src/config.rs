//! Configuration: command-line flags over `SOHOA_*` environment variables over an optional
//! TOML file over defaults. Clap handles the first two; the file and the defaults are
//! merged here, so every option resolves in one place.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./sohoa-data";
pub const DEFAULT_CONFIG_FILE: &str = "sohoa.toml";

/// A secret that never prints: not in Debug output, not in logs.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where the data lives; shared by every command that opens the database.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// TOML configuration file [default: ./sohoa.toml when it exists]
    #[arg(long, env = "SOHOA_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB
    /// [default: SQLite file sohoa.db in the data directory]
    #[arg(
        long,
        env = "SOHOA_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,

    /// Directory for the embedded database and uploaded files [default: ./sohoa-data]
    #[arg(long, env = "SOHOA_DATA_DIR", value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Most database connections to hold open [default: 8]
    #[arg(
        long,
        env = "SOHOA_DB_MAX_CONNECTIONS",
        value_name = "N",
        global = true
    )]
    pub db_max_connections: Option<u32>,

    /// Seconds to wait for a database connection (at start: a database still starting;
    /// later: a busy pool) before giving up [default: 10]
    #[arg(long, env = "SOHOA_DB_WAIT", value_name = "SECONDS", global = true)]
    pub db_wait: Option<u64>,

    /// File of the keys that seal personal data at rest, one `ID:HEX` per line, the sealing
    /// key first [default: data.key in the data directory, created on first start]
    #[arg(long, env = "SOHOA_DATA_KEY_FILE", value_name = "FILE", global = true)]
    pub data_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "SOHOA_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Load demo data on first start (idempotent on later starts)
    #[arg(long, env = "SOHOA_DEMO")]
    pub demo: bool,

    /// Bearer token that authorizes administration through the API; without one,
    /// administration is disabled. Prefer the environment variable to the flag, which other
    /// users of the machine can read in the process list
    #[arg(
        long,
        env = "SOHOA_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<Secret>,

    /// Seconds a request may run before it is answered 503 [default: 30]
    #[arg(long, env = "SOHOA_REQUEST_TIMEOUT", value_name = "SECONDS")]
    pub request_timeout: Option<u64>,

    /// Requests per second one client address may make to this server, with bursts of twice
    /// as many; over it, 429 with Retry-After. Each server counts its own: behind a balancer
    /// of N servers, set the city's limit divided by N. 0 turns the limit off (for
    /// benchmarks) [default: 1000]
    #[arg(long, env = "SOHOA_RATE_LIMIT", value_name = "PER_SECOND")]
    pub rate_limit: Option<u32>,

    /// Sign-in attempts per minute one client address may make to this server (whatever
    /// the accounts); over it, 429 with Retry-After, audited. Each server counts its own
    /// (divide by the number of servers); an account's lock-out after failed attempts is
    /// kept in the database, the same on every server [default: 30]
    #[arg(long, env = "SOHOA_LOGIN_RATE_LIMIT", value_name = "PER_MINUTE")]
    pub login_rate_limit: Option<u32>,

    /// Send citizens' messages as they come: emails (.eml) and text messages (.sms) written
    /// into this directory for the relay, by this server's share of the jobs. Without it,
    /// messages wait for `sohoa notify`
    #[arg(long, env = "SOHOA_NOTIFY_DIR", value_name = "DIR")]
    pub notify_dir: Option<PathBuf>,

    /// A directory of PEM (or DER) files: the certificate authorities whose certificates
    /// people may sign forms with (the licensed CAs), and their revocation lists (.crl).
    /// The city's own root is always trusted
    #[arg(long, env = "SOHOA_TRUSTED_CAS", value_name = "DIR")]
    pub trusted_cas: Option<PathBuf>,

    /// The remote signing provider applicants may sign their forms through: its Cloud
    /// Signature Consortium API v2 base, e.g. https://ky-so.example.vn/csc/v2 (another
    /// sohoa's own serves one at /csc/v2)
    #[arg(long, env = "SOHOA_CSC_URL", value_name = "URL")]
    pub csc_url: Option<String>,

    /// Seconds a background job's lease lasts unrenewed: how soon the jobs of a server that
    /// died run on another [default: 30]
    #[arg(long, env = "SOHOA_JOB_LEASE", value_name = "SECONDS")]
    pub job_lease: Option<u64>,

    /// A PostgreSQL streaming replica for reads that may be slightly stale (dashboards, the
    /// catalogs, search, the evaluation); repeat for several. A client reads its own writes:
    /// after a write its reads use a replica only once it has replayed that write
    #[arg(
        long = "database-replica",
        env = "SOHOA_DATABASE_REPLICAS",
        value_name = "URL",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub database_replicas: Vec<Secret>,

    /// Run no background jobs here: a server that only answers requests, beside others
    /// that run the jobs (sending, the hourly recurring jobs)
    #[arg(long, env = "SOHOA_NO_JOBS")]
    pub no_jobs: bool,

    /// Serve HTTPS with this PEM certificate chain (needs --tls-key); browsers are then
    /// told to use HTTPS only (HSTS)
    #[arg(
        long,
        env = "SOHOA_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert
    #[arg(
        long,
        env = "SOHOA_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// OpenID Connect provider citizens may sign in with (its issuer URL); needs the client
    /// id, secret and redirect URL too
    #[arg(long, env = "SOHOA_OIDC_ISSUER", value_name = "URL")]
    pub oidc_issuer: Option<String>,

    /// This server's client id at the OpenID Connect provider
    #[arg(long, env = "SOHOA_OIDC_CLIENT_ID", value_name = "ID")]
    pub oidc_client_id: Option<String>,

    /// This server's client secret at the OpenID Connect provider (prefer the variable)
    #[arg(
        long,
        env = "SOHOA_OIDC_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub oidc_client_secret: Option<Secret>,

    /// The callback URL registered with the provider: https://<host>/auth/oidc/callback
    #[arg(long, env = "SOHOA_OIDC_REDIRECT_URL", value_name = "URL")]
    pub oidc_redirect_url: Option<String>,

    /// The payment gateway's base URL (applicants are sent to <URL>/pay); with the webhook
    /// secret, enables online payment of fees
    #[arg(long, env = "SOHOA_PAYMENT_GATEWAY_URL", value_name = "URL")]
    pub payment_gateway_url: Option<String>,

    /// The secret the gateway signs its webhooks with (HMAC-SHA256)
    #[arg(
        long,
        env = "SOHOA_PAYMENT_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub payment_webhook_secret: Option<Secret>,

    /// The ID token (or userinfo) claim holding the citizen's CCCD [default: cccd]
    #[arg(long, env = "SOHOA_OIDC_CCCD_CLAIM", value_name = "CLAIM")]
    pub oidc_cccd_claim: Option<String>,

    /// Scopes to ask for [default: "openid cccd"]
    #[arg(long, env = "SOHOA_OIDC_SCOPES", value_name = "SCOPES")]
    pub oidc_scopes: Option<String>,

    #[command(flatten)]
    pub rails: RailsArgs,
}

/// Vietnam's payment rails and the public address printed on paper.
#[derive(Debug, Clone, Default, Args)]
pub struct RailsArgs {
    /// The address residents reach this server at, e.g. https://dichvucong.example.vn: the
    /// QR code on a printed receipt links there [default: the request's own host]
    #[arg(long, env = "SOHOA_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// VNPay's payment page (…/paymentv2/vpcpay.html); with the merchant code and secret,
    /// applicants may pay fees through VNPay
    #[arg(long, env = "SOHOA_VNPAY_URL", value_name = "URL")]
    pub vnpay_url: Option<String>,

    /// The city's VNPay merchant code (vnp_TmnCode)
    #[arg(long, env = "SOHOA_VNPAY_TMN_CODE", value_name = "CODE")]
    pub vnpay_tmn_code: Option<String>,

    /// The VNPay merchant's hash secret (HMAC-SHA512)
    #[arg(
        long,
        env = "SOHOA_VNPAY_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub vnpay_secret: Option<Secret>,

    /// The six-digit BIN of the bank holding the city's account for VietQR transfers
    #[arg(long, env = "SOHOA_VIETQR_BIN", value_name = "BIN")]
    pub vietqr_bin: Option<String>,

    /// The city's account number for VietQR transfers
    #[arg(long, env = "SOHOA_VIETQR_ACCOUNT", value_name = "ACCOUNT")]
    pub vietqr_account: Option<String>,

    /// The account holder's name shown beside the code
    #[arg(long, env = "SOHOA_VIETQR_NAME", value_name = "NAME")]
    pub vietqr_name: Option<String>,
}

/// VNPay: its payment page, the merchant code and secret.
#[derive(Debug, Clone)]
pub struct VnpayConfig {
    pub url: String,
    pub tmn_code: String,
    pub secret: Secret,
}

/// The city's account for VietQR transfers.
#[derive(Debug, Clone)]
pub struct VietQrConfig {
    pub bin: String,
    pub account: String,
    pub name: String,
}

/// The rails as resolved.
#[derive(Debug, Clone, Default)]
pub struct Rails {
    pub public_url: Option<String>,
    pub vnpay: Option<VnpayConfig>,
    pub vietqr: Option<VietQrConfig>,
}

fn http_url(name: &str, url: String) -> Result<String, ConfigError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(ConfigError::Invalid(format!(
            "{name} must be an http(s) URL"
        )))
    }
}

fn resolve_rails(a: &RailsArgs, f: &FileConfig) -> Result<Rails, ConfigError> {
    let pick = |a: &Option<String>, f: &Option<String>| a.clone().or_else(|| f.clone());
    let public_url = pick(&a.public_url, &f.public_url)
        .map(|u| http_url("public_url", u))
        .transpose()?;
    let vnpay =
        match (
            pick(&a.vnpay_url, &f.vnpay_url),
            pick(&a.vnpay_tmn_code, &f.vnpay_tmn_code),
            a.vnpay_secret.clone().or_else(|| f.vnpay_secret.clone()),
        ) {
            (None, None, None) => None,
            (Some(url), Some(tmn_code), Some(secret)) if secret.expose().len() >= 16 => {
                Some(VnpayConfig {
                    url: http_url("vnpay_url", url)?,
                    tmn_code,
                    secret,
                })
            }
            _ => return Err(ConfigError::Invalid(
                "vnpay_url, vnpay_tmn_code and vnpay_secret (16 characters or more) go together"
                    .into(),
            )),
        };
    let vietqr = match (
        pick(&a.vietqr_bin, &f.vietqr_bin),
        pick(&a.vietqr_account, &f.vietqr_account),
    ) {
        (None, None) => None,
        (Some(bin), Some(account)) => {
            sohoa_domain::payments::vietqr::Payload::new(&bin, &account, None, None)
                .map_err(|e| ConfigError::Invalid(format!("vietqr_bin, vietqr_account: {e}")))?;
            Some(VietQrConfig {
                bin,
                account,
                name: pick(&a.vietqr_name, &f.vietqr_name).unwrap_or_default(),
            })
        }
        _ => {
            return Err(ConfigError::Invalid(
                "vietqr_bin and vietqr_account go together".into(),
            ))
        }
    };
    if vnpay.is_some() && public_url.is_none() {
        // VNPay sends the applicant back to an absolute address.
        return Err(ConfigError::Invalid("vnpay_url needs public_url".into()));
    }
    Ok(Rails {
        public_url,
        vnpay,
        vietqr,
    })
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log format [default: text]
    #[arg(long, env = "SOHOA_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,

    /// Log filter in tracing's EnvFilter syntax, e.g. `info` or `sohoa=debug,sqlx=warn`
    /// [default: info,sqlx::query=error]
    #[arg(long, env = "SOHOA_LOG", value_name = "FILTER", global = true)]
    pub log: Option<String>,
}

/// The optional file. Unknown keys are an error: a typo must not silently fall back to a
/// default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub db_max_connections: Option<u32>,
    pub db_wait: Option<u64>,
    pub data_key_file: Option<PathBuf>,
    pub demo: Option<bool>,
    pub admin_token: Option<Secret>,
    pub request_timeout: Option<u64>,
    pub rate_limit: Option<u32>,
    pub login_rate_limit: Option<u32>,
    pub notify_dir: Option<PathBuf>,
    pub trusted_cas: Option<PathBuf>,
    pub csc_url: Option<String>,
    pub job_lease: Option<u64>,
    pub no_jobs: Option<bool>,
    pub database_replicas: Option<Vec<Secret>>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<Secret>,
    pub oidc_redirect_url: Option<String>,
    pub oidc_cccd_claim: Option<String>,
    pub oidc_scopes: Option<String>,
    pub payment_gateway_url: Option<String>,
    pub payment_webhook_secret: Option<Secret>,
    pub public_url: Option<String>,
    pub vnpay_url: Option<String>,
    pub vnpay_tmn_code: Option<String>,
    pub vnpay_secret: Option<Secret>,
    pub vietqr_bin: Option<String>,
    pub vietqr_account: Option<String>,
    pub vietqr_name: Option<String>,
    pub log_format: Option<LogFormat>,
    pub log: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl FileConfig {
    /// Reads the file named, or `./sohoa.toml` if none is named and it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_owned(),
            None => {
                let p = PathBuf::from(DEFAULT_CONFIG_FILE);
                if !p.exists() {
                    return Ok(Self::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path,
            message: e.to_string(),
        })
    }
}

/// Everything resolved.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub db_max_connections: u32,
    /// How long to wait for a connection.
    pub db_wait: std::time::Duration,
    /// Where the data keys are; `None` means `data.key` in the data directory. The keys
    /// may instead come from `SOHOA_DATA_KEYS` (same format, comma-separated).
    pub data_key_file: Option<PathBuf>,
}

impl StoreConfig {
    pub fn resolve(args: &StoreArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let data_dir = args
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = args
            .database_url
            .clone()
            .or_else(|| file.database_url.clone())
            .unwrap_or_else(|| sohoa_storage::sqlite_url(&data_dir.join("sohoa.db")));
        let db_max_connections = args
            .db_max_connections
            .or(file.db_max_connections)
            .unwrap_or(8);
        if db_max_connections == 0 {
            return Err(ConfigError::Invalid(
                "db_max_connections must be at least 1".into(),
            ));
        }
        let db_wait = args.db_wait.or(file.db_wait).unwrap_or(10);
        if db_wait == 0 {
            return Err(ConfigError::Invalid(
                "db_wait must be at least 1 second".into(),
            ));
        }
        Ok(Self {
            database_url,
            data_dir,
            db_max_connections,
            db_wait: std::time::Duration::from_secs(db_wait),
            data_key_file: args
                .data_key_file
                .clone()
                .or_else(|| file.data_key_file.clone()),
        })
    }
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub demo: bool,
    pub admin_token: Option<Secret>,
    pub request_timeout: Duration,
    /// Requests per second per client address; 0 for no limit.
    pub rate_limit: u32,
    /// Sign-in attempts per minute per client address; 0 for no limit.
    pub login_rate_limit: u32,
    /// Where this server's sending jobs write citizens' messages; none: it sends none.
    pub notify_dir: Option<PathBuf>,
    /// Anchors trusted for people's signatures beside the city's root.
    pub trusted_cas: Option<PathBuf>,
    /// The remote signing provider's CSC API base.
    pub csc_url: Option<String>,
    /// How long a background job's lease lasts unrenewed.
    pub job_lease: Duration,
    /// Whether this server runs its share of the background jobs.
    pub jobs: bool,
    /// Streaming replicas' URLs, for reads that may be slightly stale.
    pub replicas: Vec<Secret>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub oidc: Option<sohoa_web::oidc::OidcConfig>,
    /// The payment gateway's base URL and webhook secret.
    pub payments: Option<(String, Secret)>,
    pub rails: Rails,
}

impl ServeConfig {
    pub fn resolve(args: &ServeArgs, file: &FileConfig) -> Result<Self, ConfigError> {
        let listen = match args.listen.or(file.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN
                .parse()
                .map_err(|_| ConfigError::Invalid("default listen address".into()))?,
        };
        let admin_token = args
            .admin_token
            .clone()
            .or_else(|| file.admin_token.clone());
        if admin_token
            .as_ref()
            .is_some_and(|t| t.expose().trim().len() < 16)
        {
            return Err(ConfigError::Invalid(
                "admin_token must be at least 16 characters".into(),
            ));
        }
        let tls_cert = args.tls_cert.clone().or_else(|| file.tls_cert.clone());
        let tls_key = args.tls_key.clone().or_else(|| file.tls_key.clone());
        if tls_cert.is_some() != tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "tls_cert and tls_key go together".into(),
            ));
        }
        let secs = args.request_timeout.or(file.request_timeout).unwrap_or(30);
        if secs == 0 {
            return Err(ConfigError::Invalid(
                "request_timeout must be at least 1 second".into(),
            ));
        }
        let job_lease = args.job_lease.or(file.job_lease).unwrap_or(30);
        if job_lease == 0 {
            return Err(ConfigError::Invalid(
                "job_lease must be at least 1 second".into(),
            ));
        }
        Ok(Self {
            listen,
            demo: args.demo || file.demo.unwrap_or(false),
            admin_token,
            request_timeout: Duration::from_secs(secs),
            rate_limit: args.rate_limit.or(file.rate_limit).unwrap_or(1000),
            login_rate_limit: args
                .login_rate_limit
                .or(file.login_rate_limit)
                .unwrap_or(30),
            notify_dir: args.notify_dir.clone().or_else(|| file.notify_dir.clone()),
            trusted_cas: args
                .trusted_cas
                .clone()
                .or_else(|| file.trusted_cas.clone()),
            csc_url: args
                .csc_url
                .clone()
                .or_else(|| file.csc_url.clone())
                .map(|u| http_url("csc_url", u))
                .transpose()?,
            job_lease: Duration::from_secs(job_lease),
            jobs: !(args.no_jobs || file.no_jobs.unwrap_or(false)),
            replicas: if args.database_replicas.is_empty() {
                file.database_replicas.clone().unwrap_or_default()
            } else {
                args.database_replicas.clone()
            },
            tls_cert,
            tls_key,
            oidc: resolve_oidc(args, file)?,
            payments: resolve_payments(args, file)?,
            rails: resolve_rails(&args.rails, file)?,
        })
    }
}

fn resolve_payments(
    args: &ServeArgs,
    file: &FileConfig,
) -> Result<Option<(String, Secret)>, ConfigError> {
    let url = args
        .payment_gateway_url
        .clone()
        .or_else(|| file.payment_gateway_url.clone());
    let secret = args
        .payment_webhook_secret
        .clone()
        .or_else(|| file.payment_webhook_secret.clone());
    match (url, secret) {
        (None, None) => Ok(None),
        (Some(url), Some(secret)) if secret.expose().len() >= 16 => Ok(Some((url, secret))),
        (Some(_), Some(_)) => Err(ConfigError::Invalid(
            "payment_webhook_secret must be at least 16 characters".into(),
        )),
        _ => Err(ConfigError::Invalid(
            "payment_gateway_url and payment_webhook_secret go together".into(),
        )),
    }
}

fn resolve_oidc(
    args: &ServeArgs,
    file: &FileConfig,
) -> Result<Option<sohoa_web::oidc::OidcConfig>, ConfigError> {
    let pick = |a: &Option<String>, f: &Option<String>| a.clone().or_else(|| f.clone());
    let issuer = pick(&args.oidc_issuer, &file.oidc_issuer);
    let client_id = pick(&args.oidc_client_id, &file.oidc_client_id);
    let secret = args
        .oidc_client_secret
        .clone()
        .or_else(|| file.oidc_client_secret.clone());
    let redirect = pick(&args.oidc_redirect_url, &file.oidc_redirect_url);
    match (issuer, client_id, secret, redirect) {
        (None, None, None, None) => Ok(None),
        (Some(issuer), Some(client_id), Some(secret), Some(redirect_url)) => {
            for (name, url) in [
                ("oidc_issuer", &issuer),
                ("oidc_redirect_url", &redirect_url),
            ] {
                let local =
                    url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost");
                if !url.starts_with("https://") && !local {
                    return Err(ConfigError::Invalid(format!(
                        "{name} must be an https:// URL (plain http only on this machine)"
                    )));
                }
            }
            Ok(Some(sohoa_web::oidc::OidcConfig {
                issuer,
                client_id,
                client_secret: secret.expose().to_owned(),
                redirect_url,
                cccd_claim: pick(&args.oidc_cccd_claim, &file.oidc_cccd_claim)
                    .unwrap_or_else(|| "cccd".into()),
                scopes: pick(&args.oidc_scopes, &file.oidc_scopes)
                    .unwrap_or_else(|| "openid cccd".into()),
            }))
        }
        _ => Err(ConfigError::Invalid(
            "oidc_issuer, oidc_client_id, oidc_client_secret and oidc_redirect_url go together"
                .into(),
        )),
    }
}

pub fn resolve_log(args: &LogArgs, file: &FileConfig) -> (LogFormat, String) {
    (
        args.log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Text),
        args.log
            .clone()
            .or_else(|| file.log.clone())
            .unwrap_or_else(|| "info,sqlx::query=error".to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_args() -> StoreArgs {
        StoreArgs {
            config: None,
            database_url: None,
            data_dir: None,
            db_max_connections: None,
            db_wait: None,
            data_key_file: None,
        }
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file: FileConfig =
            toml::from_str("data_dir = \"/srv/sohoa\"\ndb_max_connections = 4").unwrap_or_default();
        let mut args = store_args();
        let c = StoreConfig::resolve(&args, &file).ok();
        assert_eq!(c.as_ref().map(|c| c.db_max_connections), Some(4));
        assert_eq!(
            c.map(|c| c.database_url),
            Some("sqlite:///srv/sohoa/sohoa.db?mode=rwc".to_owned())
        );
        args.db_max_connections = Some(2);
        assert_eq!(
            StoreConfig::resolve(&args, &file)
                .ok()
                .map(|c| c.db_max_connections),
            Some(2)
        );
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        assert!(toml::from_str::<FileConfig>("databse_url = \"x\"").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let file: FileConfig =
            toml::from_str("admin_token = \"correct horse battery staple\"").unwrap_or_default();
        assert!(!format!("{file:?}").contains("horse"));
        assert!(format!("{file:?}").contains("Secret(***)"));
    }

    #[test]
    fn short_admin_tokens_are_refused() {
        let args = ServeArgs {
            listen: None,
            demo: false,
            admin_token: Some(Secret("short".into())),
            request_timeout: None,
            rate_limit: None,
            login_rate_limit: None,
            notify_dir: None,
            trusted_cas: None,
            csc_url: None,
            job_lease: None,
            no_jobs: false,
            database_replicas: Vec::new(),
            tls_cert: None,
            tls_key: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_redirect_url: None,
            oidc_cccd_claim: None,
            oidc_scopes: None,
            payment_gateway_url: None,
            payment_webhook_secret: None,
            rails: RailsArgs::default(),
        };
        assert!(ServeConfig::resolve(&args, &FileConfig::default()).is_err());
    }
}
