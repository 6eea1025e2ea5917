//! Notifications of every status change: a row in the applicant's in-app inbox and a
//! message to send, a job of kind [`SEND`], both written in the transaction that changes the
//! status, so none is lost and none announces a change that did not happen. The job's
//! handler (`crates/sohoa/src/notify.rs`) looks the contact up when it sends, so no address
//! is copied out of the sealed registry.

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
    let mut messages = Vec::with_capacity(changes.len());
    for c in changes {
        let (vi, en) = c.status.names();
        let number = c.number;
        let message = Outgoing {
            recipient: c.applicant.to_owned(),
            subject: format!("Hồ sơ {number}: {vi} / Application {number}: {en}"),
            body: format!(
                "Hồ sơ {number} của bạn đã chuyển sang trạng thái: {vi}.\nYour application {number} is now: {en}.\n"
            ),
        };
        messages.push((crate::time_ordered_id("out")?, message.payload(None)?));
    }
    crate::jobs::enqueue_many(tx, SEND, &messages, SEND_ATTEMPTS).await
}

/// The kind of the jobs that send a message to a citizen.
pub const SEND: &str = "notification.send";
/// A message whose sending keeps failing (its gateway is down for a day) is dead after this
/// many tries, and an administrator tries it again (`sohoa jobs retry`).
pub const SEND_ATTEMPTS: i64 = 12;

/// The sealing context of a message's body: its job's id (the outbox's, for messages
/// written before the job table).
fn body_context(id: &str) -> String {
    format!("outbox.body:{id}")
}

/// One message for `recipient` (a citizen's id), sent to the contact the registry holds
/// when its job runs. The body may carry a secret (an activation code): it is sealed like
/// personal data, so the database holds no code a reader could use.
pub async fn enqueue(
    tx: &mut Tx,
    keys: &crate::sealed::Keyring,
    recipient: &str,
    subject: &str,
    body: &str,
) -> Result<()> {
    let id = crate::time_ordered_id("out")?;
    let message = Outgoing {
        recipient: recipient.to_owned(),
        subject: subject.to_owned(),
        body: body.to_owned(),
    };
    let payload = message.payload(Some((keys, &id)))?;
    crate::jobs::enqueue_many(tx, SEND, &[(id, payload)], SEND_ATTEMPTS).await
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

/// A message to send: a [`SEND`] job's payload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outgoing {
    /// A citizen's id.
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

impl Outgoing {
    /// As a job's payload; the body sealed for the job `id` when `seal` is given.
    fn payload(mut self, seal: Option<(&crate::sealed::Keyring, &str)>) -> Result<String> {
        if let Some((keys, id)) = seal {
            self.body = keys.seal(&body_context(id), &self.body)?;
        }
        serde_json::to_string(&self).map_err(|e| crate::StorageError::Corrupt(e.to_string()))
    }

    /// The message a [`SEND`] job carries, its body opened; `None` when the payload is not
    /// a message (a job that can never be sent).
    pub fn of_job(db: &Db, job: &crate::jobs::Job) -> Result<Option<Self>> {
        let Ok(mut m) = serde_json::from_str::<Outgoing>(&job.payload) else {
            return Ok(None);
        };
        m.body = db.keyring()?.open(&body_context(&job.id), &m.body)?;
        Ok(Some(m))
    }
}
