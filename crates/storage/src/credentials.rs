//! Remote signing credentials (sohoa's own CSC provider): people's keys, wrapped under their
//! password and sealed under the keyring, and the short-lived authorizations that unlock one.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::pki::CertificateSerial;
use sohoa_domain::{CitizenId, Timestamp};

use crate::{audit, opt_text, parsed, stamp, text, Db, Result, Tx};

/// A credential as the service lists it.
#[derive(Debug, Clone)]
pub struct Credential {
    pub id: String,
    pub citizen: CitizenId,
    pub serial: CertificateSerial,
    pub cert_pem: String,
    /// Revoked certificates sign nothing.
    pub revoked: bool,
    pub not_after: Timestamp,
    /// Wrapped under the holder's password (opened from the keyring's seal).
    pub key_wrapped: String,
    pub created_at: Timestamp,
}

fn context(id: &str) -> String {
    format!("csc.key:{id}")
}

/// Keeps a new credential and registers its certificate, in one transaction.
pub async fn add(
    db: &Db,
    id: &str,
    citizen: &CitizenId,
    cert_pem: &str,
    key_wrapped: &str,
) -> Result<()> {
    let sealed = db.keyring()?.seal(&context(id), key_wrapped)?;
    let mut tx = db.begin().await?;
    let serial = crate::pki::register_pem(&mut tx, &format!("citizen:{citizen}"), cert_pem).await?;
    sqlx::query(
        "INSERT INTO signing_credentials (id, citizen_id, serial, key_wrapped, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(citizen.as_str())
    .bind(&serial)
    .bind(&sealed)
    .bind(Timestamp::now().to_string())
    .execute(&mut *tx)
    .await?;
    let record = AuditRecord::new(
        format!("citizen:{citizen}"),
        "csc.credential_created",
        "signing_credential",
        id,
    )
    .purpose(format!("certificate {serial}"));
    audit::append(&mut tx, &record).await?;
    tx.commit().await?;
    Ok(())
}

const COLUMNS: &str = "s.id, s.citizen_id, s.serial, s.key_wrapped, s.created_at, c.cert_pem, \
     c.not_after, c.revoked_at";

fn from_row(db: &Db, r: &sqlx::any::AnyRow) -> Result<Credential> {
    let id = text(r, "id")?;
    let key_wrapped = db
        .keyring()?
        .open(&context(&id), &text(r, "key_wrapped")?)?;
    Ok(Credential {
        citizen: parsed(r, "signing_credentials", "citizen_id", |s| {
            CitizenId::parse(s).ok()
        })?,
        serial: parsed(r, "signing_credentials", "serial", CertificateSerial::parse)?,
        cert_pem: text(r, "cert_pem")?,
        revoked: opt_text(r, "revoked_at")?.is_some(),
        not_after: parsed(r, "certificates", "not_after", stamp)?,
        created_at: parsed(r, "signing_credentials", "created_at", stamp)?,
        key_wrapped,
        id,
    })
}

/// A person's credentials, newest first.
pub async fn of_citizen(db: &Db, citizen: &CitizenId) -> Result<Vec<Credential>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signing_credentials s JOIN certificates c ON c.serial = s.serial \
         WHERE s.citizen_id = $1 ORDER BY s.created_at DESC, s.id"
    ))
    .bind(citizen.as_str())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(|r| from_row(db, r)).collect()
}

/// One credential.
pub async fn get(db: &Db, id: &str) -> Result<Option<Credential>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM signing_credentials s JOIN certificates c ON c.serial = s.serial \
         WHERE s.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.reader())
    .await?
    .map(|r| from_row(db, &r))
    .transpose()
}

fn sad_context(digest: &str) -> String {
    format!("csc.sad:{digest}")
}

/// Keeps an authorization: the SAD's digest, the hashes it allows, the unlocked key
/// (sealed), until `expires_at`.
pub async fn authorize(
    db: &Db,
    sad_digest: &str,
    credential: &str,
    hashes: &[String],
    key: &str,
    expires_at: Timestamp,
) -> Result<()> {
    let sealed = db.keyring()?.seal(&sad_context(sad_digest), key)?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO csc_authorizations (sad_digest, credential_id, hashes, key_sealed, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sad_digest)
    .bind(credential)
    .bind(hashes.join(","))
    .bind(&sealed)
    .bind(expires_at.to_string())
    .execute(&mut *tx)
    .await?;
    // Spent and expired authorizations are forgotten as new ones come.
    sqlx::query("DELETE FROM csc_authorizations WHERE expires_at < $1")
        .bind(Timestamp::now().to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Spends the authorization `sad_digest` for `credential` if it is unexpired, unspent and
/// allows every one of `hashes`; returns the key it unlocked. Spent in `tx`.
pub async fn spend(
    tx: &mut Tx,
    db: &Db,
    sad_digest: &str,
    credential: &str,
    hashes: &[String],
) -> Result<Option<String>> {
    let now = Timestamp::now().to_string();
    let row = sqlx::query(
        "UPDATE csc_authorizations SET used_at = $1 WHERE sad_digest = $2 AND credential_id = $3 \
         AND used_at IS NULL AND expires_at > $1 RETURNING hashes, key_sealed",
    )
    .bind(&now)
    .bind(sad_digest)
    .bind(credential)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let allowed: Vec<String> = text(&row, "hashes")?
        .split(',')
        .map(str::to_owned)
        .collect();
    // Hashes it did not allow: the authorization is spent all the same (by the caller's
    // commit), as a misused one should be.
    if !hashes.iter().all(|h| allowed.contains(h)) {
        return Ok(None);
    }
    Ok(Some(db.keyring()?.open(
        &sad_context(sad_digest),
        &text(&row, "key_sealed")?,
    )?))
}
