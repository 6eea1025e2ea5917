//! Local accounts (citizens' and staff's) and the sessions they sign in to.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::Role;
use sohoa_domain::{CitizenId, Timestamp, UnitCode};

use crate::{
    audit, int, opt_int, opt_parsed, opt_text, parsed, stamp, text, Db, Result, StorageError, Tx,
};

#[derive(Debug, Clone)]
pub struct Account {
    pub account_id: i64,
    pub citizen_id: CitizenId,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<Timestamp>,
}

fn parse_citizen(s: &str) -> Option<CitizenId> {
    CitizenId::parse(s).ok()
}

/// A holder's second factor: the enrolled secret (hex), one being enrolled, and the step
/// of the last accepted code.
#[derive(Debug, Clone, Default)]
pub struct Totp {
    pub secret: Option<String>,
    pub pending: Option<String>,
    pub last_step: Option<i64>,
}

/// Creates a citizen's account; a second account for the same citizen is a `Conflict`.
pub async fn create(
    tx: &mut Tx,
    citizen_id: &str,
    password_hash: &str,
    record: AuditRecord,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO accounts (citizen_id, password_hash, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (citizen_id) DO NOTHING RETURNING account_id",
    )
    .bind(citizen_id)
    .bind(password_hash)
    .bind(Timestamp::now().to_string())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Err(StorageError::Conflict(format!(
            "account of citizen {}",
            &citizen_id[..3.min(citizen_id.len())]
        )));
    };
    audit::append(tx, &record).await?;
    int(&row, "account_id")
}

pub async fn by_citizen(db: &Db, citizen_id: &str) -> Result<Option<Account>> {
    let row = sqlx::query("SELECT account_id, citizen_id, password_hash, failed_logins, locked_until FROM accounts WHERE citizen_id = $1")
        .bind(citizen_id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|r| {
        Ok(Account {
            account_id: int(&r, "account_id")?,
            citizen_id: parsed(&r, "accounts", "citizen_id", parse_citizen)?,
            password_hash: text(&r, "password_hash")?,
            failed_logins: int(&r, "failed_logins")?,
            locked_until: opt_parsed(&r, "accounts", "locked_until", stamp)?,
        })
    })
    .transpose()
}

/// Whose credentials: a citizen's local account or a member of staff. Lockout and sessions
/// work the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Citizen(i64),
    Staff(i64),
}

impl Holder {
    fn table(self) -> (&'static str, &'static str, i64) {
        match self {
            Holder::Citizen(id) => ("accounts", "account_id", id),
            Holder::Staff(id) => ("staff", "staff_id", id),
        }
    }
}

