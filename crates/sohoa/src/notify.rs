//! The outbox's sender: each message becomes an email (to the citizen's address in the
//! registry) or, without one, a text message (to their phone), written as files into a
//! directory that an SMTP relay or SMS gateway picks up — or that a person reads. A message
//! is marked sent only after its file is durable, so a crash sends it again rather than never.

use std::io::Write;
use std::path::Path;

use sohoa_domain::CitizenId;
use sohoa_storage::{notifications, registry, Db, StorageError};

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

/// Sends everything pending, oldest first.
pub async fn drain(db: &Db, dir: &Path) -> Result<Sent, StorageError> {
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut sent = Sent::default();
    loop {
        let batch = notifications::pending(db, 500).await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        for m in batch {
            let contact = match CitizenId::parse(&m.recipient) {
                Ok(id) => registry::citizens::get(db, &id).await?,
                Err(_) => None,
            };
            let now = sohoa_domain::Timestamp::now().to_string();
            let (email, phone) = contact
                .map(|c| (c.citizen.email, c.citizen.phone))
                .unwrap_or_default();
            let channel = if let Some(to) = email {
                let eml = format!(
                    "From: sohoa <no-reply@sohoa.invalid>\r\nTo: <{to}>\r\nSubject: {}\r\n\
                     Date: {}\r\nMessage-ID: <{}@sohoa.invalid>\r\nMIME-Version: 1.0\r\n\
                     Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
                    encoded_word(&m.subject),
                    m.created_at,
                    m.id,
                    m.body.replace('\n', "\r\n"),
                );
                write_durably(dir, &format!("{}.eml", m.id), &eml)?;
                sent.emails += 1;
                "email"
            } else if let Some(to) = phone {
                write_durably(
                    dir,
                    &format!("{}.sms", m.id),
                    &format!("To: {to}\n\n{}", m.body),
                )?;
                sent.sms += 1;
                "sms"
            } else {
                sent.no_contact += 1;
                "none"
            };
            notifications::settle(db, &m.id, Some(channel), &now).await?;
        }
    }
}
