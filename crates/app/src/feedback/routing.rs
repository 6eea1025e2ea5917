//! Which agency answers which category of report in which commune: the routing table the
//! city's administrators keep. Without an entry, the commune's People's Committee answers.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Target};
use sohoa_domain::UnitCode;
use sohoa_storage::feedback::{self as store, Route};
use sohoa_storage::StorageError;

use crate::{Acting, App, Error, Result};

/// The table as it stands.
pub async fn routes(app: &App) -> Result<Vec<Route>> {
    Ok(store::routes(&app.db).await?)
}

/// Sends `category` in `unit` (every commune when `None`) to `agency`, or back to the
/// commune's People's Committee when `agency` is `None`.
pub async fn set_route(
    app: &App,
    who: Acting<'_>,
    category: &str,
    unit: Option<&UnitCode>,
    agency: Option<&AgencyCode>,
) -> Result<()> {
    crate::authorize(
        who.principal,
        Action::ManageReportRouting,
        &Target::default(),
    )?;
    let categories = app.feedback.categories(&app.db).await?;
    if !categories.iter().any(|c| c.code == category) {
        return Err(Error::not_found("report_category_not_found").field("category"));
    }
    if let Some(unit) = unit {
        let geo = app.feedback.geography(&app.db).await?;
        if geo.boundaries.get(unit).is_none() {
            return Err(Error::unprocessable("unknown_unit").field("unit_code"));
        }
    }
    if let Some(code) = agency {
        if sohoa_storage::agencies::get(&app.db, code).await?.is_none() {
            return Err(Error::unprocessable("unknown_agency").field("agency_code"));
        }
    }
    let unit = unit.map_or("*", UnitCode::as_str);
    let record = AuditRecord::new(
        who.actor(),
        "report_route.set",
        "report_route",
        format!("{category}/{unit}"),
    )
    .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    store::set_route(
        &mut tx,
        category,
        unit,
        agency.map(AgencyCode::as_str),
        record,
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}
