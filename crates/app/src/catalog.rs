//! The procedure catalog: anyone browses and searches it (without diacritics too);
//! authorised staff save new versions. Applications keep the version they were filed
//! under.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::paging::{Page, PageRequest};
use sohoa_domain::policy::{Action, Target};
use sohoa_domain::services::procedure::{Level, Procedure, ProcedureCode};
use sohoa_storage::procedures::{self as store, Versioned};
use sohoa_storage::{agencies, StorageError};

use crate::{authorize, Acting, App, Error, Result};

/// Procedures matching `q`, of one level and deciding agency (by its code as written) or
/// all, a page at a time.
pub async fn list(
    app: &App,
    q: Option<&str>,
    level: Option<Level>,
    agency: Option<&str>,
    page: PageRequest,
) -> Result<Page<Versioned>> {
    Ok(app
        .db
        .read_stale(|db| async move { store::list(&db, q, level, agency, page).await })
        .await?)
}

/// The version in force of a procedure, if there is one; read through the catalog cache,
/// for the many pages and use cases that name procedures.
pub async fn in_force(app: &App, code: &ProcedureCode) -> Result<Option<Versioned>> {
    Ok(app.catalog.procedure(&app.db, code).await?)
}

/// One procedure: the version in force, or a past one.
pub async fn get(app: &App, code: &ProcedureCode, version: Option<i64>) -> Result<Versioned> {
    app.db
        .read_stale(|db| async move { store::get(&db, code, version).await })
        .await?
        .ok_or_else(|| Error::not_found("procedure_not_found"))
}

/// A procedure saved: its version, and whether it changed (a body equal to the version in
/// force saves nothing).
#[derive(Debug)]
pub struct Saved {
    pub version: i64,
    pub changed: bool,
}

/// Saves a procedure, new or the next version of one. Who may save it depends on who
/// decides it now and who would decide it after.
pub async fn save(app: &App, who: Acting<'_>, body: Procedure) -> Result<Saved> {
    let p = body.check().map_err(|errs| {
        let field = errs.first().map_or("code", |e| e.field);
        let detail = errs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Error::unprocessable("invalid_procedure")
            .field(field)
            .arg("detail", &detail)
            .detail(detail)
    })?;
    if let Some(a) = &p.agency_code {
        if agencies::get(&app.db, a).await?.is_none() {
            return Err(Error::unprocessable("agency_not_found").field("agency_code"));
        }
    }
    let current = store::get(&app.db, &p.code, None).await?;
    let now = current
        .as_ref()
        .and_then(|c| c.procedure.agency_code.as_ref());
    for agency in [now, p.agency_code.as_ref()] {
        let target = Target {
            agency,
            ..Target::default()
        };
        authorize(who.principal, Action::ManageCatalog, &target)?;
    }
    let actor = who.actor();
    let record = AuditRecord::new(
        actor.clone(),
        "procedure.save",
        "procedure",
        p.code.as_str(),
    )
    .actor_unit(who.principal.agency().map(ToString::to_string))
    .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    let (version, changed) = store::save(&mut tx, &p, &actor, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    app.changed(crate::cache::Topic::Catalog).await;
    Ok(Saved { version, changed })
}
