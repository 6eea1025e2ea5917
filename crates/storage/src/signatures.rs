//! Applicants' signatures on their forms, as checked: only valid ones are kept.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::services::application::ApplicationNumber;
use sohoa_domain::Timestamp;
use sqlx::any::AnyRow;

use crate::{audit, opt_text, parsed, stamp, text, Db, Result, Tx};

/// How the applicant signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A PDF signed in the applicant's own tool, uploaded.
    Upload,
    /// Made through a remote signing service (CSC API).
    Remote,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Remote => "remote",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "upload" => Some(Self::Upload),
            "remote" => Some(Self::Remote),
            _ => None,
        }
    }
}

/// A valid signature on an application's form.
#[derive(Debug, Clone)]
pub struct FormSignature {
    pub number: ApplicationNumber,
    pub method: Method,
    /// The certificate's holder (common name).
    pub signer: String,
    /// The CCCD or tax code the certificate names.
    pub identifier: Option<String>,
    /// The certificate's serial, hex.
    pub serial: String,
    /// The root the certificate leads to (common name).
    pub issuer: String,
    pub cert_pem: String,
    /// The time-stamp's time when there is one, else when sohoa checked the signature.
    pub signed_at: Timestamp,
    pub time_stamped: bool,
    /// The signed PDF in the file store.
    pub sha256: String,
    pub size: i64,
    pub checked_at: Timestamp,
}

/// Keeps a checked signature with its audit entry; `false` when the form was signed already.
pub async fn add(tx: &mut Tx, s: &FormSignature, record: &AuditRecord) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO form_signatures (number, method, signer, identifier, serial, issuer, \
         cert_pem, signed_at, time_stamped, sha256, size, checked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (number) DO NOTHING",
    )
    .bind(s.number.as_str())
    .bind(s.method.as_str())
    .bind(&s.signer)
    .bind(s.identifier.as_deref())
    .bind(&s.serial)
    .bind(&s.issuer)
    .bind(&s.cert_pem)
    .bind(s.signed_at.to_string())
    .bind(i64::from(s.time_stamped))
    .bind(&s.sha256)
    .bind(s.size)
    .bind(s.checked_at.to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n > 0 {
        audit::append(tx, record).await?;
    }
    Ok(n > 0)
}

fn from_row(r: &AnyRow) -> Result<FormSignature> {
    let stamped: i64 = sqlx::Row::try_get(r, "time_stamped")?;
    Ok(FormSignature {
        number: parsed(r, "form_signatures", "number", ApplicationNumber::parse)?,
        method: parsed(r, "form_signatures", "method", Method::parse)?,
        signer: text(r, "signer")?,
        identifier: opt_text(r, "identifier")?,
        serial: text(r, "serial")?,
        issuer: text(r, "issuer")?,
        cert_pem: text(r, "cert_pem")?,
        signed_at: parsed(r, "form_signatures", "signed_at", stamp)?,
        time_stamped: stamped != 0,
        sha256: text(r, "sha256")?,
        size: sqlx::Row::try_get(r, "size")?,
        checked_at: parsed(r, "form_signatures", "checked_at", stamp)?,
    })
}

/// The signature on `number`'s form, if it was signed.
pub async fn of(db: &Db, number: &ApplicationNumber) -> Result<Option<FormSignature>> {
    sqlx::query(
        "SELECT number, method, signer, identifier, serial, issuer, cert_pem, signed_at, \
         time_stamped, sha256, size, checked_at FROM form_signatures WHERE number = $1",
    )
    .bind(number.as_str())
    .fetch_optional(db.reader())
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}
