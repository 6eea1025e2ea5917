//! A citizen's consents: which agency or enterprise may read which fields of their record,
//! for what purpose, once or until when: given, seen and revoked by the citizen, for the
//! API and the account page alike.

use std::time::Duration;

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::sharing::{Consumer, Purpose, RegistryName};
use sohoa_domain::{CitizenId, TaxCode, Timestamp};
use sohoa_storage::sharing::{self, Consent};
use sohoa_storage::StorageError;

use crate::{Acting, App, Error, Kind, Result};

/// How far ahead a consent may run, at most.
const LONGEST: Duration = Duration::from_secs(366 * 24 * 3600);

/// Who a consent lets read, as the citizen named them.
#[derive(Debug)]
pub enum Grantee<'a> {
    Agency(&'a str),
    Enterprise(&'a str),
}

/// A consent as the citizen gives it.
#[derive(Debug)]
pub struct NewConsent<'a> {
    pub grantee: Grantee<'a>,
    pub purpose: &'a str,
    pub fields: &'a [String],
    /// Allow a single read.
    pub one_off: bool,
    /// Allow reads until this time (RFC 3339); required unless `one_off`, at most a year
    /// ahead.
    pub valid_until: Option<&'a str>,
}

async fn grantee(app: &App, g: &Grantee<'_>) -> Result<Consumer> {
    match *g {
        Grantee::Agency(code) => {
            let field = "agency_code";
            let agency = AgencyCode::parse(code)
                .map_err(|_| Error::unprocessable("invalid_agency_code").field(field))?;
            if sohoa_storage::agencies::get(&app.db, &agency)
                .await?
                .is_none()
            {
                return Err(Error::unprocessable("agency_not_found").field(field));
            }
            Ok(Consumer::Agency(agency))
        }
        Grantee::Enterprise(tax_code) => {
            let field = "enterprise_tax_code";
            let tax_code = TaxCode::parse(tax_code)
                .map_err(|_| Error::unprocessable("invalid_tax_code").field(field))?;
            if let Some(refusal) = crate::sharing::enterprise_refusal(app, &tax_code).await? {
                return Err(Error::unprocessable(refusal).field(field));
            }
            Ok(Consumer::Enterprise(tax_code))
        }
    }
}

fn valid_until(until: Option<&str>, one_off: bool) -> Result<Option<Timestamp>> {
    let invalid = || Error::unprocessable("invalid_valid_until").field("valid_until");
    match (until, one_off) {
        (None, true) => Ok(None),
        (None, false) => Err(invalid()),
        (Some(t), _) => {
            let t = Timestamp::parse(t).map_err(|_| invalid())?;
            if t <= Timestamp::now() || t > crate::identity::later(LONGEST) {
                return Err(invalid());
            }
            Ok(Some(t))
        }
    }
}

/// The signed-in citizen lets an agency or an enterprise read named fields of their record
/// for a purpose, once or until a time.
pub async fn give(app: &App, who: Acting<'_>, c: NewConsent<'_>) -> Result<Consent> {
    let me = own(who.principal)?;
    let grantee = grantee(app, &c.grantee).await?;
    let purpose = Purpose::parse(c.purpose)
        .map_err(|_| Error::unprocessable("invalid_purpose").field("purpose"))?;
    let fields = crate::sharing::field_list(RegistryName::Citizens, c.fields, Kind::Invalid)?;
    let valid_until = valid_until(c.valid_until, c.one_off)?;
    let new = sharing::NewConsent {
        citizen_id: me.as_str(),
        grantee: &grantee,
        purpose: &purpose,
        fields: &fields,
        one_off: c.one_off,
        valid_until,
    };
    let record = AuditRecord::new(who.actor(), "consent.create", "citizen", me.as_str())
        // The grantee, agency or enterprise, is named beside the citizen who consented.
        .actor_unit(Some(grantee.code().to_owned()))
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    let consent = sharing::create_consent(&mut tx, &new, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(consent)
}

/// The signed-in citizen, managing their own consents.
fn own(who: &Principal) -> Result<&CitizenId> {
    match who {
        Principal::Citizen(id) => {
            crate::authorize(who, Action::ManageOwnConsents, &Target::citizen(id))?;
            Ok(id)
        }
        _ => Err(Error::forbidden("forbidden")),
    }
}

/// The signed-in citizen's consents, newest first, live or not.
pub async fn list(app: &App, who: &Principal) -> Result<Vec<Consent>> {
    let me = own(who)?;
    Ok(sharing::consents_of(&app.db, me.as_str()).await?)
}

/// Revokes one of the signed-in citizen's consents: the next read relying on it is
/// refused. Someone else's consent is absent: its existence is none of this citizen's
/// business.
pub async fn revoke(app: &App, who: Acting<'_>, consent_id: &str) -> Result<()> {
    let me = own(who.principal)?;
    let not_found = || Error::not_found("consent_not_found");
    let id: i64 = consent_id.parse().map_err(|_| not_found())?;
    let record = AuditRecord::new(who.actor(), "consent.revoke", "citizen", me.as_str())
        .fields([format!("consent={id}")])
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    if !sharing::revoke_consent(&mut tx, me.as_str(), id, record).await? {
        return Err(not_found());
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}
