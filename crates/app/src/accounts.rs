//! Citizens' local accounts: opened by a city administrator with a password, or by the
//! resident themself with a one-time code that someone allowed to help them (a ward's
//! digital team) had sent to the phone or e-mail of the registry. Also what a signed-in
//! citizen reads of their own: who looked at their data, and their notifications.

use sohoa_domain::audit::{AuditEntry, AuditRecord, Outcome};
use sohoa_domain::identity::{check_password, hash_password};
use sohoa_domain::policy::{Action, Principal, Target};
use sohoa_domain::services::application::LookupCode;
use sohoa_domain::{CitizenId, Timestamp};
use sohoa_storage::notifications::Notification;
use sohoa_storage::{accounts, audit, registry, StorageError};

use crate::{authorize, Acting, App, Error, Result};

/// How long an activation code stays valid, in minutes.
pub const ACTIVATION_MINUTES: i64 = 30;

fn citizen_id(s: &str) -> Result<CitizenId> {
    CitizenId::parse(s).map_err(|_| Error::unprocessable("invalid_citizen_id").field("citizen_id"))
}

/// The password's hash, once it is one the rules admit; hashing is deliberately slow.
async fn password_hash(password: String) -> Result<String> {
    check_password(&password)
        .map_err(|_| Error::unprocessable("invalid_password").field("password"))?;
    let salt = crate::random_bytes::<16>()?;
    crate::blocking(move || hash_password(&password, &salt))
        .await?
        .map_err(Error::internal)
}

fn account_exists() -> Error {
    Error::conflict("account_exists").field("citizen_id")
}

/// Opens a local account for a citizen in the registry, with a password of the caller's
/// choosing (city administrators).
pub async fn open(
    app: &App,
    who: Acting<'_>,
    citizen: &str,
    password: String,
) -> Result<CitizenId> {
    let id = citizen_id(citizen)?;
    check_password(&password)
        .map_err(|_| Error::unprocessable("invalid_password").field("password"))?;
    let mut target = Target::citizen(&id);
    let Some(found) = registry::citizens::get(&app.db, &id).await? else {
        // Checked before the scope so that a digital team cannot probe who is registered
        // elsewhere: both answers would differ only outside their ward.
        authorize(who.principal, Action::CreateCitizenAccount, &target)?;
        return Err(Error::unprocessable("unknown_citizen").field("citizen_id"));
    };
    target.unit = Some(&found.citizen.permanent_address.unit_code);
    authorize(who.principal, Action::CreateCitizenAccount, &target)?;
    let hash = password_hash(password).await?;
    let record = AuditRecord::new(who.actor(), "account.create", "citizen", id.as_str())
        .actor_unit(who.principal.agency().map(ToString::to_string))
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    match accounts::create(&mut tx, id.as_str(), &hash, record).await {
        Err(StorageError::Conflict(_)) => return Err(account_exists()),
        other => other?,
    };
    tx.commit().await.map_err(StorageError::from)?;
    Ok(id)
}

/// Whether a code may go to the resident: the caller may help them, they can be reached,
/// and they have no account yet.
async fn may_activate(app: &App, who: &Principal, id: &CitizenId) -> Result<bool> {
    let Some(c) = registry::citizens::get(&app.db, id).await? else {
        return Ok(false);
    };
    let mut target = Target::citizen(id);
    target.unit = Some(&c.citizen.permanent_address.unit_code);
    let in_scope =
        sohoa_domain::policy::authorize(who, Action::StartAccountActivation, &target).is_ok();
    let reachable = c.citizen.phone.is_some() || c.citizen.email.is_some();
    Ok(in_scope && reachable && accounts::by_citizen(&app.db, id.as_str()).await?.is_none())
}

