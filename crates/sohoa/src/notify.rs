//! The sender of citizens' messages, the `notification.send` jobs: each message becomes an
//! email (to the citizen's address in the registry) or, without one, a text message (to
//! their phone), written as files into a directory that an SMTP relay or SMS gateway picks
//! up — or that a person reads. A job is done only after its file is durable, so a crash
//! sends it again rather than never.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sohoa_app::jobs::{JobError, Kind, Worker};
use sohoa_domain::CitizenId;
use sohoa_storage::jobs::Job;
use sohoa_storage::notifications::{self, Outgoing};
use sohoa_storage::{registry, Db, StorageError};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub emails: u64,
    pub sms: u64,
    /// Recipients the registry has no contact for.
    pub no_contact: u64,
}

fn io(e: std::io::Error) -> StorageError {
    StorageError::Corrupt(format!("outbox directory: {e}"))
}

/// RFC 2047 for a UTF-8 header value.
fn encoded_word(s: &str) -> String {
    use base64::Engine;
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
    )
}

fn write_durably(dir: &Path, name: &str, content: &str) -> Result<(), StorageError> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(content.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, dir.join(name)).map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)
}

/// Where a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Email,
    Sms,
    NoContact,
}

/// Sends one message: an email when the registry has the recipient's address, else a text
/// message to their phone, else nothing (there is no one to send it to). The file is named
/// after the job, so a job run twice (its worker died before recording the outcome)
/// writes the same file again, not a second message.
async fn send(db: &Db, dir: &Path, job: &Job, m: &Outgoing) -> Result<Channel, StorageError> {
    let contact = match CitizenId::parse(&m.recipient) {
        Ok(id) => registry::citizens::get(db, &id).await?,
        Err(_) => None,
    };
    let (email, phone) = contact
        .map(|c| (c.citizen.email, c.citizen.phone))
        .unwrap_or_default();
    if let Some(to) = email {
        let eml = format!(
            "From: sohoa <no-reply@sohoa.invalid>\r\nTo: <{to}>\r\nSubject: {}\r\n\
             Date: {}\r\nMessage-ID: <{}@sohoa.invalid>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
            encoded_word(&m.subject),
            job.created_at,
            job.id,
            m.body.replace('\n', "\r\n"),
        );
        write_durably(dir, &format!("{}.eml", job.id), &eml)?;
        Ok(Channel::Email)
    } else if let Some(to) = phone {
        write_durably(
            dir,
            &format!("{}.sms", job.id),
            &format!("To: {to}\n\n{}", m.body),
        )?;
        Ok(Channel::Sms)
    } else {
        Ok(Channel::NoContact)
    }
}

/// What the sender did, counted as its jobs end.
#[derive(Debug, Default)]
pub struct Counters {
    emails: std::sync::atomic::AtomicU64,
    sms: std::sync::atomic::AtomicU64,
    no_contact: std::sync::atomic::AtomicU64,
}

impl Counters {
    pub fn sent(&self) -> Sent {
        use std::sync::atomic::Ordering::Relaxed;
        Sent {
            emails: self.emails.load(Relaxed),
            sms: self.sms.load(Relaxed),
            no_contact: self.no_contact.load(Relaxed),
        }
    }
}

/// The kind of job that sends a citizen's message into `dir`, counting into `counters`.
/// A payload that is not a message can never be sent: dead at once, with the reason; a
/// failure to write is tried again later.
pub fn kind(db: Db, dir: PathBuf, counters: Arc<Counters>) -> Kind {
    Kind::new(notifications::SEND, move |job, _lease| {
        let (db, dir, counters) = (db.clone(), dir.clone(), counters.clone());
        async move {
            use std::sync::atomic::Ordering::Relaxed;
            let m = Outgoing::of_job(&db, &job)
                .map_err(|e| JobError::Retry(e.to_string()))?
                .ok_or_else(|| JobError::Permanent("the payload is not a message".into()))?;
            std::fs::create_dir_all(&dir).map_err(|e| JobError::Retry(io(e).to_string()))?;
            let channel = send(&db, &dir, &job, &m)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            let counter = match channel {
                Channel::Email => &counters.emails,
                Channel::Sms => &counters.sms,
                Channel::NoContact => &counters.no_contact,
            };
            counter.fetch_add(1, Relaxed);
            Ok(())
        }
    })
    .max_running(2)
    .max_attempts(notifications::SEND_ATTEMPTS)
}

/// Sends every message that is due now (`sohoa notify`): runs the sending jobs here until
/// none is due. A server that sends too takes its share; each message is sent once.
pub async fn drain(db: &Db, dir: &Path) -> Result<Sent, StorageError> {
    std::fs::create_dir_all(dir).map_err(io)?;
    let counters = Arc::new(Counters::default());
    let worker = Worker::new(
        db.clone(),
        vec![kind(db.clone(), dir.to_owned(), counters.clone())],
    )
    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
    loop {
        let ran = worker
            .run_due()
            .await
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        if ran == 0 {
            return Ok(counters.sent());
        }
    }
}
