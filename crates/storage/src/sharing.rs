//! Data consumers' API keys, agencies' grants and citizens' consents.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::sharing::{Consumer, Grant, Purpose, RegistryName};
use sohoa_domain::{CitizenId, TaxCode, Timestamp};
use sqlx::any::AnyRow;

use crate::{audit, int, opt_parsed, opt_text, parsed, stamp, text, Db, Result, StorageError, Tx};

/// Whose keys: agencies' or enterprises'. Each kind has its own table and token prefix, so
/// a key never has to be looked up in two places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Agency,
    Enterprise,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Agency => "agency",
            KeyKind::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [KeyKind::Agency, KeyKind::Enterprise]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// The table, and its column naming the owner.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            KeyKind::Agency => ("agency_keys", "agency_code"),
            KeyKind::Enterprise => ("enterprise_keys", "tax_code"),
        }
    }
}

/// A key as stored: whose it is (an agency's code or an enterprise's tax code) and the
/// digest of its secret.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub owner: String,
    pub secret_sha256: String,
    pub revoked: bool,
}

pub async fn create_key(
    tx: &mut Tx,
    kind: KeyKind,
    key_id: &str,
    owner: &str,
    secret_sha256: &str,
    record: AuditRecord,
) -> Result<()> {
    let (table, column) = kind.table();
    sqlx::query(&format!(
        "INSERT INTO {table} (key_id, {column}, secret_sha256, created_at) VALUES ($1, $2, $3, $4)"
    ))
    .bind(key_id)
    .bind(owner)
    .bind(secret_sha256)
    .bind(Timestamp::now().to_string())
    .execute(&mut **tx)
    .await?;
    audit::append(tx, &record).await?;
    Ok(())
}

pub async fn find_key(db: &Db, kind: KeyKind, key_id: &str) -> Result<Option<StoredKey>> {
    let (table, column) = kind.table();
    // An enterprise's key lives only while the enterprise trades: one suspended, being
    // dissolved, dissolved or bankrupt (or gone from the registry) reads nothing, through
    // its keys, its tokens or the consents citizens gave it.
    let trading = match kind {
        KeyKind::Agency => "'active'".to_owned(),
        KeyKind::Enterprise => {
            format!("(SELECT e.status FROM enterprises e WHERE e.tax_code = k.{column})")
        }
    };
    let row = sqlx::query(&format!(
        "SELECT k.{column} AS owner, k.secret_sha256, k.revoked_at, {trading} AS trading \
         FROM {table} k WHERE k.key_id = $1"
    ))
    .bind(key_id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| {
        let trading = opt_text(&r, "trading")?.is_some_and(|s| s == "active");
        Ok(StoredKey {
            owner: text(&r, "owner")?,
            secret_sha256: text(&r, "secret_sha256")?,
            revoked: opt_text(&r, "revoked_at")?.is_some() || !trading,
        })
    })
    .transpose()
}

/// An access token as stored: the key it was issued for, and until when it is good.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub kind: KeyKind,
    pub key_id: String,
    pub expires_at: Timestamp,
}

/// Stores an access token issued for a key, with its audit entry; forgets tokens that have
/// expired (a client takes a new one each hour, so they would otherwise pile up).
pub async fn create_token(
    tx: &mut Tx,
    token_sha256: &str,
    kind: KeyKind,
    key_id: &str,
    expires_at: Timestamp,
    record: AuditRecord,
) -> Result<()> {
    let now = Timestamp::now().to_string();
    sqlx::query("DELETE FROM consumer_tokens WHERE expires_at < $1")
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO consumer_tokens (token_sha256, kind, key_id, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_sha256)
        .bind(kind.as_str())
        .bind(key_id)
        .bind(&now)
        .bind(expires_at.to_string())
        .execute(&mut **tx)
        .await?;
    audit::append(tx, &record).await?;
    Ok(())
}

pub async fn find_token(db: &Db, token_sha256: &str) -> Result<Option<StoredToken>> {
    let row =
        sqlx::query("SELECT kind, key_id, expires_at FROM consumer_tokens WHERE token_sha256 = $1")
            .bind(token_sha256)
            .fetch_optional(db.reader())
            .await?;
    row.map(|r| {
        let kind = text(&r, "kind")?;
        Ok(StoredToken {
            kind: KeyKind::parse(&kind)
                .ok_or_else(|| StorageError::Corrupt(format!("token kind {kind}")))?,
            key_id: text(&r, "key_id")?,
            expires_at: parsed(&r, "consumer_tokens", "expires_at", stamp)?,
        })
    })
    .transpose()
}

/// Revokes a key of an agency or enterprise; false when there was no such live key.
pub async fn revoke_key(
    tx: &mut Tx,
    kind: KeyKind,
    owner: &str,
    key_id: &str,
    record: AuditRecord,
) -> Result<bool> {
    let (table, column) = kind.table();
    let n = sqlx::query(&format!("UPDATE {table} SET revoked_at = $1 WHERE key_id = $2 AND {column} = $3 AND revoked_at IS NULL"))
        .bind(Timestamp::now().to_string())
        .bind(key_id)
        .bind(owner)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n > 0 {
        audit::append(tx, &record).await?;
    }
    Ok(n > 0)
}

