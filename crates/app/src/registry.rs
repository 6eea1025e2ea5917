//! The base registries as people search them (the share endpoint of `sharing` is how
//! systems read them). Results are personal data: each citizen returned is an audited
//! read, visible in their access log.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Target};
use sohoa_domain::sharing::Purpose;
use sohoa_storage::registry::citizens::{self, Found, Search};

use crate::{authorize, Acting, App, Error, Result};

/// Citizens found per page, at most.
pub const MAX_PAGE: u32 = 200;

/// Citizens by name, commune and year of birth, for a stated purpose (city
/// administrators); one audited read per citizen shown, all in one batch.
pub async fn search_citizens(
    app: &App,
    who: Acting<'_>,
    purpose: &str,
    search: &Search,
) -> Result<Found> {
    authorize(who.principal, Action::SearchRegistry, &Target::default())?;
    let purpose = Purpose::parse(purpose)
        .map_err(|_| Error::bad_request("invalid_purpose").field("purpose"))?;
    if !(1..=MAX_PAGE).contains(&search.limit) {
        return Err(Error::bad_request("invalid_page"));
    }
    let found = app
        .db
        .read_stale(|db| async move { citizens::search(&db, search).await })
        .await?;
    let records: Vec<AuditRecord> = found
        .items
        .iter()
        .map(|s| {
            AuditRecord::new(
                who.actor(),
                "citizen.search",
                "citizen",
                s.citizen.citizen_id.as_str(),
            )
            .fields(["full_name", "date_of_birth", "permanent_address"])
            .purpose(purpose.as_str())
            .client_addr(who.addr())
        })
        .collect();
    app.audit.record_many(records).await?;
    Ok(found)
}
