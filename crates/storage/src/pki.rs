//! Signing results so that anyone can check them with standard tools: the city runs a small
//! certificate authority, each agency gets an X.509 certificate from it (ECDSA P-256), and a
//! result is signed by its agency's key. `openssl verify -CAfile ca.pem agency.pem` checks
//! the certificate, `openssl dgst -sha256 -verify` the signature (DER, over the document's
//! exact bytes).
//!
//! Private keys are made on first use and kept sealed (PKCS#8 under the keyring, like
//! personal data); certificates and raw public keys are kept open.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use ring::signature::{
    EcdsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING,
};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::services::application::ApplicationNumber;
use sohoa_domain::Timestamp;
use sqlx::any::AnyRow;

use crate::sealed::Keyring;
use crate::{audit, parsed, stamp, text, Db, Result, StorageError, Tx};

/// The owner name of the city's certificate authority.
pub const CITY_CA: &str = "city-ca";

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

/// The CA's subject: the same every time, so an issuer can be rebuilt from the stored key.
fn ca_params() -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(pki_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "VN");
    dn.push(DnType::OrganizationName, "Thành phố Hồ Chí Minh");
    dn.push(DnType::CommonName, "sohoa City Signing CA");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut p, 20);
    Ok(p)
}

fn validity(p: &mut CertificateParams, years: i64) {
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(365 * years);
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

/// Stores a new key unless another server stored one first; returns the one kept.
async fn store(db: &Db, key: &SigningKey, keys: &Keyring) -> Result<SigningKey> {
    let sealed = keys.seal(&context(&key.owner), &key.key_pem)?;
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "INSERT INTO signing_keys (owner, cert_pem, public_key, key_sealed, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner) DO NOTHING",
    )
    .bind(&key.owner)
    .bind(&key.cert_pem)
    .bind(&key.public_key_hex)
    .bind(&sealed)
    .bind(crate::application::now().to_string())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n > 0 {
        let record = AuditRecord::new("system", "pki.key_created", "signing_key", &key.owner)
            .fields(["certificate"]);
        audit::append(&mut tx, &record).await?;
    }
    tx.commit().await?;
    load(db, &key.owner)
        .await?
        .ok_or_else(|| pki_err("a key just stored is missing"))
}

/// The city CA, made on first use.
pub async fn city_ca(db: &Db) -> Result<SigningKey> {
    if let Some(k) = load(db, CITY_CA).await? {
        return Ok(k);
    }
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki_err)?;
    let cert = ca_params()?.self_signed(&key).map_err(pki_err)?;
    let made = SigningKey {
        owner: CITY_CA.into(),
        cert_pem: cert.pem(),
        public_key_hex: hex::encode(key.public_key_raw()),
        key_pem: key.serialize_pem(),
    };
    store(db, &made, &*db.keyring()?).await
}

/// An agency's signing key and certificate (issued by the city CA), made on first use.
pub async fn agency_key(db: &Db, agency_code: &str, agency_name: &str) -> Result<SigningKey> {
    if let Some(k) = load(db, agency_code).await? {
        return Ok(k);
    }
    let ca = city_ca(db).await?;
    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(pki_err)?;
    let issuer = Issuer::new(ca_params()?, ca_key);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(pki_err)?;
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(pki_err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "VN");
    dn.push(DnType::OrganizationName, agency_name);
    dn.push(DnType::OrganizationalUnitName, agency_code);
    dn.push(DnType::CommonName, format!("{agency_code} result signing"));
    p.distinguished_name = dn;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    p.use_authority_key_identifier_extension = true;
    validity(&mut p, 5);
    let cert = p.signed_by(&key, &issuer).map_err(pki_err)?;
    let made = SigningKey {
        owner: agency_code.into(),
        cert_pem: cert.pem(),
        public_key_hex: hex::encode(key.public_key_raw()),
        key_pem: key.serialize_pem(),
    };
    store(db, &made, &*db.keyring()?).await
}

impl SigningKey {
    /// An ECDSA P-256 / SHA-256 signature over `message`, DER-encoded (what `openssl dgst`
    /// verifies).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let der = KeyPair::from_pem(&self.key_pem)
            .map_err(pki_err)?
            .serialize_der();
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der, &rng)
            .map_err(pki_err)?;
        Ok(pair.sign(&rng, message).map_err(pki_err)?.as_ref().to_vec())
    }

    /// Whether `signature` (DER) is this key's over `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        hex::decode(&self.public_key_hex).is_ok_and(|pk| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, pk)
                .verify(message, signature)
                .is_ok()
        })
    }
}

/// Makes the city CA and every agency's certificate that does not exist yet; returns the
/// CA certificate (PEM) and how many agencies hold one.
pub async fn init(db: &Db) -> Result<(String, usize)> {
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
            agency_key(db, a.code.as_str(), &a.name_vi).await?;
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