const GRANT_COLUMNS: &str =
    "grant_id, agency_code, registry, purpose, fields, legal_basis, created_at, revoked_at";

fn grant_from_row(row: &AnyRow) -> Result<Grant> {
    let id = int(row, "grant_id")?;
    let corrupt = |w: &str| StorageError::Corrupt(format!("grant {id}: {w}"));
    Ok(Grant {
        grant_id: id,
        agency_code: AgencyCode::parse(&text(row, "agency_code")?)
            .map_err(|_| corrupt("agency_code"))?,
        registry: RegistryName::parse(&text(row, "registry")?)
            .ok_or_else(|| corrupt("registry"))?,
        purpose: Purpose::parse(&text(row, "purpose")?).map_err(|_| corrupt("purpose"))?,
        fields: text(row, "fields")?.split(',').map(str::to_owned).collect(),
        legal_basis: text(row, "legal_basis")?,
        created_at: parsed(row, "grants", "created_at", stamp)?,
        revoked_at: opt_parsed(row, "grants", "revoked_at", stamp)?,
    })
}

/// A grant to be stored.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    pub agency_code: &'a str,
    pub registry: RegistryName,
    pub purpose: &'a Purpose,
    pub fields: &'a [&'static str],
    pub legal_basis: &'a str,
}

/// Stores a grant and its audit entry (`record` is completed with the grant's id, fields and
/// purpose); returns the grant.
pub async fn create_grant(tx: &mut Tx, new: &NewGrant<'_>, record: AuditRecord) -> Result<Grant> {
    let NewGrant {
        agency_code,
        registry,
        purpose,
        fields,
        legal_basis,
    } = *new;
    let row = sqlx::query(&format!(
        "INSERT INTO grants (agency_code, registry, purpose, fields, legal_basis, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {GRANT_COLUMNS}"
    ))
    .bind(agency_code)
    .bind(registry.as_str())
    .bind(purpose.as_str())
    .bind(fields.join(","))
    .bind(legal_basis)
    .bind(Timestamp::now().to_string())
    .fetch_one(&mut **tx)
    .await?;
    let grant = grant_from_row(&row)?;
    let mut record = record
        .fields(fields.iter().map(|f| format!("{}.{f}", registry.as_str())))
        .purpose(purpose.as_str());
    record.object_type = "grant".into();
    record.object_id = grant.grant_id.to_string();
    audit::append(tx, &record).await?;
    Ok(grant)
}

pub async fn grants_of(db: &Db, agency_code: &str) -> Result<Vec<Grant>> {
    let rows = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE agency_code = $1 ORDER BY grant_id"
    ))
    .bind(agency_code)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(grant_from_row).collect()
}

pub async fn grant(db: &Db, grant_id: i64) -> Result<Option<Grant>> {
    let row = sqlx::query(&format!(
        "SELECT {GRANT_COLUMNS} FROM grants WHERE grant_id = $1"
    ))
    .bind(grant_id)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(grant_from_row).transpose()
}

/// Revokes a grant; false when there was no such live grant.
pub async fn revoke_grant(tx: &mut Tx, grant_id: i64, record: AuditRecord) -> Result<bool> {
    let n =
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
            .bind(Timestamp::now().to_string())
            .bind(grant_id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    if n > 0 {
        audit::append(tx, &record).await?;
    }
    Ok(n > 0)
}

/// The fields an agency may read of a registry for a purpose: the union of its live
/// grants. Empty when it holds none.
pub async fn granted_fields(
    db: &Db,
    agency_code: &str,
    registry: RegistryName,
    purpose: &Purpose,
) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT fields FROM grants WHERE agency_code = $1 AND registry = $2 AND purpose = $3 AND revoked_at IS NULL")
        .bind(agency_code)
        .bind(registry.as_str())
        .bind(purpose.as_str())
        .fetch_all(db.reader())
        .await?;
    let mut fields: Vec<String> = Vec::new();
    for r in &rows {
        for f in text(r, "fields")?.split(',') {
            if !fields.iter().any(|x| x == f) {
                fields.push(f.to_owned());
            }
        }
    }
    Ok(fields)
}

/// A citizen's consent, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub consent_id: i64,
    pub citizen_id: CitizenId,
    /// Whom it lets read.
    pub grantee: Consumer,
    pub purpose: Purpose,
    pub fields: Vec<String>,
    pub one_off: bool,
    pub valid_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

const C: &str = "consents";

const CONSENT_COLUMNS: &str =
    "consent_id, citizen_id, agency_code, enterprise_tax_code, purpose, fields, one_off, valid_until, created_at, used_at, revoked_at";

