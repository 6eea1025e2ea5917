//! The one-stop counter's own rows: the one-time code that confirms a filing made for the
//! person at the desk, and the handover of a paper result.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::Timestamp;

use crate::sealed::Keyring;
use crate::{audit, int, parsed, stamp, text, Db, Result, Tx};

/// Wrong codes a confirmation survives.
pub const CONFIRMATION_ATTEMPTS: i64 = 5;

/// Starts (or starts again) the confirmation of counter filing `number`: only the code's
/// digest is kept; the message carrying it goes to the applicant's registered contact
/// through the notification jobs, sealed. Audited in the same transaction.
#[allow(clippy::too_many_arguments)]
pub async fn start_confirmation(
    tx: &mut Tx,
    keys: &Keyring,
    number: &str,
    applicant: &str,
    code_hash: &str,
    expires_at: Timestamp,
    message: (&str, &str),
    record: AuditRecord,
) -> Result<()> {
    sqlx::query("DELETE FROM counter_confirmations WHERE number = $1")
        .bind(number)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO counter_confirmations (number, code_hash, started_by, expires_at, attempts) \
         VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(number)
    .bind(code_hash)
    .bind(&record.actor)
    .bind(expires_at.to_string())
    .execute(&mut **tx)
    .await?;
    crate::notifications::enqueue(tx, keys, applicant, message.0, message.1).await?;
    audit::append(tx, &record).await?;
    Ok(())
}

/// Whether `code_hash` is the live code of `number`'s confirmation. A right code is spent
/// here; a wrong one counts against it, and the caller commits `tx` either way so that the
/// count sticks (five wrong codes void it).
pub async fn spend_confirmation(tx: &mut Tx, number: &str, code_hash: &str) -> Result<bool> {
    let row = sqlx::query(
        "SELECT code_hash, expires_at, attempts FROM counter_confirmations WHERE number = $1",
    )
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    const T: &str = "counter_confirmations";
    let expires = parsed(&row, T, "expires_at", stamp)?;
    let live = expires > Timestamp::now() && int(&row, "attempts")? < CONFIRMATION_ATTEMPTS;
    // Digests of a random code: comparing them in variable time leaks nothing of it.
    if live && text(&row, "code_hash")? == code_hash {
        sqlx::query("DELETE FROM counter_confirmations WHERE number = $1")
            .bind(number)
            .execute(&mut **tx)
            .await?;
        return Ok(true);
    }
    sqlx::query("UPDATE counter_confirmations SET attempts = attempts + 1 WHERE number = $1")
        .bind(number)
        .execute(&mut **tx)
        .await?;
    Ok(false)
}

/// Forgets a confirmation no longer needed (the applicant signed the receipt instead).
pub async fn drop_confirmation(tx: &mut Tx, number: &str) -> Result<()> {
    sqlx::query("DELETE FROM counter_confirmations WHERE number = $1")
        .bind(number)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A paper result handed over at the counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub number: String,
    /// Who took it and the identity document checked, as the officer recorded them
    /// (sealed at rest: it names a person).
    pub recipient: String,
    pub handed_by: String,
    pub agency: String,
    pub handed_at: Timestamp,
}

fn recipient_context(number: &str) -> String {
    format!("result_handovers.recipient:{number}")
}

/// Records a handover with its audit entry; `false` when this application's result was
/// handed over before (nothing written).
pub async fn record_handover(
    tx: &mut Tx,
    keys: &Keyring,
    h: &Handover,
    record: AuditRecord,
) -> Result<bool> {
    let sealed = keys.seal(&recipient_context(&h.number), &h.recipient)?;
    let done = sqlx::query(
        "INSERT INTO result_handovers (number, recipient, handed_by, agency, handed_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (number) DO NOTHING",
    )
    .bind(&h.number)
    .bind(&sealed)
    .bind(&h.handed_by)
    .bind(&h.agency)
    .bind(h.handed_at.to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Ok(false);
    }
    audit::append(tx, &record).await?;
    Ok(true)
}

/// The handover of `number`'s result, if there was one.
pub async fn handover(db: &Db, number: &str) -> Result<Option<Handover>> {
    let row = sqlx::query(
        "SELECT number, recipient, handed_by, agency, handed_at FROM result_handovers \
         WHERE number = $1",
    )
    .bind(number)
    .fetch_optional(db.reader())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let keys = db.keyring()?;
    Ok(Some(Handover {
        recipient: keys.open(&recipient_context(number), &text(&r, "recipient")?)?,
        number: text(&r, "number")?,
        handed_by: text(&r, "handed_by")?,
        agency: text(&r, "agency")?,
        handed_at: parsed(&r, "result_handovers", "handed_at", stamp)?,
    }))
}
