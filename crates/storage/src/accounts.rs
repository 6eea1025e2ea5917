//! Citizens' local accounts and their sessions.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::Timestamp;

use crate::{audit, int, opt_text, text, Db, Result, StorageError, Tx};

#[derive(Debug, Clone)]
pub struct Account {
    pub account_id: i64,
    pub citizen_id: String,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
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
            citizen_id: text(&r, "citizen_id")?,
            password_hash: text(&r, "password_hash")?,
            failed_logins: int(&r, "failed_logins")?,
            locked_until: opt_text(&r, "locked_until")?,
        })
    })
    .transpose()
}

/// Records a failed sign-in; locks the account until `lock_until` when it reaches
/// `max_failures`. Returns the new failure count.
pub async fn record_failure(
    tx: &mut Tx,
    account_id: i64,
    max_failures: i64,
    lock_until: &str,
) -> Result<i64> {
    let row = sqlx::query("UPDATE accounts SET failed_logins = failed_logins + 1 WHERE account_id = $1 RETURNING failed_logins")
        .bind(account_id)
        .fetch_one(&mut **tx)
        .await?;
    let failures = int(&row, "failed_logins")?;
    if failures >= max_failures {
        sqlx::query(
            "UPDATE accounts SET locked_until = $1, failed_logins = 0 WHERE account_id = $2",
        )
        .bind(lock_until)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(failures)
}

/// Starts a session (clearing the failure count) and returns nothing: the caller holds the
/// token, the database only its digest.
pub async fn start_session(
    tx: &mut Tx,
    account_id: i64,
    token_sha256: &str,
    expires_at: &str,
) -> Result<()> {
    sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO sessions (token_sha256, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_sha256)
        .bind(account_id)
        .bind(Timestamp::now().to_string())
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The citizen a live session belongs to, if the token's digest names one that has neither
/// expired (at `now`) nor been revoked.
pub async fn session_citizen(db: &Db, token_sha256: &str, now: &str) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT a.citizen_id FROM sessions s JOIN accounts a ON a.account_id = s.account_id \
         WHERE s.token_sha256 = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
    )
    .bind(token_sha256)
    .bind(now)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| text(&r, "citizen_id")).transpose()
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
