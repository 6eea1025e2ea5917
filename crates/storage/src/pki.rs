//! Signing results so that anyone can check them with standard tools: the city runs a small
//! certificate authority, each agency gets an X.509 certificate from it (ECDSA P-256), and a
//! result is signed by its agency's key. `openssl verify -CAfile ca.pem agency.pem` checks
//! the certificate, `openssl dgst -sha256 -verify` the signature (DER, over the document's
//! exact bytes).
//!
//! Private keys are made on first use and kept sealed (PKCS#8 under the keyring, like
//! personal data); certificates and raw public keys are kept open.

use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::pki::{CertificateSerial, RevocationReason};
use sohoa_domain::services::application::ApplicationNumber;
use sohoa_domain::Timestamp;
use sohoa_sign::issue::{self, Authority, Issued, Profile, Subject};
use sqlx::any::AnyRow;

use crate::sealed::Keyring;
use crate::{audit, opt_text, parsed, stamp, text, Db, Result, StorageError, Tx};

/// The owner name of the city's certificate authority.
pub const CITY_CA: &str = "city-ca";
/// The owner name of the city's time-stamping authority (RFC 3161).
pub const CITY_TSA: &str = "city-tsa";

/// How long certificates are valid: agencies' and the authority's five years, the root twenty.
const SIGNER_YEARS: i64 = 5;
const ROOT_YEARS: i64 = 20;

/// A key with its certificate.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub owner: String,
    pub cert_pem: String,
    /// The raw (uncompressed point) public key, for verifying without parsing X.509.
    pub public_key_hex: String,
    key_pem: String,
}

fn pki_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("signing keys: {e}"))
}

fn context(owner: &str) -> String {
    format!("pki.key:{owner}")
}

/// A new root's subject. Its unit is a random tag, so that two cities running sohoa have
/// roots of different names: a relying party that trusts both (one city's portal, another's
/// signing service) must never take one's revocation list for the other's.
fn new_ca_subject() -> Result<Subject> {
    let tag = sohoa_sign::random::<4>().map_err(|_| pki_err("no randomness"))?;
    Ok(Subject {
        common_name: "sohoa City Signing CA".into(),
        organization: "Thành phố Hồ Chí Minh".into(),
        unit: Some(format!("sohoa-{}", hex::encode(tag))),
        identifier: None,
    })
}

/// The root's subject as its certificate holds it, so that what it issues names it exactly
/// (roots made before the tag have none).
fn subject_of(cert_pem: &str) -> Result<Subject> {
    let der = sohoa_sign::x509::pem_certificates(cert_pem)
        .into_iter()
        .next()
        .ok_or_else(|| pki_err("the root is not PEM"))?;
    let name = sohoa_sign::x509::Certificate::parse(&der)
        .map_err(pki_err)?
        .subject_name();
    Ok(Subject {
        common_name: name.common_name.unwrap_or_default(),
        organization: name.organization.unwrap_or_default(),
        unit: name.organizational_unit,
        identifier: name.identifier,
    })
}

/// The city CA with its subject, for issuing.
async fn ca(db: &Db) -> Result<(Subject, SigningKey)> {
    let key = city_ca(db).await?;
    Ok((subject_of(&key.cert_pem)?, key))
}

fn years(n: i64) -> time::Duration {
    time::Duration::days(365 * n)
}

fn from_row(r: &AnyRow) -> Result<(String, String, String, String)> {
    Ok((
        text(r, "owner")?,
        text(r, "cert_pem")?,
        text(r, "public_key")?,
        text(r, "key_sealed")?,
    ))
}

