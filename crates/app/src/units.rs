//! Administrative units with their validity: codes were reused in the 2025
//! reorganisation, so every question names a day.

use sohoa_domain::paging::Page;
use sohoa_domain::units::Unit;
use sohoa_domain::UnitCode;
use sohoa_storage::units::{self as store, UnitQuery};
use time::Date;

use crate::{App, Error, Result};

/// Units in force on a day, filtered and paged.
pub async fn list(app: &App, q: &UnitQuery) -> Result<Page<Unit>> {
    Ok(app
        .db
        .read_stale(|db| async move { store::list(&db, q).await })
        .await?)
}

/// The unit a code named on a day, if any.
pub async fn named_on(app: &App, code: &UnitCode, day: Date) -> Result<Option<Unit>> {
    Ok(store::get(&app.db, code, day).await?)
}

/// The unit a code named on a day.
pub async fn get(app: &App, code: &UnitCode, day: Date) -> Result<Unit> {
    named_on(app, code, day)
        .await?
        .ok_or_else(|| Error::not_found("unit_not_found"))
}

/// Every unit a code has named, oldest first.
pub async fn history(app: &App, code: &UnitCode) -> Result<Vec<Unit>> {
    let units = app
        .db
        .read_stale(|db| async move { store::history(&db, code).await })
        .await?;
    if units.is_empty() {
        return Err(Error::not_found("unit_not_found"));
    }
    Ok(units)
}