/// Records a failed sign-in; locks the account until `lock_until` when it reaches
/// `max_failures`. Returns the new failure count.
pub async fn record_failure(
    tx: &mut Tx,
    holder: Holder,
    max_failures: i64,
    lock_until: Timestamp,
) -> Result<i64> {
    let (table, key, id) = holder.table();
    let row = sqlx::query(&format!(
        "UPDATE {table} SET failed_logins = failed_logins + 1 WHERE {key} = $1 RETURNING failed_logins"
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let failures = int(&row, "failed_logins")?;
    if failures >= max_failures {
        sqlx::query(&format!(
            "UPDATE {table} SET locked_until = $1, failed_logins = 0 WHERE {key} = $2"
        ))
        .bind(lock_until.to_string())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(failures)
}

/// Starts a session (clearing the failure count) and returns nothing: the caller holds the
/// token, the database only its digest.
pub async fn start_session(
    tx: &mut Tx,
    holder: Holder,
    token_sha256: &str,
    expires_at: &str,
) -> Result<()> {
    let (table, key, id) = holder.table();
    sqlx::query(&format!(
        "UPDATE {table} SET failed_logins = 0, locked_until = NULL WHERE {key} = $1"
    ))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO sessions (token_sha256, {key}, created_at, expires_at) VALUES ($1, $2, $3, $4)"
    ))
    .bind(token_sha256)
    .bind(id)
    .bind(Timestamp::now().to_string())
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a sealed TOTP secret is bound to: its holder (pending and enrolled secrets share it,
/// since confirming moves one column into the other).
fn totp_context(holder: Holder) -> String {
    let (table, _, id) = holder.table();
    format!("{table}.totp:{id}")
}

/// The holder's TOTP state, its secrets opened (they are sealed at rest like personal data).
pub async fn totp(db: &Db, holder: Holder) -> Result<Totp> {
    let (table, key, id) = holder.table();
    let row = sqlx::query(&format!(
        "SELECT totp_secret, totp_pending, totp_last_step FROM {table} WHERE {key} = $1"
    ))
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    let Some(row) = row else {
        return Ok(Totp::default());
    };
    let keys = db.keyring()?;
    let open = |column: &str| -> Result<Option<String>> {
        opt_text(&row, column)?
            .map(|v| keys.open(&totp_context(holder), &v))
            .transpose()
    };
    Ok(Totp {
        secret: open("totp_secret")?,
        pending: open("totp_pending")?,
        last_step: opt_int(&row, "totp_last_step")?,
    })
}

/// Starts (or restarts) enrolment with a new secret; the current one, if any, stays in
/// force until a code for the new one confirms it.
pub async fn set_totp_pending(
    tx: &mut Tx,
    keys: &crate::sealed::Keyring,
    holder: Holder,
    secret_hex: &str,
) -> Result<()> {
    let (table, key, id) = holder.table();
    sqlx::query(&format!(
        "UPDATE {table} SET totp_pending = $1 WHERE {key} = $2"
    ))
    .bind(keys.seal(&totp_context(holder), secret_hex)?)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Puts the pending secret in force (its first code used at `step`).
pub async fn confirm_totp(
    tx: &mut Tx,
    holder: Holder,
    step: i64,
    record: AuditRecord,
) -> Result<()> {
    let (table, key, id) = holder.table();
    sqlx::query(&format!(
        "UPDATE {table} SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1 \
         WHERE {key} = $2 AND totp_pending IS NOT NULL"
    ))
    .bind(step)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    audit::append(tx, &record).await?;
    Ok(())
}

pub async fn disable_totp(tx: &mut Tx, holder: Holder, record: AuditRecord) -> Result<()> {
    let (table, key, id) = holder.table();
    sqlx::query(&format!(
        "UPDATE {table} SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL WHERE {key} = $1"
    ))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    audit::append(tx, &record).await?;
    Ok(())
}

/// Spends the code of time step `step`: `false` if that step (or a later one) was already
/// used, which makes a replayed code fail even when two requests race.
pub async fn use_totp_step(tx: &mut Tx, holder: Holder, step: i64) -> Result<bool> {
    let (table, key, id) = holder.table();
    let n = sqlx::query(&format!(
        "UPDATE {table} SET totp_last_step = $1 \
         WHERE {key} = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)"
    ))
    .bind(step)
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Who holds a live session.
#[derive(Debug, Clone)]
pub enum SessionOwner {
    Citizen(CitizenId),
    Staff(Box<StaffAccount>),
}

/// The holder of a live session, if the token's digest names one that has neither expired
/// (at `now`) nor been revoked, and whose account is not disabled.
pub async fn session_owner(
    db: &Db,
    token_sha256: &str,
    now: Timestamp,
) -> Result<Option<SessionOwner>> {
    let row = sqlx::query(&format!(
        "SELECT a.citizen_id, {STAFF_COLUMNS} FROM sessions s \
         LEFT JOIN accounts a ON a.account_id = s.account_id \
         LEFT JOIN staff st ON st.staff_id = s.staff_id \
         WHERE s.token_sha256 = $1 AND s.revoked_at IS NULL AND s.expires_at > $2"
    ))
    .bind(token_sha256)
    .bind(now.to_string())
    .fetch_optional(db.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    if let Some(citizen) = opt_parsed(&row, "accounts", "citizen_id", parse_citizen)? {
        return Ok(Some(SessionOwner::Citizen(citizen)));
    }
    let staff = staff_from_row(&row)?;
    Ok(staff
        .disabled_at
        .is_none()
        .then(|| SessionOwner::Staff(Box::new(staff))))
}

pub async fn end_session(tx: &mut Tx, token_sha256: &str) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE token_sha256 = $2 AND revoked_at IS NULL",
    )
    .bind(Timestamp::now().to_string())
    .bind(token_sha256)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// A member of staff's account as stored.
#[derive(Debug, Clone)]
pub struct StaffAccount {
    pub staff_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub agency_code: Option<AgencyCode>,
    pub unit_code: Option<UnitCode>,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    /// The audit log's actor who opened it.
    pub created_by: String,
    pub disabled_at: Option<Timestamp>,
}

const STAFF_COLUMNS: &str = "st.staff_id, st.username, st.display_name, st.role, st.agency_code, \
     st.unit_code, st.password_hash, st.failed_logins, st.locked_until, st.created_at, \
     st.created_by, st.disabled_at";

const S: &str = "staff";

fn staff_from_row(r: &sqlx::any::AnyRow) -> Result<StaffAccount> {
    Ok(StaffAccount {
        staff_id: int(r, "staff_id")?,
        username: text(r, "username")?,
        display_name: text(r, "display_name")?,
        role: parsed(r, S, "role", Role::parse)?,
        agency_code: opt_parsed(r, S, "agency_code", |a| AgencyCode::parse(a).ok())?,
        unit_code: opt_parsed(r, S, "unit_code", |u| UnitCode::parse(u).ok())?,
        password_hash: text(r, "password_hash")?,
        failed_logins: int(r, "failed_logins")?,
        locked_until: opt_parsed(r, S, "locked_until", stamp)?,
        created_at: parsed(r, S, "created_at", stamp)?,
        created_by: text(r, "created_by")?,
        disabled_at: opt_parsed(r, S, "disabled_at", stamp)?,
    })
}

/// A staff account to open; the caller has checked role, scope and password.
#[derive(Debug, Clone, Copy)]
pub struct NewStaff<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub agency_code: Option<&'a str>,
    pub unit_code: Option<&'a str>,
    pub password_hash: &'a str,
    pub created_by: &'a str,
}

/// Opens a staff account; a taken username is a `Conflict`.
pub async fn create_staff(
    tx: &mut Tx,
    new: &NewStaff<'_>,
    record: AuditRecord,
) -> Result<StaffAccount> {
    let row = sqlx::query(
        "INSERT INTO staff (username, display_name, role, agency_code, unit_code, password_hash, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (username) DO NOTHING RETURNING staff_id",
    )
    .bind(new.username)
    .bind(new.display_name)
    .bind(new.role)
    .bind(new.agency_code)
    .bind(new.unit_code)
    .bind(new.password_hash)
    .bind(Timestamp::now().to_string())
    .bind(new.created_by)
    .fetch_optional(&mut **tx)
    .await?;
    if row.is_none() {
        return Err(StorageError::Conflict(format!("staff {}", new.username)));
    }
    audit::append(tx, &record).await?;
    staff_in(&mut **tx, new.username)
        .await?
        .ok_or_else(|| StorageError::Conflict(format!("staff {}", new.username)))
}

async fn staff_in<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    username: &str,
) -> Result<Option<StaffAccount>> {
    let row = sqlx::query(&format!(
        "SELECT {STAFF_COLUMNS} FROM staff st WHERE st.username = $1"
    ))
    .bind(username)
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(staff_from_row).transpose()
}

pub async fn staff_by_username(db: &Db, username: &str) -> Result<Option<StaffAccount>> {
    staff_in(db.reader(), username).await
}

/// One page of staff accounts ordered by username, after `after`; of one agency, or all.
pub async fn list_staff(
    db: &Db,
    agency_code: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<StaffAccount>> {
    let rows = sqlx::query(&format!(
        "SELECT {STAFF_COLUMNS} FROM staff st \
         WHERE ($1 IS NULL OR st.agency_code = $1) AND ($2 IS NULL OR st.username > $2) \
         ORDER BY st.username LIMIT $3"
    ))
    .bind(agency_code)
    .bind(after)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(staff_from_row).collect()
}

/// Disables a staff account and ends its sessions at once. `false` if there was no live
/// account of that name.
pub async fn disable_staff(tx: &mut Tx, username: &str, record: AuditRecord) -> Result<bool> {
    let now = Timestamp::now().to_string();
    let row = sqlx::query(
        "UPDATE staff SET disabled_at = $1 WHERE username = $2 AND disabled_at IS NULL RETURNING staff_id",
    )
    .bind(&now)
    .bind(username)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL")
        .bind(&now)
        .bind(int(&row, "staff_id")?)
        .execute(&mut **tx)
        .await?;
    audit::append(tx, &record).await?;
    Ok(true)
}

/// A sign-in through an OpenID Connect provider, between redirect and callback.
#[derive(Debug, Clone)]
pub struct OidcLogin {
    pub nonce: String,
    pub verifier: String,
    pub next_path: String,
}

/// Records a sign-in in progress (and forgets those older than `stale_before`).
pub async fn start_oidc(
    tx: &mut Tx,
    state_sha256: &str,
    login: &OidcLogin,
    stale_before: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM oidc_logins WHERE created_at < $1")
        .bind(stale_before)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO oidc_logins (state_sha256, nonce, verifier, next_path, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(state_sha256)
    .bind(&login.nonce)
    .bind(&login.verifier)
    .bind(&login.next_path)
    .bind(Timestamp::now().to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the sign-in with this state, once: a replayed callback finds nothing.
pub async fn take_oidc(
    tx: &mut Tx,
    state_sha256: &str,
    stale_before: &str,
) -> Result<Option<OidcLogin>> {
    let row = sqlx::query(
        "DELETE FROM oidc_logins WHERE state_sha256 = $1 RETURNING nonce, verifier, next_path, created_at",
    )
    .bind(state_sha256)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if text(&row, "created_at")?.as_str() < stale_before {
        return Ok(None);
    }
    Ok(Some(OidcLogin {
        nonce: text(&row, "nonce")?,
        verifier: text(&row, "verifier")?,
        next_path: text(&row, "next_path")?,
    }))
}

/// The account of a citizen the identity provider vouched for, opened if need be. Such an
/// account has no password (the marker is no valid hash, so no password ever matches).
pub async fn ensure_account(tx: &mut Tx, citizen_id: &str, record: AuditRecord) -> Result<i64> {
    let inserted = sqlx::query(
        "INSERT INTO accounts (citizen_id, password_hash, created_at) VALUES ($1, '!oidc', $2) \
         ON CONFLICT (citizen_id) DO NOTHING RETURNING account_id",
    )
    .bind(citizen_id)
    .bind(Timestamp::now().to_string())
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = inserted {
        audit::append(tx, &record).await?;
        return int(&row, "account_id");
    }
    let row = sqlx::query("SELECT account_id FROM accounts WHERE citizen_id = $1")
        .bind(citizen_id)
        .fetch_one(&mut **tx)
        .await?;
    int(&row, "account_id")
}

/// Wrong codes after which an activation is void (a new one must be started).
pub const ACTIVATION_ATTEMPTS: i64 = 5;

/// Starts (or restarts) the activation of a citizen's account: the code's hash, until
/// `expires_at`, with its message to the citizen (a sending job) and the audit entry, in
/// `tx`.
pub async fn start_activation(
    tx: &mut Tx,
    keys: &crate::sealed::Keyring,
    citizen_id: &str,
    code_hash: &str,
    expires_at: &str,
    message: (&str, &str),
    record: AuditRecord,
) -> Result<()> {
    let now = Timestamp::now().to_string();
    sqlx::query("DELETE FROM account_activations WHERE citizen_id = $1")
        .bind(citizen_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO account_activations (citizen_id, code_hash, started_by, created_at, expires_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, 0)",
    )
    .bind(citizen_id)
    .bind(code_hash)
    .bind(&record.actor)
    .bind(&now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    crate::notifications::enqueue(tx, keys, citizen_id, message.0, message.1).await?;
    audit::append(tx, &record).await?;
    Ok(())
}

/// What presenting an activation code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The account exists now, with the resident's password.
    Opened,
    /// No live activation with this code (none, expired, used up, or a wrong code, which
    /// counts against it): nothing else is told.
    Refused,
    /// The citizen has an account already.
    Exists,
}

/// Opens the account if `code_hash` is the live activation's: the activation is spent and
/// the account created in `tx`. A wrong code counts as an attempt: the caller commits `tx`
/// whatever the outcome, so the count sticks.
pub async fn activate(
    tx: &mut Tx,
    citizen_id: &str,
    code_hash: &str,
    password_hash: &str,
    record: AuditRecord,
) -> Result<Activation> {
    let now = Timestamp::now().to_string();
    let row = sqlx::query(
        "SELECT code_hash, expires_at, attempts FROM account_activations WHERE citizen_id = $1",
    )
    .bind(citizen_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(Activation::Refused);
    };
    let live = text(&row, "expires_at")? > now && int(&row, "attempts")? < ACTIVATION_ATTEMPTS;
    // Hashes of a random code: comparing them in variable time leaks nothing of the code.
    let matches = text(&row, "code_hash")? == code_hash;
    if !(live && matches) {
        sqlx::query("UPDATE account_activations SET attempts = attempts + 1 WHERE citizen_id = $1")
            .bind(citizen_id)
            .execute(&mut **tx)
            .await?;
        return Ok(Activation::Refused);
    }
    sqlx::query("DELETE FROM account_activations WHERE citizen_id = $1")
        .bind(citizen_id)
        .execute(&mut **tx)
        .await?;
    match create(tx, citizen_id, password_hash, record).await {
        Ok(_) => Ok(Activation::Opened),
        Err(StorageError::Conflict(_)) => Ok(Activation::Exists),
        Err(e) => Err(e),
    }
}
