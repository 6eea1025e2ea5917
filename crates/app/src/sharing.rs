//! Once-only sharing: agencies' keys and grants, enterprises' keys (administrators), the
//! access tokens systems trade their keys for, and the share use case data consumers call.
//! Every read of personal data, granted or denied, is in the audit log before the answer
//! leaves.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::{AuditRecord, Outcome};
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::sharing::{parse_fields, Consumer, Grant, Purpose, RegistryName, SharingError};
use sohoa_domain::{CitizenId, TaxCode};
use sohoa_storage::registry::{citizens, enterprises, parcels};
use sohoa_storage::sharing::{self as store, Consent, KeyKind};
use sohoa_storage::{agencies, StorageError};

use crate::identity::{self, key_prefix, token_digest};
use crate::{authorize, Acting, App, Error, Kind, Result};

/// How long an access token is good for.
pub const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

fn random_hex<const N: usize>() -> Result<String> {
    Ok(hex::encode(crate::random_bytes::<N>()?))
}

/// Parses field names of a registry; the error (of `kind`) names the first unknown one.
pub fn field_list<S: AsRef<str>>(
    registry: RegistryName,
    names: &[S],
    kind: Kind,
) -> Result<Vec<&'static str>> {
    parse_fields(registry, names).map_err(|e| {
        let name = match e {
            SharingError::UnknownField(i) => names.get(i).map_or("", AsRef::as_ref),
            _ => "",
        };
        Error::new(kind, "invalid_field")
            .arg("field", name)
            .field("fields")
    })
}

/// The agency, when it exists.
async fn existing_agency(app: &App, code: &str) -> Result<AgencyCode> {
    let code = AgencyCode::parse(code)
        .map_err(|_| Error::bad_request("invalid_agency_code").field("code"))?;
    if agencies::get(&app.db, &code).await?.is_none() {
        return Err(Error::not_found("agency_not_found"));
    }
    Ok(code)
}

/// The agency whose access the caller manages: it exists and they may.
async fn managed_agency(app: &App, who: &Principal, agency: &str) -> Result<AgencyCode> {
    let code = existing_agency(app, agency).await?;
    authorize(who, Action::ManageAgencyAccess, &Target::agency(&code))?;
    Ok(code)
}

/// Why an enterprise may not hold keys or be named in a consent (an error code), or `None`
/// when it may: it is in the registry and still trading.
pub async fn enterprise_refusal(app: &App, tax_code: &TaxCode) -> Result<Option<&'static str>> {
    Ok(match enterprises::get(&app.db, tax_code).await? {
        None => Some("enterprise_not_found"),
        Some(e) if e.enterprise.status != "active" => Some("enterprise_not_trading"),
        Some(_) => None,
    })
}

/// A key just issued: shown this once, only its digest is kept.
#[derive(Debug)]
pub struct NewKey {
    /// Public identifier of the key, for revoking it.
    pub key_id: String,
    /// The key itself: `<prefix><key_id>_<secret>`.
    pub api_key: String,
}

