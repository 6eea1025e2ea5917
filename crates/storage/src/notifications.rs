//! Notifications of every status change: a row in the applicant's in-app inbox and one in
//! the outbox, both written in the transaction that changes the status, so none is lost and
//! none announces a change that did not happen. A sender drains the outbox (`sohoa notify
//! send`); it looks the contact up when it sends, so no address is copied out of the sealed
//! registry.

use sohoa_domain::services::application::ApplicationNumber;
use sohoa_domain::services::workflow::Status;
use sohoa_domain::Timestamp;
use sqlx::any::AnyRow;

use crate::{int, opt_parsed, parsed, stamp, text, Db, Result, Tx};

/// One status change to announce.
#[derive(Debug, Clone, Copy)]
pub struct StatusChange<'a> {
    pub number: &'a str,
    pub applicant: &'a str,
    pub status: Status,
    pub at: &'a str,
}

/// Records that `number` moved to `status`, for its applicant.
pub async fn status_changed(
    tx: &mut Tx,
    number: &str,
    applicant: &str,
    status: Status,
    at: &str,
) -> Result<()> {
    status_changed_many(
        tx,
        &[StatusChange {
            number,
            applicant,
            status,
            at,
        }],
    )
    .await
}

/// [`status_changed`] for several changes, in two multi-row statements.
pub async fn status_changed_many(tx: &mut Tx, changes: &[StatusChange<'_>]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO notifications (id, recipient, number, status, created_at) VALUES {}",
        crate::values_placeholders(tx, changes.len(), 5)
    );
    let mut q = sqlx::query(&sql);
    for c in changes {
        q = q
            .bind(crate::time_ordered_id("ntf")?)
            .bind(c.applicant)
            .bind(c.number)
            .bind(c.status.as_str())
            .bind(c.at);
    }
    q.execute(&mut **tx).await?;
    let sql = format!(
        "INSERT INTO outbox (id, recipient, subject, body, created_at, attempts) VALUES {}",
        crate::values_placeholders(tx, changes.len(), 6)
    );
    let mut q = sqlx::query(&sql);
    for c in changes {
        let (vi, en) = c.status.names();
        let number = c.number;
        q = q
            .bind(crate::time_ordered_id("out")?)
            .bind(c.applicant)
            .bind(format!("Hồ sơ {number}: {vi} / Application {number}: {en}"))
            .bind(format!(
                "Hồ sơ {number} của bạn đã chuyển sang trạng thái: {vi}.\nYour application {number} is now: {en}.\n"
            ))
            .bind(c.at)
            .bind(0i64);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// The sealing context of an outbox message's body.
fn body_context(id: &str) -> String {
    format!("outbox.body:{id}")
}

/// One message for `recipient` (a citizen's id) in the outbox, sent to the contact the
/// registry holds when the sender runs. The body may carry a secret (an activation code):
/// it is sealed like personal data, so the database holds no code a reader could use.
pub async fn enqueue(
    tx: &mut Tx,
    keys: &crate::sealed::Keyring,
    recipient: &str,
    subject: &str,
    body: &str,
    at: &str,
) -> Result<()> {
    let id = crate::time_ordered_id("out")?;
    let sealed = keys.seal(&body_context(&id), body)?;
    sqlx::query(
        "INSERT INTO outbox (id, recipient, subject, body, created_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, 0)",
    )
    .bind(&id)
    .bind(recipient)
    .bind(subject)
    .bind(&sealed)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: String,
    pub number: ApplicationNumber,
    pub status: Status,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

const T: &str = "notifications";

fn from_row(r: &AnyRow) -> Result<Notification> {
    let s = text(r, "status")?;
    Ok(Notification {
        id: text(r, "id")?,
        number: parsed(r, T, "number", ApplicationNumber::parse)?,
        status: Status::parse(&s)
            .ok_or_else(|| crate::StorageError::Corrupt(format!("notification status {s}")))?,
        created_at: parsed(r, T, "created_at", stamp)?,
        read_at: opt_parsed(r, T, "read_at", stamp)?,
    })
}

/// A recipient's notifications, newest first, and how many are unread.
pub async fn inbox(db: &Db, recipient: &str, limit: i64) -> Result<(Vec<Notification>, i64)> {
    let rows = sqlx::query(
        "SELECT id, number, status, created_at, read_at FROM notifications WHERE recipient = $1 \
         ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(recipient)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    let unread = sqlx::query(
        "SELECT COUNT(*) AS n FROM notifications WHERE recipient = $1 AND read_at IS NULL",
    )
    .bind(recipient)
    .fetch_one(db.reader())
    .await?;
    Ok((
        rows.iter().map(from_row).collect::<Result<_>>()?,
        int(&unread, "n")?,
    ))
}

/// Marks every notification of `recipient` read.
pub async fn mark_read(db: &Db, recipient: &str, at: Timestamp) -> Result<u64> {
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE notifications SET read_at = $1 WHERE recipient = $2 AND read_at IS NULL",
    )
    .bind(at.to_string())
    .bind(recipient)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// A message waiting to be sent.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
}

/// The oldest unsent messages.
pub async fn pending(db: &Db, limit: i64) -> Result<Vec<Outgoing>> {
    let rows = sqlx::query(
        "SELECT id, recipient, subject, body, created_at FROM outbox WHERE sent_at IS NULL \
         ORDER BY created_at, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    let keys = db.keyring()?;
    rows.iter()
        .map(|r| {
            let id = text(r, "id")?;
            Ok(Outgoing {
                body: keys.open(&body_context(&id), &text(r, "body")?)?,
                id,
                recipient: text(r, "recipient")?,
                subject: text(r, "subject")?,
                created_at: text(r, "created_at")?,
            })
        })
        .collect()
}

/// Records the outcome of sending `id`: sent (by `channel`, or `none` when the recipient has
/// no contact), or failed (tried again next time).
pub async fn settle(db: &Db, id: &str, channel: Option<&str>, at: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    match channel {
        Some(c) => {
            sqlx::query("UPDATE outbox SET sent_at = $1, channel = $2, attempts = attempts + 1 WHERE id = $3")
                .bind(at)
                .bind(c)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        None => {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