async fn load(db: &Db, owner: &str) -> Result<Option<SigningKey>> {
    let row = sqlx::query(
        "SELECT owner, cert_pem, public_key, key_sealed FROM signing_keys WHERE owner = $1",
    )
    .bind(owner)
    .fetch_optional(db.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (owner, cert_pem, public_key_hex, sealed) = from_row(&row)?;
    let key_pem = db.keyring()?.open(&context(&owner), &sealed)?;
    Ok(Some(SigningKey {
        owner,
        cert_pem,
        public_key_hex,
        key_pem,
    }))
}

/// The facts of a certificate kept beside it.
struct Facts {
    serial: String,
    not_after: Timestamp,
    public_key_hex: String,
}

fn facts(cert_pem: &str) -> Result<Facts> {
    let der = sohoa_sign::x509::pem_certificates(cert_pem)
        .into_iter()
        .next()
        .ok_or_else(|| pki_err("a certificate is not PEM"))?;
    let cert = sohoa_sign::x509::Certificate::parse(&der).map_err(pki_err)?;
    let not_after = Timestamp::from_datetime(cert.not_after);
    Ok(Facts {
        serial: cert.serial_hex(),
        not_after,
        public_key_hex: sohoa_sign::x509::public_key_hex(&der).map_err(pki_err)?,
    })
}

/// Stores a new key unless another server stored one first; returns the one kept. The
/// certificate joins the register in the same transaction.
async fn store(db: &Db, owner: &str, made: &Issued, keys: &Keyring) -> Result<SigningKey> {
    let sealed = keys.seal(&context(owner), &made.key_pem)?;
    let f = facts(&made.cert_pem)?;
    let now = crate::application::now().to_string();
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "INSERT INTO signing_keys (owner, cert_pem, public_key, key_sealed, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner) DO NOTHING",
    )
    .bind(owner)
    .bind(&made.cert_pem)
    .bind(&f.public_key_hex)
    .bind(&sealed)
    .bind(&now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n > 0 {
        register(&mut tx, owner, &made.cert_pem, &f, &now).await?;
        let record = AuditRecord::new("system", "pki.key_created", "signing_key", owner)
            .fields(["certificate"])
            .purpose(format!("certificate {}", f.serial));
        audit::append(&mut tx, &record).await?;
    }
    tx.commit().await?;
    load(db, owner)
        .await?
        .ok_or_else(|| pki_err("a key just stored is missing"))
}

async fn register(tx: &mut Tx, owner: &str, cert_pem: &str, f: &Facts, now: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO certificates (serial, owner, cert_pem, public_key, not_after, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (serial) DO NOTHING",
    )
    .bind(&f.serial)
    .bind(owner)
    .bind(cert_pem)
    .bind(&f.public_key_hex)
    .bind(f.not_after.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Registers a certificate issued outside the agencies' keys (a person's, for remote
/// signing) under `owner`, in `tx`; returns its serial.
pub async fn register_pem(tx: &mut Tx, owner: &str, cert_pem: &str) -> Result<String> {
    let f = facts(cert_pem)?;
    register(
        tx,
        owner,
        cert_pem,
        &f,
        &crate::application::now().to_string(),
    )
    .await?;
    Ok(f.serial)
}

/// The city CA's key and subject, for issuing a person's certificate.
pub async fn city_authority(db: &Db) -> Result<(Subject, SigningKey)> {
    ca(db).await
}

impl SigningKey {
    /// The key, PEM: for issuing with it (the city CA's), never for showing.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }
}

/// Puts certificates made before the register existed (migration 0032) into it; at start.
pub async fn register_existing(db: &Db) -> Result<u64> {
    let rows = sqlx::query(
        "SELECT k.owner, k.cert_pem, k.created_at FROM signing_keys k \
         WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.cert_pem = k.cert_pem)",
    )
    .fetch_all(db.reader())
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    for r in &rows {
        let pem = text(r, "cert_pem")?;
        register(
            &mut tx,
            &text(r, "owner")?,
            &pem,
            &facts(&pem)?,
            &text(r, "created_at")?,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// The city CA, made on first use.
pub async fn city_ca(db: &Db) -> Result<SigningKey> {
    if let Some(k) = load(db, CITY_CA).await? {
        return Ok(k);
    }
    let now = time::OffsetDateTime::now_utc();
    let made = issue::root(&new_ca_subject()?, years(ROOT_YEARS), now).map_err(pki_err)?;
    store(db, CITY_CA, &made, &*db.keyring()?).await
}

/// Whether a current key must be replaced: its certificate has ended, or ends within
/// `margin`, or was revoked.
async fn due(db: &Db, key: &SigningKey, margin: time::Duration) -> Result<bool> {
    let f = facts(&key.cert_pem)?;
    let limit = Timestamp::from_datetime(time::OffsetDateTime::now_utc() + margin);
    if f.not_after <= limit {
        return Ok(true);
    }
    let revoked = sqlx::query("SELECT revoked_at FROM certificates WHERE serial = $1")
        .bind(&f.serial)
        .fetch_optional(db.reader())
        .await?
        .map(|r| opt_text(&r, "revoked_at"))
        .transpose()?
        .flatten();
    Ok(revoked.is_some())
}

/// `owner`'s current key issued by the city CA, made (or replaced, when its certificate has
/// ended or was revoked) on use. `crl_url` goes into new certificates.
async fn issued_key(
    db: &Db,
    owner: &str,
    subject: Subject,
    profile: Profile,
    crl_url: Option<&str>,
) -> Result<SigningKey> {
    if let Some(k) = load(db, owner).await? {
        if !due(db, &k, time::Duration::ZERO).await? {
            return Ok(k);
        }
        retire(db, &k).await?;
    }
    let (ca_subject, ca) = ca(db).await?;
    let authority = Authority {
        subject: &ca_subject,
        key_pem: &ca.key_pem,
    };
    let now = time::OffsetDateTime::now_utc();
    let made = issue::issue(
        &authority,
        &subject,
        profile,
        years(SIGNER_YEARS),
        crl_url,
        now,
    )
    .map_err(pki_err)?;
    store(db, owner, &made, &*db.keyring()?).await
}

/// Stops using `key` (its certificate stays in the register); the next use makes another.
async fn retire(db: &Db, key: &SigningKey) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM signing_keys WHERE owner = $1 AND cert_pem = $2")
        .bind(&key.owner)
        .bind(&key.cert_pem)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// An agency's signing key and certificate (issued by the city CA), made on first use.
pub async fn agency_key(
    db: &Db,
    agency_code: &str,
    agency_name: &str,
    crl_url: Option<&str>,
) -> Result<SigningKey> {
    let subject = Subject {
        common_name: format!("{agency_code} result signing"),
        organization: agency_name.to_owned(),
        unit: Some(agency_code.to_owned()),
        identifier: None,
    };
    issued_key(db, agency_code, subject, Profile::Signer, crl_url).await
}

/// The time-stamping authority's key and certificate (critical extended key usage
/// timeStamping, RFC 3161 2.3), made on first use.
pub async fn tsa_key(db: &Db, crl_url: Option<&str>) -> Result<SigningKey> {
    let subject = Subject {
        common_name: "sohoa Time-Stamping Authority".into(),
        organization: "Thành phố Hồ Chí Minh".into(),
        unit: None,
        identifier: None,
    };
    issued_key(db, CITY_TSA, subject, Profile::TimeStamping, crl_url).await
}

impl SigningKey {
    /// An ECDSA P-256 / SHA-256 signature over `message`, DER-encoded (what `openssl dgst`
    /// verifies).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        issue::sign(&self.key_pem, message).map_err(pki_err)
    }

    /// Whether `signature` (DER) is this key's over `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        verifies_hex(&self.public_key_hex, message, signature)
    }

    /// The certificate, DER.
    pub fn cert_der(&self) -> Vec<u8> {
        sohoa_sign::x509::pem_certificates(&self.cert_pem)
            .into_iter()
            .next()
            .unwrap_or_default()
    }
}

fn verifies_hex(public_key_hex: &str, message: &[u8], signature: &[u8]) -> bool {
    hex::decode(public_key_hex).is_ok_and(|pk| {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, pk)
            .verify(message, signature)
            .is_ok()
    })
}

/// The certificate (PEM) of `owner` whose key made `signature` over `message`, current or
/// replaced since: a result keeps its signature when its agency's key is renewed.
pub async fn signed_by(
    db: &Db,
    owner: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<Option<String>> {
    let rows = sqlx::query(
        "SELECT cert_pem, public_key FROM certificates WHERE owner = $1 ORDER BY issued_at DESC",
    )
    .bind(owner)
    .fetch_all(db.reader())
    .await?;
    for r in rows {
        if verifies_hex(&text(&r, "public_key")?, message, signature) {
            return Ok(Some(text(&r, "cert_pem")?));
        }
    }
    Ok(None)
}

/// A certificate in the register.
#[derive(Debug, Clone)]
pub struct CertificateRecord {
    pub serial: CertificateSerial,
    pub owner: String,
    pub cert_pem: String,
    pub not_after: Timestamp,
    pub issued_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revocation_reason: Option<RevocationReason>,
    /// Whether it is its owner's key in use now.
    pub current: bool,
}

impl CertificateRecord {
    /// What it is now: `revoked`, `expired`, `current` (its owner's key in use) or
    /// `replaced` (by a newer certificate of its owner).
    pub fn state(&self) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.not_after <= Timestamp::now() {
            "expired"
        } else if self.current {
            "current"
        } else {
            "replaced"
        }
    }
}

const RECORD_COLUMNS: &str = "c.serial, c.owner, c.cert_pem, c.not_after, c.issued_at, \
     c.revoked_at, c.revocation_reason, \
     CASE WHEN k.owner IS NULL THEN 0 ELSE 1 END AS current";

fn record(r: &AnyRow) -> Result<CertificateRecord> {
    let revoked_at = opt_text(r, "revoked_at")?;
    let reason = opt_text(r, "revocation_reason")?;
    let current: i64 = sqlx::Row::try_get(r, "current")?;
    Ok(CertificateRecord {
        serial: parsed(r, "certificates", "serial", CertificateSerial::parse)?,
        owner: text(r, "owner")?,
        cert_pem: text(r, "cert_pem")?,
        not_after: parsed(r, "certificates", "not_after", stamp)?,
        issued_at: parsed(r, "certificates", "issued_at", stamp)?,
        revoked_at: revoked_at.as_deref().and_then(stamp),
        revocation_reason: reason.as_deref().and_then(RevocationReason::parse),
        current: current != 0,
    })
}

/// The register, newest first, a page at a time; with the total.
pub async fn certificates(
    db: &Db,
    page: sohoa_domain::paging::PageRequest,
) -> Result<(Vec<CertificateRecord>, i64)> {
    let rows = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM certificates c \
         LEFT JOIN signing_keys k ON k.owner = c.owner AND k.cert_pem = c.cert_pem \
         ORDER BY c.issued_at DESC, c.serial LIMIT $1 OFFSET $2"
    ))
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(db.reader())
    .await?;
    let total: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT COUNT(*) AS n FROM certificates")
            .fetch_one(db.reader())
            .await?,
        "n",
    )?;
    let items = rows.iter().map(record).collect::<Result<Vec<_>>>()?;
    Ok((items, total))
}

