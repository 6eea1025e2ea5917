//! Agencies: the city's departments and the communes' People's Committees, listed, looked
//! up, and registered by administrators against the units in force.

use sohoa_domain::agency::{Agency, AgencyCode, AgencyError, AgencyLevel};
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::paging::{Page, PageRequest};
use sohoa_domain::policy::{Action, Target};
use sohoa_domain::units::{UnitLevel, HCMC_CODE};
use sohoa_storage::{agencies as store, units, StorageError};

use crate::{authorize, Acting, App, Error, Result};

/// Agencies whose code or name (vi or en, diacritics and case ignored) matches `q`, of
/// one level or all, a page at a time.
pub async fn list(
    app: &App,
    q: Option<&str>,
    level: Option<AgencyLevel>,
    page: PageRequest,
) -> Result<Page<Agency>> {
    Ok(store::list(&app.db, q, level, page).await?)
}

/// One agency, if it exists.
pub async fn find(app: &App, code: &AgencyCode) -> Result<Option<Agency>> {
    Ok(store::get(&app.db, code).await?)
}

/// One agency, by its code as written.
pub async fn get(app: &App, code: &str) -> Result<Agency> {
    let code = AgencyCode::parse(code)
        .map_err(|_| Error::bad_request("invalid_agency_code").field("code"))?;
    find(app, &code)
        .await?
        .ok_or_else(|| Error::not_found("agency_not_found"))
}

/// An agency as an administrator proposes it.
#[derive(Debug)]
pub struct Proposed<'a> {
    pub code: &'a str,
    pub name_vi: &'a str,
    pub name_en: &'a str,
    pub level: AgencyLevel,
    /// 79 for a city-level agency; the commune's code for a People's Committee.
    pub unit_code: &'a str,
}

/// Checks a proposed agency against the rules and the units in force today.
pub async fn check(app: &App, p: &Proposed<'_>) -> Result<Agency> {
    let agency =
        Agency::new(p.code, p.name_vi, p.name_en, p.level, p.unit_code).map_err(|e| match e {
            AgencyError::Code => Error::unprocessable("invalid_agency_code").field("code"),
            AgencyError::Name => {
                let bad_vi = p.name_vi.trim().is_empty() || p.name_vi.chars().count() > 200;
                let field = if bad_vi { "name_vi" } else { "name_en" };
                Error::unprocessable("invalid_agency_name").field(field)
            }
            AgencyError::UnitCode => Error::unprocessable("invalid_unit_code").field("unit_code"),
        })?;
    let unit = units::get(&app.db, &agency.unit_code, crate::today()).await?;
    let fits = match (agency.level, &unit) {
        (_, None) => {
            return Err(Error::unprocessable("unknown_unit")
                .arg("code", &agency.unit_code)
                .field("unit_code"));
        }
        (AgencyLevel::City, Some(u)) => u.code.as_str() == HCMC_CODE,
        (AgencyLevel::Commune, Some(u)) => u.kind.level() == UnitLevel::Commune,
    };
    if !fits {
        return Err(Error::unprocessable("agency_level_mismatch").field("unit_code"));
    }
    Ok(agency)
}

/// Registers an agency (administrators); the agency and its audit entry are stored in one
/// transaction.
pub async fn register(app: &App, who: Acting<'_>, p: Proposed<'_>) -> Result<Agency> {
    authorize(who.principal, Action::ManageAgencies, &Target::default())?;
    let agency = check(app, &p).await?;
    let record = AuditRecord::new(who.actor(), "agency.create", "agency", agency.code.as_str())
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    match store::create(&mut tx, &agency, record).await {
        Err(StorageError::Conflict(_)) => {
            return Err(Error::conflict("agency_exists").field("code"))
        }
        other => other?,
    }
    tx.commit().await.map_err(StorageError::from)?;
    app.changed(crate::cache::Topic::Catalog).await;
    Ok(agency)
}