fn consent_from_row(row: &AnyRow) -> Result<Consent> {
    let id = int(row, "consent_id")?;
    let corrupt = || StorageError::Corrupt(format!("consent {id}: grantee"));
    let grantee = match (
        opt_text(row, "agency_code")?,
        opt_text(row, "enterprise_tax_code")?,
    ) {
        (Some(a), None) => Consumer::Agency(AgencyCode::parse(&a).map_err(|_| corrupt())?),
        (None, Some(t)) => Consumer::Enterprise(TaxCode::parse(&t).map_err(|_| corrupt())?),
        _ => return Err(corrupt()),
    };
    Ok(Consent {
        consent_id: id,
        citizen_id: parsed(row, C, "citizen_id", |s| CitizenId::parse(s).ok())?,
        grantee,
        purpose: parsed(row, C, "purpose", |s| Purpose::parse(s).ok())?,
        fields: text(row, "fields")?.split(',').map(str::to_owned).collect(),
        one_off: int(row, "one_off")? == 1,
        valid_until: opt_parsed(row, C, "valid_until", stamp)?,
        created_at: parsed(row, C, "created_at", stamp)?,
        used_at: opt_parsed(row, C, "used_at", stamp)?,
        revoked_at: opt_parsed(row, C, "revoked_at", stamp)?,
    })
}

/// A consent to be stored.
#[derive(Debug, Clone)]
pub struct NewConsent<'a> {
    pub citizen_id: &'a str,
    pub grantee: &'a Consumer,
    pub purpose: &'a Purpose,
    pub fields: &'a [&'static str],
    pub one_off: bool,
    pub valid_until: Option<Timestamp>,
}

pub async fn create_consent(
    tx: &mut Tx,
    new: &NewConsent<'_>,
    record: AuditRecord,
) -> Result<Consent> {
    let row = sqlx::query(&format!(
        "INSERT INTO consents (citizen_id, agency_code, enterprise_tax_code, purpose, fields, one_off, valid_until, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {CONSENT_COLUMNS}"
    ))
    .bind(new.citizen_id)
    .bind(new.grantee.agency().map(AgencyCode::as_str))
    .bind(new.grantee.enterprise().map(TaxCode::as_str))
    .bind(new.purpose.as_str())
    .bind(new.fields.join(","))
    .bind(i64::from(new.one_off))
    .bind(new.valid_until.map(|t| t.to_string()))
    .bind(Timestamp::now().to_string())
    .fetch_one(&mut **tx)
    .await?;
    let consent = consent_from_row(&row)?;
    audit::append(
        tx,
        &record
            .fields(new.fields.iter().copied())
            .purpose(new.purpose.as_str()),
    )
    .await?;
    Ok(consent)
}

pub async fn consents_of(db: &Db, citizen_id: &str) -> Result<Vec<Consent>> {
    let rows = sqlx::query(&format!(
        "SELECT {CONSENT_COLUMNS} FROM consents WHERE citizen_id = $1 ORDER BY consent_id DESC"
    ))
    .bind(citizen_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(consent_from_row).collect()
}

/// Revokes one of a citizen's own consents; false when it is not theirs or not live.
pub async fn revoke_consent(
    tx: &mut Tx,
    citizen_id: &str,
    consent_id: i64,
    record: AuditRecord,
) -> Result<bool> {
    let n = sqlx::query("UPDATE consents SET revoked_at = $1 WHERE consent_id = $2 AND citizen_id = $3 AND revoked_at IS NULL")
        .bind(Timestamp::now().to_string())
        .bind(consent_id)
        .bind(citizen_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n > 0 {
        audit::append(tx, &record).await?;
    }
    Ok(n > 0)
}

/// Consents in force at `now` for this citizen, grantee and purpose: not revoked, not
/// expired, and, if one-off, not used. Never cached, so a revocation takes effect on the next
/// request.
pub async fn live_consents(
    db: &Db,
    citizen_id: &str,
    grantee: &Consumer,
    purpose: &Purpose,
    now: Timestamp,
) -> Result<Vec<Consent>> {
    let column = match grantee {
        Consumer::Agency(_) => "agency_code",
        Consumer::Enterprise(_) => "enterprise_tax_code",
    };
    let rows = sqlx::query(&format!(
        "SELECT {CONSENT_COLUMNS} FROM consents WHERE citizen_id = $1 AND {column} = $2 AND purpose = $3 \
         AND revoked_at IS NULL AND used_at IS NULL AND (valid_until IS NULL OR valid_until > $4) ORDER BY consent_id"
    ))
    .bind(citizen_id)
    .bind(grantee.code())
    .bind(purpose.as_str())
    .bind(now.to_string())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(consent_from_row).collect()
}

/// Spends the one-off consents a read relies on and writes the read's audit entry, in one
/// transaction: a consent is spent exactly when the read it allowed is recorded. False
/// (nothing written) when another read spent one of them first, or it was revoked.
pub async fn use_consents(db: &Db, consent_ids: &[i64], record: &AuditRecord) -> Result<bool> {
    let mut tx = db.begin().await?;
    let now = Timestamp::now().to_string();
    for id in consent_ids {
        let n = sqlx::query(
            "UPDATE consents SET used_at = $1 WHERE consent_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            // Spent or revoked meanwhile: nothing of this read happens (dropping `tx` rolls
            // back the consents spent before it).
            return Ok(false);
        }
    }
    audit::append(&mut tx, record).await?;
    tx.commit().await?;
    Ok(true)
}
