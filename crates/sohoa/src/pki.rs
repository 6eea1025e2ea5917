//! `sohoa pki`: the city's certificates as its administrators steer them from a shell.

use sohoa_domain::paging::PageRequest;
use sohoa_domain::pki::RevocationReason;
use sohoa_storage::pki::{self, CertificateRecord, RevokeRefusal};
use sohoa_storage::{Db, StorageError};

/// The revocation-list address certificates made now will name.
pub fn crl_url(public_url: Option<&str>) -> Option<String> {
    public_url.map(|u| {
        format!(
            "{}{}",
            u.trim_end_matches('/'),
            sohoa_app::signatures::CRL_PATH
        )
    })
}

/// Every certificate, newest first, one line each.
pub async fn list(db: &Db) -> Result<String, StorageError> {
    let mut out = String::new();
    let mut page = 1;
    while let Ok(req) = PageRequest::parse(Some(page), Some(200)) {
        let (items, total) = pki::certificates(db, req).await?;
        for c in &items {
            out.push_str(&format!(
                "{:<40} {:<16} {:<8} issued {} until {}{}\n",
                c.serial,
                c.owner,
                c.state(),
                c.issued_at,
                c.not_after,
                c.revocation_reason
                    .map(|r| format!(" ({})", r.as_str()))
                    .unwrap_or_default()
            ));
        }
        if items.is_empty() || i64::from(page) * 200 >= total {
            break;
        }
        page += 1;
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0:?} is not a certificate serial number (hex, as `sohoa pki list` prints it)")]
    Serial(String),
    #[error("no certificate {0} in the register")]
    Unknown(String),
    #[error("certificate {0} is revoked already")]
    Already(String),
    #[error(
        "{0} is the city's root: issue a new root instead (every relying party must trust it anew)"
    )]
    Root(String),
}

/// Revokes a certificate as the operator.
pub async fn revoke(
    db: &Db,
    serial: &str,
    reason: RevocationReason,
) -> Result<CertificateRecord, RevokeError> {
    let s = sohoa_domain::pki::CertificateSerial::parse(serial)
        .ok_or_else(|| RevokeError::Serial(serial.to_owned()))?;
    match pki::revoke(db, &s, reason, "operator:cli").await? {
        Ok(r) => Ok(r),
        Err(RevokeRefusal::Unknown) => Err(RevokeError::Unknown(s.to_string())),
        Err(RevokeRefusal::AlreadyRevoked) => Err(RevokeError::Already(s.to_string())),
        Err(RevokeRefusal::Root) => Err(RevokeError::Root(s.to_string())),
    }
}
