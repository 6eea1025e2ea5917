//! The hash-chained audit log as auditors read it; every reading is itself audited.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::{AuditEntry, AuditRecord};
use sohoa_domain::policy::{Action, Target};
use sohoa_storage::audit;

use crate::{authorize, Acting, App, Error, Result};

/// Entries read per page, at most.
pub const MAX_PAGE: i64 = 500;

/// A page of entries, newest first, and whether older ones remain.
#[derive(Debug)]
pub struct Page {
    pub entries: Vec<AuditEntry>,
    pub more: bool,
}

/// Audit entries, newest first, `limit` before the entry `before` (auditors; an agency's
/// auditor reads their agency's).
pub async fn read(
    app: &App,
    who: Acting<'_>,
    agency: Option<&AgencyCode>,
    before: Option<i64>,
    limit: i64,
) -> Result<Page> {
    let target = Target {
        agency,
        ..Target::default()
    };
    authorize(who.principal, Action::ReadAuditLog, &target)?;
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::bad_request("invalid_page"));
    }
    let scope = agency.map(AgencyCode::as_str);
    let mut entries = audit::entries_before(&app.db, scope, before, limit + 1).await?;
    let record = AuditRecord::new(
        who.actor(),
        "audit.read",
        "audit_log",
        scope.unwrap_or("all"),
    )
    .actor_unit(who.principal.agency().map(ToString::to_string))
    .client_addr(who.addr());
    app.audit.record(record).await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    Ok(Page { entries, more })
}