/// Makes a key for an agency or enterprise, stores its digest with the audit entry that
/// `record` makes of the key's id.
async fn issue_key(
    app: &App,
    kind: KeyKind,
    owner: &str,
    record: impl FnOnce(&str) -> AuditRecord,
) -> Result<NewKey> {
    let key_id = random_hex::<8>()?;
    let secret = random_hex::<32>()?;
    let digest = hex::encode(token_digest(&secret));
    let record = record(&key_id);
    let mut tx = app.db.begin().await?;
    store::create_key(&mut tx, kind, &key_id, owner, &digest, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    let api_key = format!("{}{key_id}_{secret}", key_prefix(kind));
    Ok(NewKey { key_id, api_key })
}

/// Issues an API key to an agency (administrators).
pub async fn issue_agency_key(app: &App, who: Acting<'_>, agency: &str) -> Result<NewKey> {
    let code = managed_agency(app, who.principal, agency).await?;
    let record = |key_id: &str| {
        AuditRecord::new(who.actor(), "agency_key.create", "agency_key", key_id)
            .actor_unit(Some(code.to_string()))
            .client_addr(who.addr())
    };
    issue_key(app, KeyKind::Agency, code.as_str(), record).await
}

/// Issues an API key to an enterprise of the registry that is still trading (city
/// administrators). With it the enterprise reads citizens' fields where, and only where,
/// a citizen consented to it.
pub async fn issue_enterprise_key(app: &App, who: Acting<'_>, tax_code: &str) -> Result<NewKey> {
    authorize(
        who.principal,
        Action::ManageEnterpriseAccess,
        &Target::default(),
    )?;
    // A malformed tax code names no enterprise of the registry.
    let tax_code =
        TaxCode::parse(tax_code).map_err(|_| Error::not_found("enterprise_not_found"))?;
    match enterprise_refusal(app, &tax_code).await? {
        Some("enterprise_not_found") => return Err(Error::not_found("enterprise_not_found")),
        Some(refusal) => return Err(Error::unprocessable(refusal).field("tax_code")),
        None => {}
    }
    let record = |key_id: &str| {
        AuditRecord::new(
            who.actor(),
            "enterprise_key.create",
            "enterprise_key",
            key_id,
        )
        .fields([format!("tax_code={tax_code}")])
        .client_addr(who.addr())
    };
    issue_key(app, KeyKind::Enterprise, tax_code.as_str(), record).await
}

/// Revokes a key of `owner`, audited with `record`; effective on the next request.
async fn revoke_key(
    app: &App,
    kind: KeyKind,
    owner: &str,
    key_id: &str,
    record: AuditRecord,
) -> Result<()> {
    let mut tx = app.db.begin().await?;
    if !store::revoke_key(&mut tx, kind, owner, key_id, record).await? {
        return Err(Error::not_found("key_not_found"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    app.changed(crate::cache::Topic::Sharing).await;
    Ok(())
}

/// Revokes an agency's API key (administrators).
pub async fn revoke_agency_key(
    app: &App,
    who: Acting<'_>,
    agency: &str,
    key_id: &str,
) -> Result<()> {
    let code = managed_agency(app, who.principal, agency).await?;
    let record = AuditRecord::new(who.actor(), "agency_key.revoke", "agency_key", key_id)
        .actor_unit(Some(code.to_string()))
        .client_addr(who.addr());
    revoke_key(app, KeyKind::Agency, code.as_str(), key_id, record).await
}

/// Revokes an enterprise's API key (city administrators).
pub async fn revoke_enterprise_key(
    app: &App,
    who: Acting<'_>,
    tax_code: &str,
    key_id: &str,
) -> Result<()> {
    authorize(
        who.principal,
        Action::ManageEnterpriseAccess,
        &Target::default(),
    )?;
    let record = AuditRecord::new(
        who.actor(),
        "enterprise_key.revoke",
        "enterprise_key",
        key_id,
    )
    .fields([format!("tax_code={tax_code}")])
    .client_addr(who.addr());
    let tax_code = TaxCode::parse(tax_code).map_err(|_| Error::not_found("key_not_found"))?;
    revoke_key(app, KeyKind::Enterprise, tax_code.as_str(), key_id, record).await
}

/// A grant as an administrator writes it.
#[derive(Debug)]
pub struct NewGrant<'a> {
    pub registry: RegistryName,
    pub purpose: &'a str,
    pub fields: &'a [String],
    /// The legal document that allows the use.
    pub legal_basis: &'a str,
}

/// Grants an agency fields of a registry for a purpose (administrators).
pub async fn create_grant(
    app: &App,
    who: Acting<'_>,
    agency: &str,
    g: NewGrant<'_>,
) -> Result<Grant> {
    let code = managed_agency(app, who.principal, agency).await?;
    let purpose = Purpose::parse(g.purpose)
        .map_err(|_| Error::unprocessable("invalid_purpose").field("purpose"))?;
    let fields = field_list(g.registry, g.fields, Kind::Invalid)?;
    let legal_basis = sohoa_domain::registry::text_field("legal_basis", g.legal_basis, 300)
        .map_err(|_| Error::unprocessable("invalid_legal_basis").field("legal_basis"))?;
    let new = store::NewGrant {
        agency_code: code.as_str(),
        registry: g.registry,
        purpose: &purpose,
        fields: &fields,
        legal_basis: &legal_basis,
    };
    let record = AuditRecord::new(who.actor(), "grant.create", "grant", "")
        .actor_unit(Some(code.to_string()))
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    let grant = store::create_grant(&mut tx, &new, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    app.changed(crate::cache::Topic::Sharing).await;
    Ok(grant)
}

/// An agency's grants, live and revoked (administrators).
pub async fn grants(app: &App, who: &Principal, agency: &str) -> Result<Vec<Grant>> {
    let code = existing_agency(app, agency).await?;
    authorize(who, Action::ReadAgencyAccess, &Target::agency(&code))?;
    Ok(store::grants_of(&app.db, code.as_str()).await?)
}

/// Revokes a grant (administrators); effective on the next request. Someone else's grant
/// answers as a missing one, so ids say nothing across agencies.
pub async fn revoke_grant(app: &App, who: Acting<'_>, grant_id: &str) -> Result<()> {
    let not_found = || Error::not_found("grant_not_found");
    let id: i64 = grant_id.parse().map_err(|_| not_found())?;
    let grant = store::grant(&app.db, id).await?.ok_or_else(not_found)?;
    let target = Target::agency(&grant.agency_code);
    if authorize(who.principal, Action::ManageAgencyAccess, &target).is_err() {
        return Err(not_found());
    }
    let record = AuditRecord::new(who.actor(), "grant.revoke", "grant", id.to_string())
        .actor_unit(Some(grant.agency_code.to_string()))
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    if !store::revoke_grant(&mut tx, id, record).await? {
        return Err(not_found());
    }
    tx.commit().await.map_err(StorageError::from)?;
    app.changed(crate::cache::Topic::Sharing).await;
    Ok(())
}

/// An access token just issued for a key.
#[derive(Debug)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: std::time::Duration,
}

/// Trades a data consumer's API key (`client_id` `<prefix><key_id>`, its `secret`) for a
/// bearer token good for an hour (OAuth 2.0 client credentials). The token reads exactly
/// what the key reads, and stops working when the key is revoked. Every token issued is
/// audited. A wrong client in any way is `unknown_agency`.
pub async fn issue_token(
    app: &App,
    client_id: &str,
    secret: &str,
    officer: Option<&str>,
    addr: Option<&str>,
) -> Result<AccessToken> {
    let parsed = identity::split_key_prefix(client_id);
    let Some((kind, key_id)) = parsed.filter(|(_, id)| !id.is_empty() && !id.contains('_')) else {
        return Err(Error::unauthenticated("unknown_agency"));
    };
    let owner = identity::key_owner(app, kind, &format!("{key_id}_{secret}")).await?;
    let token = format!("{}{}", identity::TOKEN_PREFIX, random_hex::<32>()?);
    let digest = hex::encode(token_digest(&token));
    let expires_at = identity::later(TOKEN_LIFETIME);
    let who = identity::consumer(kind, &owner, officer)?;
    let object_type = match kind {
        KeyKind::Agency => "agency_key",
        KeyKind::Enterprise => "enterprise_key",
    };
    let record = AuditRecord::new(who.actor(), "oauth_token.issue", object_type, key_id)
        .actor_unit(who.agency().map(ToString::to_string))
        .client_addr(addr.map(str::to_owned));
    let mut tx = app.db.begin().await?;
    store::create_token(&mut tx, &digest, kind, key_id, expires_at, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(AccessToken {
        token,
        expires_in: TOKEN_LIFETIME,
    })
}

/// A record's identifier, parsed.
#[derive(Debug, Clone)]
pub enum RecordKey {
    Citizen(CitizenId),
    Enterprise(TaxCode),
    Parcel(String),
}

impl RecordKey {
    pub fn parse(registry: RegistryName, id: &str) -> Result<Self> {
        match registry {
            RegistryName::Citizens => CitizenId::parse(id)
                .map(RecordKey::Citizen)
                .map_err(|_| Error::bad_request("invalid_citizen_id").field("id")),
            RegistryName::Enterprises => TaxCode::parse(id)
                .map(RecordKey::Enterprise)
                .map_err(|_| Error::bad_request("invalid_tax_code").field("id")),
            RegistryName::Parcels => sohoa_domain::registry::parcel::parse_key(id)
                .map(RecordKey::Parcel)
                .ok_or_else(|| Error::bad_request("invalid_parcel_key").field("id")),
        }
    }
}

/// A read a data consumer asks for: which record, for what purpose, which fields (all
/// the purpose allows when `None`).
#[derive(Debug)]
pub struct ShareRequest<'a> {
    pub registry: RegistryName,
    pub id: &'a str,
    pub purpose: &'a str,
    pub fields: Option<&'a str>,
}

/// Exactly the fields granted (or asked for, within the grant) of a record's version.
#[derive(Debug)]
pub struct Shared {
    pub purpose: Purpose,
    pub version: i64,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// What a consumer may read of one record for one purpose: the grants, and the record
/// owner's consents when the grants do not answer the request by themselves.
struct Allowed {
    granted: Vec<String>,
    consents: Vec<Consent>,
    asked: Vec<String>,
    allowed: Vec<String>,
}

impl Allowed {
    /// One-off consents this read relies on (fields no grant covers).
    fn one_off(&self) -> Vec<i64> {
        self.consents
            .iter()
            .filter(|c| {
                c.one_off
                    && c.fields
                        .iter()
                        .any(|f| self.asked.contains(f) && !self.granted.contains(f))
            })
            .map(|c| c.consent_id)
            .collect()
    }
}

/// An agency's grants, and for a citizen's record the citizen's own live consents (never
/// cached, so a revocation counts from the next request). Consents are looked up only when
/// the grants do not answer the request by themselves: with a grant and no `fields`, the
/// answer is the granted fields. An enterprise holds no grants.
async fn allowed(
    app: &App,
    consumer: &Consumer,
    key: &RecordKey,
    registry: RegistryName,
    purpose: &Purpose,
    requested: Option<Vec<&'static str>>,
) -> Result<Allowed> {
    let granted = match consumer {
        Consumer::Agency(a) => {
            app.sharing
                .granted(&app.db, a.as_str(), registry, purpose)
                .await?
        }
        Consumer::Enterprise(_) => Vec::new(),
    };
    let grants_suffice = match &requested {
        Some(r) => r.iter().all(|f| granted.iter().any(|g| g == f)),
        None => !granted.is_empty(),
    };
    let consents = match key {
        RecordKey::Citizen(id) if !grants_suffice => {
            store::live_consents(
                &app.db,
                id.as_str(),
                consumer,
                purpose,
                sohoa_domain::Timestamp::now(),
            )
            .await?
        }
        _ => Vec::new(),
    };
    let mut allowed = granted.clone();
    for f in consents.iter().flat_map(|c| &c.fields) {
        if !allowed.contains(f) {
            allowed.push(f.clone());
        }
    }
    let asked: Vec<String> = match &requested {
        Some(r) => r.iter().map(|f| (*f).to_owned()).collect(),
        None => allowed.clone(),
    };
    Ok(Allowed {
        granted,
        consents,
        asked,
        allowed,
    })
}

/// The record as JSON and its version, if it exists.
async fn record_of(app: &App, key: &RecordKey) -> Result<Option<(serde_json::Value, i64)>> {
    let json = |v: serde_json::Result<serde_json::Value>| v.map_err(Error::internal);
    Ok(match key {
        RecordKey::Citizen(id) => match citizens::get(&app.db, id).await? {
            Some(s) => Some((json(serde_json::to_value(&s.citizen))?, s.version)),
            None => None,
        },
        RecordKey::Enterprise(code) => match enterprises::get(&app.db, code).await? {
            Some(s) => Some((json(serde_json::to_value(&s.enterprise))?, s.version)),
            None => None,
        },
        RecordKey::Parcel(k) => match parcels::get(&app.db, k).await? {
            Some(s) => Some((json(serde_json::to_value(&s.parcel))?, s.version)),
            None => None,
        },
    })
}

/// Checks the purpose, the grants and consents and the record, audits the outcome through
/// the batched writer, and answers only once the entry is durable.
pub async fn share(
    app: &App,
    who: Acting<'_>,
    consumer: &Consumer,
    r: ShareRequest<'_>,
) -> Result<Shared> {
    // The identifier is checked first: a malformed one reads nothing and is not worth an
    // audit entry (nor lets arbitrary text into the log).
    let key = RecordKey::parse(r.registry, r.id)?;
    let purpose = Purpose::parse(r.purpose)
        .map_err(|_| Error::bad_request("invalid_purpose").field("purpose"))?;
    let requested = match r.fields.filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(list) => {
            let names: Vec<&str> = list.split(',').collect();
            Some(field_list(r.registry, &names, Kind::BadRequest)?)
        }
    };
    let audit = |outcome: Outcome, fields: Vec<String>| {
        AuditRecord::new(
            who.actor(),
            format!("{}.share", r.registry.object_type()),
            r.registry.object_type(),
            r.id,
        )
        .actor_unit(consumer.agency().map(ToString::to_string))
        .purpose(purpose.as_str())
        .fields(fields)
        .outcome(outcome)
        .client_addr(who.addr())
    };
    let a = allowed(app, consumer, &key, r.registry, &purpose, requested).await?;
    let refused = |code| Error::forbidden(code);
    if a.allowed.is_empty() {
        app.audit.record(audit(Outcome::Denied, a.asked)).await?;
        return Err(refused("no_grant"));
    }
    if let Some(f) = a.asked.iter().find(|f| !a.allowed.contains(f)) {
        let err = refused("field_not_granted").arg("field", f).field("fields");
        app.audit.record(audit(Outcome::Denied, a.asked)).await?;
        return Err(err);
    }
    let one_off = a.one_off();
    let Some((value, version)) = record_of(app, &key).await? else {
        app.audit.record(audit(Outcome::Failure, a.asked)).await?;
        return Err(Error::not_found("record_not_found"));
    };
    let mut fields = serde_json::Map::new();
    if let serde_json::Value::Object(all) = value {
        fields.extend(all.into_iter().filter(|(k, _)| a.asked.contains(k)));
    }
    if one_off.is_empty() {
        app.audit.record(audit(Outcome::Success, a.asked)).await?;
    } else if !store::use_consents(&app.db, &one_off, &audit(Outcome::Success, a.asked.clone()))
        .await?
    {
        // Spent by a concurrent read (or revoked) after it was looked up: refused.
        app.audit.record(audit(Outcome::Denied, a.asked)).await?;
        return Err(refused("no_grant"));
    }
    Ok(Shared {
        purpose,
        version,
        fields,
    })
}