/// Starts a resident's account: if the CCCD is of a resident the caller may help who has
/// no account yet and a phone or e-mail in the registry, a one-time code goes there. The
/// caller hears the same whatever the case, so it tells nobody who lives where or who has
/// an account; the attempt is in the audit log, and in the resident's access log.
pub async fn start_activation(app: &App, who: Acting<'_>, citizen: &str) -> Result<()> {
    let id = citizen_id(citizen)?;
    let eligible = may_activate(app, who.principal, &id).await?;
    let outcome = if eligible {
        Outcome::Success
    } else {
        Outcome::Denied
    };
    let record = AuditRecord::new(
        who.actor(),
        "account.activation_start",
        "citizen",
        id.as_str(),
    )
    .outcome(outcome)
    .actor_unit(who.principal.agency().map(ToString::to_string))
    .client_addr(who.addr());
    if !eligible {
        app.audit.record(record).await?;
        return Ok(());
    }
    let code = LookupCode::from_random(crate::random_bytes::<8>()?);
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::minutes(ACTIVATION_MINUTES))
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(Error::internal)?;
    let subject = "Mã kích hoạt tài khoản sohoa / Your sohoa activation code";
    let message = format!(
        "Mã kích hoạt tài khoản của bạn: {code}. Mã có hiệu lực {ACTIVATION_MINUTES} phút. \
         Đừng đưa mã cho ai, kể cả cán bộ: chính bạn đặt mật khẩu.\n\
         Your account activation code: {code}. It is valid for {ACTIVATION_MINUTES} minutes. \
         Give it to nobody, staff included: you set your own password.\n"
    );
    let keys = app.db.keyring()?;
    let mut tx = app.db.begin().await?;
    let sent = (subject, message.as_str());
    accounts::start_activation(
        &mut tx,
        &keys,
        id.as_str(),
        &code.hash(),
        &expires,
        sent,
        record,
    )
    .await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// The resident opens their account with the code they were sent, and their own password.
/// A wrong, expired or used code is refused alike; five wrong codes void the activation.
pub async fn activate(
    app: &App,
    addr: Option<&str>,
    citizen: &str,
    code: &str,
    password: String,
) -> Result<CitizenId> {
    let id = citizen_id(citizen)?;
    let refused = || Error::unprocessable("invalid_activation_code").field("code");
    let code_hash = LookupCode::parse(code)
        .map(|c| c.hash())
        .ok_or_else(refused)?;
    let hash = password_hash(password).await?;
    let record = AuditRecord::new(
        format!("citizen:{id}"),
        "account.activate",
        "citizen",
        id.as_str(),
    )
    .client_addr(addr.map(str::to_owned));
    let mut tx = app.db.begin().await?;
    let outcome = accounts::activate(&mut tx, id.as_str(), &code_hash, &hash, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    match outcome {
        accounts::Activation::Opened => Ok(id),
        accounts::Activation::Exists => Err(account_exists()),
        accounts::Activation::Refused => Err(refused()),
    }
}

/// The signed-in citizen's own record in the population registry, if it is there; the
/// reading is audited like any read of personal data.
pub async fn own_record(app: &App, who: Acting<'_>) -> Result<Option<registry::citizens::Stored>> {
    let me = crate::documents::own_id(who.principal)?;
    authorize(who.principal, Action::ReadOwnData, &Target::citizen(me))?;
    let stored = registry::citizens::get(&app.db, me).await?;
    let record = AuditRecord::new(who.actor(), "citizen.read_own", "citizen", me.as_str())
        .fields(["full_name", "date_of_birth", "permanent_address"])
        .client_addr(who.addr());
    app.audit.record(record).await?;
    Ok(stored)
}

/// Entries read per page of an access log, at most.
pub const MAX_ACCESS_PAGE: i64 = 200;

/// A page of the access log: newest first, and whether older entries remain.
#[derive(Debug)]
pub struct AccessPage {
    pub entries: Vec<AuditEntry>,
    pub more: bool,
}

/// Every recorded access to the signed-in citizen's records, newest first, `limit` before
/// the entry `before`.
pub async fn access_log(
    app: &App,
    who: &Principal,
    before: Option<i64>,
    limit: i64,
) -> Result<AccessPage> {
    let me = crate::documents::own_id(who)?;
    if !(1..=MAX_ACCESS_PAGE).contains(&limit) {
        return Err(Error::bad_request("invalid_page"));
    }
    let mut entries =
        audit::entries_for_object_before(&app.db, "citizen", me.as_str(), before, limit + 1)
            .await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    Ok(AccessPage { entries, more })
}

/// The signed-in citizen's inbox, newest first: a notification for every status change of
/// their applications, and how many are unread.
pub async fn notifications(app: &App, who: &Principal) -> Result<(Vec<Notification>, i64)> {
    let me = crate::documents::own_id(who)?;
    Ok(sohoa_storage::notifications::inbox(&app.db, me.as_str(), 100).await?)
}

/// Marks every notification of the signed-in citizen read; how many were unread.
pub async fn mark_notifications_read(app: &App, who: &Principal) -> Result<u64> {
    let me = crate::documents::own_id(who)?;
    Ok(sohoa_storage::notifications::mark_read(&app.db, me.as_str(), Timestamp::now()).await?)
}