/// One certificate of the register.
pub async fn certificate(db: &Db, serial: &CertificateSerial) -> Result<Option<CertificateRecord>> {
    sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM certificates c \
         LEFT JOIN signing_keys k ON k.owner = c.owner AND k.cert_pem = c.cert_pem \
         WHERE c.serial = $1"
    ))
    .bind(serial.as_str())
    .fetch_optional(db.reader())
    .await?
    .as_ref()
    .map(record)
    .transpose()
}

/// Why a revocation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeRefusal {
    Unknown,
    AlreadyRevoked,
    /// The root cannot revoke itself: a new root is a new trust decision for everyone.
    Root,
}

/// Revokes the certificate `serial` and stops using its key (the owner's next signature
/// makes a new one); audited as `actor`'s act.
pub async fn revoke(
    db: &Db,
    serial: &CertificateSerial,
    reason: RevocationReason,
    actor: &str,
) -> Result<std::result::Result<CertificateRecord, RevokeRefusal>> {
    let Some(found) = certificate(db, serial).await? else {
        return Ok(Err(RevokeRefusal::Unknown));
    };
    if found.owner == CITY_CA {
        return Ok(Err(RevokeRefusal::Root));
    }
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE certificates SET revoked_at = $1, revocation_reason = $2, revoked_by = $3 \
         WHERE serial = $4 AND revoked_at IS NULL",
    )
    .bind(crate::application::now().to_string())
    .bind(reason.as_str())
    .bind(actor)
    .bind(serial.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(Err(RevokeRefusal::AlreadyRevoked));
    }
    sqlx::query("DELETE FROM signing_keys WHERE owner = $1 AND cert_pem = $2")
        .bind(&found.owner)
        .bind(&found.cert_pem)
        .execute(&mut *tx)
        .await?;
    let record = AuditRecord::new(actor, "pki.revoked", "certificate", serial.as_str())
        .purpose(format!("{} of {}", reason.as_str(), found.owner));
    audit::append(&mut tx, &record).await?;
    tx.commit().await?;
    Ok(certificate(db, serial).await?.ok_or(RevokeRefusal::Unknown))
}

