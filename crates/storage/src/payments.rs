//! Fee payments. A gateway's confirmation names its own transaction id: the pair (provider,
//! transaction) is unique, so a webhook delivered twice pays once. Paying in full stamps the
//! application's `fee_paid_at` in the same transaction.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::services::application::ApplicationNumber;
use sohoa_domain::services::workflow::Status;
use sohoa_domain::{Money, Timestamp};
use sqlx::any::AnyRow;

use crate::{
    audit, opt_money, opt_parsed, opt_text, parsed, stamp, text, Db, Result, StorageError, Tx,
};

/// A payment of an application's fee: its amount in đồng, its times `Timestamp`s.
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: String,
    pub number: ApplicationNumber,
    pub amount: Money,
    pub provider: String,
    pub provider_txn: Option<String>,
    pub status: String,
    pub created_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub recorded_by: Option<String>,
}

const COLUMNS: &str =
    "id, number, amount, provider, provider_txn, status, created_at, paid_at, recorded_by";

fn from_row(r: &AnyRow) -> Result<Payment> {
    const T: &str = "payments";
    let amount = opt_money(r, T, "amount")?
        .ok_or_else(|| StorageError::Corrupt(format!("{T}.amount: null")))?;
    Ok(Payment {
        id: text(r, "id")?,
        number: parsed(r, T, "number", ApplicationNumber::parse)?,
        amount,
        provider: text(r, "provider")?,
        provider_txn: opt_text(r, "provider_txn")?,
        status: text(r, "status")?,
        created_at: parsed(r, T, "created_at", stamp)?,
        paid_at: opt_parsed(r, T, "paid_at", stamp)?,
        recorded_by: opt_text(r, "recorded_by")?,
    })
}

fn with_object(mut record: AuditRecord, number: &str) -> AuditRecord {
    record.object_type = "application".into();
    record.object_id = number.to_owned();
    record
}

/// Records a payment: pending (online, awaiting the gateway) or already paid (at the
/// counter). A paid one with a (provider, transaction) seen before is not recorded again:
/// `Ok(false)`.
pub async fn insert(tx: &mut Tx, p: &Payment, record: AuditRecord) -> Result<bool> {
    // A payment already made (at the counter) is taken only while the fee is owed; the
    // caller drops `tx` on `Ok(false)`, so the stamp goes with it.
    if p.status == "paid" && !mark_paid(tx, &p.number, p.paid_at.unwrap_or(p.created_at)).await? {
        return Ok(false);
    }
    let n = sqlx::query(&format!(
        "INSERT INTO payments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (provider, provider_txn) DO NOTHING"
    ))
    .bind(&p.id)
    .bind(p.number.as_str())
    .bind(p.amount.dong())
    .bind(&p.provider)
    .bind(&p.provider_txn)
    .bind(&p.status)
    .bind(p.created_at.to_string())
    .bind(p.paid_at.map(|t| t.to_string()))
    .bind(&p.recorded_by)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    audit::append(tx, &with_object(record, &p.number)).await?;
    Ok(true)
}

/// Stamps the application paid, moving its revision (a move read before the payment must
/// not be applied over it). `Ok(false)` when nothing is owed any more: already paid, or
/// withdrawn or closed with its result (two receipts, or a receipt and a checkout, must not
/// both be taken).
async fn mark_paid(tx: &mut Tx, number: &ApplicationNumber, at: Timestamp) -> Result<bool> {
    let closed: Vec<String> = Status::ALL
        .into_iter()
        .filter(|s| s.is_closed())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let n = sqlx::query(&format!(
        "UPDATE applications SET fee_paid_at = $1, revision = revision + 1 \
         WHERE number = $2 AND fee_paid_at IS NULL AND fee_payable > 0 \
         AND status NOT IN ({})",
        closed.join(", ")
    ))
    .bind(at.to_string())
    .bind(number.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Payment>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM payments WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn of_application(db: &Db, number: &str) -> Result<Vec<Payment>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payments WHERE number = $1 ORDER BY created_at, id"
    ))
    .bind(number)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// What a gateway's confirmation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed,
    /// This transaction confirmed it before: nothing changed.
    AlreadyConfirmed,
    /// No pending payment with this id, or it was paid by another transaction.
    Unknown,
    AmountMismatch,
    /// The gateway took the money but nothing was owed any more (paid by another payment,
    /// or the application withdrawn): the payment is kept as `refund_due`.
    RefundDue,
}

/// Confirms a pending payment of `provider`'s by its transaction `txn`.
pub async fn confirm(
    tx: &mut Tx,
    provider: &str,
    id: &str,
    txn: &str,
    amount: i64,
    at: Timestamp,
    record: AuditRecord,
) -> Result<Confirmation> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM payments WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(p) = row.as_ref().map(from_row).transpose()? else {
        return Ok(Confirmation::Unknown);
    };
    // A gateway confirms only the payments started with it.
    if p.provider != provider {
        return Ok(Confirmation::Unknown);
    }
    if p.status != "pending" {
        // A repeated delivery is told what the first one was told.
        return Ok(if p.provider_txn.as_deref() != Some(txn) {
            Confirmation::Unknown
        } else if p.status == "refund_due" {
            Confirmation::RefundDue
        } else {
            Confirmation::AlreadyConfirmed
        });
    }
    if p.amount.dong() != amount {
        return Ok(Confirmation::AmountMismatch);
    }
    // The status in the WHERE clause makes two racing deliveries confirm it once.
    let n = sqlx::query(
        "UPDATE payments SET status = 'paid', provider_txn = $1, paid_at = $2 \
         WHERE id = $3 AND status = 'pending'",
    )
    .bind(txn)
    .bind(at.to_string())
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(Confirmation::AlreadyConfirmed);
    }
    if !mark_paid(tx, &p.number, at).await? {
        // Paid already by another payment, or withdrawn: the money is owed back, and the
        // payment says so for the finance office instead of paying the fee a second time.
        sqlx::query("UPDATE payments SET status = 'refund_due' WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        let mut record = with_object(record, &p.number);
        record.action = "payment.refund_due".into();
        audit::append(tx, &record).await?;
        return Ok(Confirmation::RefundDue);
    }
    audit::append(tx, &with_object(record, &p.number)).await?;
    Ok(Confirmation::Confirmed)
}

/// The payment a provider's transaction recorded, if any.
pub async fn by_transaction(db: &Db, provider: &str, txn: &str) -> Result<Option<Payment>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payments WHERE provider = $1 AND provider_txn = $2"
    ))
    .bind(provider)
    .bind(txn)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}
