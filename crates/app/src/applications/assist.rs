//! One-time codes a citizen gives a community digital team member, who may then file one
//! application for them.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::services::application::LookupCode;
use sohoa_domain::Timestamp;
use sohoa_storage::applications as store;
use sohoa_storage::StorageError;

use crate::{Acting, App, Error, Result};

/// How long a code stays good.
pub const ASSIST_CODE_LIFETIME: time::Duration = time::Duration::minutes(30);

/// A code as shown to the citizen, once (only its hash is kept).
#[derive(Debug, Clone)]
pub struct AssistCode {
    pub code: String,
    pub expires_at: String,
}

/// A new code for the signed-in citizen.
pub async fn create_assist_code(app: &App, who: Acting<'_>) -> Result<AssistCode> {
    let Principal::Citizen(me) = who.principal else {
        return Err(Error::forbidden("forbidden"));
    };
    crate::authorize(
        who.principal,
        Action::ManageOwnConsents,
        &Target::citizen(me),
    )?;
    let code = LookupCode::from_random(crate::random_bytes::<8>()?);
    let expires_at =
        Timestamp::from_datetime(Timestamp::now().datetime() + ASSIST_CODE_LIFETIME).to_string();
    let record = AuditRecord::new(who.actor(), "assist_code.create", "citizen", me.as_str())
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    store::create_assist_code(&mut tx, me.as_str(), &code.hash(), &expires_at, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(AssistCode {
        code: code.to_string(),
        expires_at,
    })
}