/// The city CA's revocation list (DER), made now: every revoked certificate, numbered by
/// the time it is made so that numbers only grow, valid for `valid_for`.
pub async fn revocation_list(db: &Db, valid_for: time::Duration) -> Result<Vec<u8>> {
    let rows = sqlx::query(
        "SELECT serial, revoked_at, revocation_reason FROM certificates \
         WHERE revoked_at IS NOT NULL ORDER BY revoked_at",
    )
    .fetch_all(db.reader())
    .await?;
    let mut revoked = Vec::with_capacity(rows.len());
    for r in &rows {
        let at = parsed(r, "certificates", "revoked_at", stamp)?;
        revoked.push(issue::Revoked {
            serial: text(r, "serial")?,
            at: at.datetime(),
            key_compromise: opt_text(r, "revocation_reason")?.as_deref()
                == Some(RevocationReason::KeyCompromise.as_str()),
        });
    }
    let (subject, ca) = ca(db).await?;
    let now = time::OffsetDateTime::now_utc();
    let number = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    issue::revocation_list(
        &Authority {
            subject: &subject,
            key_pem: &ca.key_pem,
        },
        &revoked,
        number,
        now,
        now + valid_for,
    )
    .map_err(pki_err)
}

/// Replaces every current key (the root's aside) whose certificate ends within `margin`;
/// returns the owners renewed. Agencies' keys are made again on their next signature, the
/// authority's here.
pub async fn renew_expiring(
    db: &Db,
    margin: time::Duration,
    crl_url: Option<&str>,
) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT owner FROM signing_keys WHERE owner <> $1")
        .bind(CITY_CA)
        .fetch_all(db.reader())
        .await?;
    let mut renewed = Vec::new();
    for r in rows {
        let owner = text(&r, "owner")?;
        let Some(key) = load(db, &owner).await? else {
            continue;
        };
        if !due(db, &key, margin).await? {
            continue;
        }
        retire(db, &key).await?;
        if owner == CITY_TSA {
            tsa_key(db, crl_url).await?;
        } else if let Some(a) = match AgencyCode::parse(&owner) {
            Ok(code) => crate::agencies::get(db, &code).await?,
            Err(_) => None,
        } {
            agency_key(db, &owner, &a.name_vi, crl_url).await?;
        }
        renewed.push(owner);
    }
    Ok(renewed)
}

