//! A citizen's consents: which agency or enterprise may read which fields of their record,
//! for what purpose, once or until when. Granting them still lives with the sharing
//! endpoints; seeing and revoking them is here, for the API and the account page alike.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::CitizenId;
use sohoa_storage::sharing::{self, Consent};
use sohoa_storage::StorageError;

use crate::{Acting, App, Error, Result};

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