/// Makes the city CA and every agency's certificate that does not exist yet; returns the
/// CA certificate (PEM) and how many agencies hold one.
pub async fn init(db: &Db, crl_url: Option<&str>) -> Result<(String, usize)> {
    let ca = city_ca(db).await?;
    let mut n = 0;
    let mut page = 1;
    loop {
        let req = sohoa_domain::paging::PageRequest::parse(Some(page), Some(200))
            .map_err(|_| StorageError::Corrupt("paging".into()))?;
        let found = crate::agencies::list(db, None, None, req).await?;
        if found.items.is_empty() {
            break;
        }
        for a in &found.items {
            agency_key(db, a.code.as_str(), &a.name_vi, crl_url).await?;
            n += 1;
        }
        page += 1;
    }
    Ok((ca.cert_pem, n))
}

/// An existing key (for verifying), without making one.
pub async fn existing(db: &Db, owner: &str) -> Result<Option<SigningKey>> {
    load(db, owner).await
}

/// A signed result as kept.
#[derive(Debug, Clone)]
pub struct SignedResult {
    pub number: ApplicationNumber,
    /// The exact bytes signed (UTF-8 JSON).
    pub document: String,
    /// DER signature, base64.
    pub signature: String,
    /// The agency whose key signed it.
    pub signer: AgencyCode,
    pub issued_at: Timestamp,
}

/// Keeps a result in the transaction that issues it.
pub async fn save_result(tx: &mut Tx, r: &SignedResult) -> Result<()> {
    sqlx::query(
        "INSERT INTO results (number, document, signature, signer, issued_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(r.number.as_str())
    .bind(&r.document)
    .bind(&r.signature)
    .bind(r.signer.as_str())
    .bind(r.issued_at.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn result(db: &Db, number: &str) -> Result<Option<SignedResult>> {
    let row = sqlx::query(
        "SELECT number, document, signature, signer, issued_at FROM results WHERE number = $1",
    )
    .bind(number)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| {
        Ok(SignedResult {
            number: parsed(&r, "results", "number", ApplicationNumber::parse)?,
            document: text(&r, "document")?,
            signature: text(&r, "signature")?,
            signer: parsed(&r, "results", "signer", |a| AgencyCode::parse(a).ok())?,
            issued_at: parsed(&r, "results", "issued_at", stamp)?,
        })
    })
    .transpose()
}

/// Re-seals signing keys not under the keyring's first key (part of key rotation).
pub async fn reseal(db: &Db) -> Result<u64> {
    let keys = db.keyring()?;
    let rows = sqlx::query("SELECT owner, key_sealed FROM signing_keys")
        .fetch_all(db.reader())
        .await?;
    let mut changed = 0;
    let mut tx = db.begin().await?;
    for r in rows {
        let (owner, sealed) = (text(&r, "owner")?, text(&r, "key_sealed")?);
        if keys.is_current(&sealed) {
            continue;
        }
        let ctx = context(&owner);
        let resealed = keys.seal(&ctx, &keys.open(&ctx, &sealed)?)?;
        changed += sqlx::query(
            "UPDATE signing_keys SET key_sealed = $1 WHERE owner = $2 AND key_sealed = $3",
        )
        .bind(&resealed)
        .bind(&owner)
        .bind(&sealed)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(changed)
}
