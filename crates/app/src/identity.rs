//! Who is calling: the credentials sohoa issues and how each names a principal (a data
//! consumer's API key or access token, a person's session), and the sessions people start
//! by signing in and end by signing out. Channels find the credential (a header, a
//! cookie); what it is worth is decided here.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::{AuditRecord, Outcome};
use sohoa_domain::identity::{verify_password, Username};
use sohoa_domain::policy::{Principal, Staff};
use sohoa_domain::{CitizenId, TaxCode, Timestamp};
use sohoa_storage::accounts::{self, Holder, SessionOwner, StaffAccount};
use sohoa_storage::sharing::KeyKind;
use sohoa_storage::{audit, StorageError, Tx};

use crate::{Acting, App, Error, Result};

/// Consecutive failed sign-ins that lock an account, and for how long.
pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// How long a session lasts.
pub const SESSION: Duration = Duration::from_secs(8 * 3600);
/// How an access token from `/oauth/token` begins.
pub const TOKEN_PREFIX: &str = "sohoat_";
/// How a session token begins.
pub const SESSION_PREFIX: &str = "ss_";

/// The SHA-256 of a token: what is stored of every secret sohoa hands out.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares digests in constant time, so response timing says nothing about the token.
pub fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    sohoa_domain::identity::equal_in_constant_time(a, b)
}

/// The time `d` from now.
pub fn later(d: Duration) -> Timestamp {
    later_by(d, true)
}

/// `d` from now, ahead (`true`) or back (`false`).
pub fn later_by(d: Duration, ahead: bool) -> Timestamp {
    let now = Timestamp::now().datetime();
    Timestamp::from_datetime(if ahead { now + d } else { now - d })
}

/// How each kind of data consumer's API key begins: `<prefix><key_id>_<secret>`.
pub fn key_prefix(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Agency => "sohoa_",
        KeyKind::Enterprise => "sohoe_",
    }
}

/// The kind of consumer key `s` begins as, and the rest of it.
pub fn split_key_prefix(s: &str) -> Option<(KeyKind, &str)> {
    [KeyKind::Agency, KeyKind::Enterprise]
        .into_iter()
        .find_map(|kind| Some((kind, s.strip_prefix(key_prefix(kind))?)))
}

fn unknown_consumer() -> Error {
    Error::unauthenticated("unknown_agency")
}

/// The owner of a data consumer's key `<key_id>_<secret>`, if the key is live and the
/// secret matches; otherwise `unknown_agency`, whichever part was wrong.
pub async fn key_owner(app: &App, kind: KeyKind, key: &str) -> Result<String> {
    let (key_id, secret) = key.split_once('_').ok_or_else(unknown_consumer)?;
    let stored = app
        .sharing
        .key(&app.db, kind, key_id)
        .await?
        .ok_or_else(unknown_consumer)?;
    let presented = token_digest(secret);
    let expected: Option<[u8; 32]> = hex::decode(&stored.secret_sha256)
        .ok()
        .and_then(|v| v.try_into().ok());
    if stored.revoked || !expected.is_some_and(|e| digests_equal(&e, &presented)) {
        tracing::warn!(target: "security", key_id, ?kind, "data consumer's key refused");
        return Err(unknown_consumer());
    }
    Ok(stored.owner)
}

/// The kind and owner of the key an access token (`sohoat_...`) was issued for, if the
/// token has not expired and the key is still live.
pub async fn token_owner(app: &App, token: &str) -> Result<(KeyKind, String)> {
    let digest = hex::encode(token_digest(token));
    let stored = app
        .sharing
        .token(&app.db, &digest)
        .await?
        .ok_or_else(unknown_consumer)?;
    let live = stored.expires_at > Timestamp::now();
    let key = app
        .sharing
        .key(&app.db, stored.kind, &stored.key_id)
        .await?
        .filter(|k| live && !k.revoked);
    let Some(key) = key else {
        tracing::warn!(target: "security", key_id = stored.key_id, "expired access token, or its key revoked");
        return Err(unknown_consumer());
    };
    Ok((stored.kind, key.owner))
}

/// The caller a data consumer's credentials stand for. An officer acting through an
/// agency's system may be named (`officer`, as the channel received it); the audit log
/// records both. A name that is not a plain username is left out.
pub fn consumer(kind: KeyKind, owner: &str, officer: Option<&str>) -> Result<Principal> {
    if kind == KeyKind::Enterprise {
        let tax_code = TaxCode::parse(owner).map_err(Error::internal)?;
        return Ok(Principal::EnterpriseSystem(tax_code));
    }
    let agency = AgencyCode::parse(owner).map_err(Error::internal)?;
    let officer = officer
        .map(str::trim)
        .filter(|o| {
            !o.is_empty()
                && o.len() <= 64
                && o.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
        .map(str::to_owned);
    Ok(Principal::AgencySystem { agency, officer })
}

/// The data consumer behind an API key (`sohoa_…`, `sohoe_…`) or an access token
/// (`sohoat_…`); `None` for a credential of another kind.
pub async fn consumer_of(
    app: &App,
    credential: &str,
    officer: Option<&str>,
) -> Result<Option<Principal>> {
    if let Some((kind, key)) = split_key_prefix(credential) {
        let owner = key_owner(app, kind, key).await?;
        return consumer(kind, &owner, officer).map(Some);
    }
    if credential.starts_with(TOKEN_PREFIX) {
        let (kind, owner) = token_owner(app, credential).await?;
        return consumer(kind, &owner, officer).map(Some);
    }
    Ok(None)
}

/// The person whose live session has this token, and the token's digest; `None` when it
/// has expired, was ended, or never was.
pub async fn session(app: &App, token: &str) -> Result<Option<(Principal, String)>> {
    let digest = hex::encode(token_digest(token));
    let principal = match accounts::session_owner(&app.db, &digest, Timestamp::now()).await? {
        None => return Ok(None),
        Some(SessionOwner::Citizen(id)) => Principal::Citizen(id),
        Some(SessionOwner::Staff(s)) => Principal::Staff(staff_of(&s)),
    };
    Ok(Some((principal, digest)))
}

/// The policy's view of a stored staff account.
pub fn staff_of(s: &StaffAccount) -> Staff {
    Staff {
        username: s.username.clone(),
        role: s.role,
        agency: s.agency_code.clone(),
        unit: s.unit_code.clone(),
    }
}

/// A real hash of a password nobody has: verifying against it when the account does not
/// exist makes the answer take as long as for a wrong password.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        sohoa_domain::identity::hash_password("no account has this password", &[0; 16])
            .unwrap_or_default()
    })
    .clone()
}

/// A new session: the token goes to the caller, only its digest is stored.
#[derive(Debug)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: Timestamp,
    pub principal: Principal,
}

/// A sign-in attempt as the channel received it.
#[derive(Debug)]
pub struct SignIn<'a> {
    /// A CCCD (citizens) or a username (staff).
    pub login: &'a str,
    pub password: String,
    pub totp: Option<&'a str>,
    pub addr: Option<&'a str>,
    /// Seconds to wait, when the channel's limit on attempts from this client says so.
    pub throttled: Option<u64>,
}

/// The account an attempt names: who holds it, its password's hash, locked until when.
type Found = (Holder, String, Option<Timestamp>);

async fn account_of(
    app: &App,
    citizen: Option<&CitizenId>,
    username: Option<&Username>,
) -> Result<Option<Found>> {
    Ok(match (citizen, username) {
        (Some(id), _) => accounts::by_citizen(&app.db, id.as_str()).await?.map(|a| {
            let holder = Holder::Citizen(a.account_id);
            (holder, a.password_hash, a.locked_until)
        }),
        (None, Some(u)) => accounts::staff_by_username(&app.db, u.as_str())
            .await?
            .filter(|s| s.disabled_at.is_none())
            .map(|s| (Holder::Staff(s.staff_id), s.password_hash, s.locked_until)),
        (None, None) => None,
    })
}

/// Counts a failed attempt against `holder` (when there is one) and audits it.
async fn failed(app: &App, holder: Option<Holder>, record: &AuditRecord) -> Result<()> {
    let mut tx = app.db.begin().await?;
    if let Some(holder) = holder {
        accounts::record_failure(&mut tx, holder, MAX_FAILURES, later(LOCKOUT)).await?;
    }
    audit::append(&mut tx, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// The time-step of a right one-time code for `holder`, when they enrolled a second
/// factor; a wrong or missing code refuses the sign-in.
async fn second_factor(
    app: &App,
    holder: Holder,
    code: Option<&str>,
    record: &AuditRecord,
) -> Result<Option<i64>> {
    let enrolled = accounts::totp(&app.db, holder).await?;
    let Some(secret) = enrolled.secret.as_deref().and_then(|s| hex::decode(s).ok()) else {
        return Ok(None);
    };
    let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
        return Err(Error::unauthenticated("totp_required").field("totp"));
    };
    let now = Timestamp::now().datetime().unix_timestamp();
    match sohoa_domain::totp::verify(&secret, code, now, enrolled.last_step) {
        Some(step) => Ok(Some(step)),
        None => {
            failed(app, Some(holder), record).await?;
            tracing::warn!(target: "security", "failed sign-in: wrong one-time code");
            Err(Error::unauthenticated("invalid_totp").field("totp"))
        }
    }
}

/// Signs in a citizen (by CCCD) or a member of staff (by username) with a password.
/// Every attempt is audited; five failures in a row lock the account for 15 minutes.
pub async fn sign_in(app: &App, s: SignIn<'_>) -> Result<SignedIn> {
    let login = s.login.trim();
    let citizen = CitizenId::parse(login).ok();
    let username = Username::parse(login);
    // Only a well-formed identifier goes into the audit log.
    let (actor, object) = match (&citizen, &username) {
        (Some(id), _) => (format!("citizen:{id}"), id.to_string()),
        (None, Some(u)) => (format!("staff:{u}"), u.to_string()),
        (None, None) => ("anonymous".to_owned(), "malformed".to_owned()),
    };
    let record = |outcome: Outcome| {
        AuditRecord::new(actor.clone(), "auth.login", "account", &object)
            .outcome(outcome)
            .client_addr(s.addr.map(str::to_owned))
    };
    if let Some(secs) = s.throttled {
        app.audit.record(record(Outcome::Denied)).await?;
        tracing::warn!(target: "security", addr = ?s.addr, "sign-in attempts rate limited");
        return Err(Error::too_many("rate_limited", secs));
    }
    let found = account_of(app, citizen.as_ref(), username.as_ref()).await?;
    let now = Timestamp::now();
    if let Some(until) = found.as_ref().and_then(|f| f.2) {
        if until > now {
            app.audit.record(record(Outcome::Denied)).await?;
            let secs = (until.datetime() - now.datetime()).whole_seconds().max(1);
            return Err(Error::too_many("account_locked", secs.unsigned_abs()));
        }
    }
    let phc = found.as_ref().map(|f| f.1.clone());
    let password = s.password;
    let ok = crate::blocking(move || verify_password(&password, &phc.unwrap_or_else(dummy_hash)))
        .await?;
    let holder = found.map(|f| f.0);
    // The second factor, for accounts that enrolled one: asked for only once the password
    // is right, and a wrong code counts as a failed sign-in.
    let second = match (holder, ok) {
        (Some(h), true) => second_factor(app, h, s.totp, &record(Outcome::Failure)).await?,
        _ => None,
    };
    let Some(holder) = holder.filter(|_| ok) else {
        failed(app, holder, &record(Outcome::Failure)).await?;
        tracing::warn!(target: "security", "failed sign-in");
        return Err(Error::unauthenticated("invalid_credentials"));
    };
    let mut tx = app.db.begin().await?;
    if let Some(step) = second {
        // Two requests racing with one code: only one spends it.
        if !accounts::use_totp_step(&mut tx, holder, step).await? {
            return Err(Error::unauthenticated("invalid_totp").field("totp"));
        }
    }
    start_session(app, tx, holder, record(Outcome::Success)).await
}

/// Starts a session for `holder` inside `tx` (which may hold other changes of the sign-in),
/// records `record`, commits, and hands back the token.
pub async fn start_session(
    app: &App,
    mut tx: Tx,
    holder: Holder,
    record: AuditRecord,
) -> Result<SignedIn> {
    let token = format!(
        "{SESSION_PREFIX}{}",
        hex::encode(crate::random_bytes::<32>()?)
    );
    let expires_at = later(SESSION);
    let digest = hex::encode(token_digest(&token));
    accounts::start_session(&mut tx, holder, &digest, &expires_at.to_string()).await?;
    audit::append(&mut tx, &record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    let principal = match session(app, &token).await? {
        Some((p, _)) => p,
        None => return Err(Error::internal("a session just started was not found")),
    };
    Ok(SignedIn {
        token,
        expires_at,
        principal,
    })
}

/// Ends the session whose token has this digest (audited).
pub async fn sign_out(app: &App, who: Acting<'_>, token_digest: &str) -> Result<()> {
    let record = AuditRecord::new(who.actor(), "auth.logout", "account", who.actor())
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    if accounts::end_session(&mut tx, token_digest).await? {
        audit::append(&mut tx, &record).await?;
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// The local account behind the caller's session.
async fn holder(app: &App, who: &Principal) -> Result<Holder> {
    let found = match who {
        Principal::Citizen(id) => accounts::by_citizen(&app.db, id.as_str())
            .await?
            .map(|a| Holder::Citizen(a.account_id)),
        Principal::Staff(s) => accounts::staff_by_username(&app.db, &s.username)
            .await?
            .map(|a| Holder::Staff(a.staff_id)),
        _ => None,
    };
    found.ok_or_else(|| Error::forbidden("forbidden"))
}

/// A new second-factor secret, for an authenticator app.
#[derive(Debug)]
pub struct Enrolment {
    /// Base32, for typing in.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub uri: String,
}

/// Starts two-step verification: a new secret for an authenticator app. It takes effect
/// once a code from the app confirms it ([`totp_confirm`]).
pub async fn totp_enrol(app: &App, who: &Principal) -> Result<Enrolment> {
    let holder = holder(app, who).await?;
    let secret = crate::random_bytes::<20>()?;
    let keys = app.db.keyring()?;
    let mut tx = app.db.begin().await?;
    accounts::set_totp_pending(&mut tx, &keys, holder, &hex::encode(secret)).await?;
    tx.commit().await.map_err(StorageError::from)?;
    let actor = who.actor();
    let account = actor.split_once(':').map_or(actor.as_str(), |(_, a)| a);
    Ok(Enrolment {
        secret: sohoa_domain::totp::base32(&secret),
        uri: sohoa_domain::totp::uri("sohoa", account, &secret),
    })
}

fn invalid_totp(field: &'static str) -> Error {
    Error::unprocessable("invalid_totp").field(field)
}

/// The time-step of `code` if it is a current code of the hex `secret`.
fn verified(secret: Option<&str>, code: &str, last_step: Option<i64>) -> Option<i64> {
    let secret = hex::decode(secret?).ok()?;
    let now = Timestamp::now().datetime().unix_timestamp();
    sohoa_domain::totp::verify(&secret, code, now, last_step)
}

/// Confirms enrolment with a `code` of the new secret; from then on sign-in asks for a
/// code. Replacing a secret in force also takes a `current` code of it: whoever holds a
/// session (a borrowed phone, a stolen cookie) must not move the second factor to their
/// app.
pub async fn totp_confirm(
    app: &App,
    who: Acting<'_>,
    code: &str,
    current: Option<&str>,
) -> Result<()> {
    let holder = holder(app, who.principal).await?;
    let t = accounts::totp(&app.db, holder).await?;
    let step = verified(t.pending.as_deref(), code, None).ok_or_else(|| invalid_totp("code"))?;
    let current = match t.secret.as_deref() {
        None => None,
        Some(in_force) => {
            let code = current.ok_or_else(|| invalid_totp("current_code"))?;
            let step = verified(Some(in_force), code, t.last_step);
            Some(step.ok_or_else(|| invalid_totp("current_code"))?)
        }
    };
    let action = if current.is_some() {
        "auth.totp_replace"
    } else {
        "auth.totp_enable"
    };
    let record =
        AuditRecord::new(who.actor(), action, "account", who.actor()).client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    if let Some(step) = current {
        // Spent, so the code cannot be replayed by a second request racing this one.
        if !accounts::use_totp_step(&mut tx, holder, step).await? {
            return Err(invalid_totp("current_code"));
        }
    }
    accounts::confirm_totp(&mut tx, holder, step, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// Turns two-step verification off; a current `code` proves the app is still at hand.
pub async fn totp_disable(app: &App, who: Acting<'_>, code: &str) -> Result<()> {
    let holder = holder(app, who.principal).await?;
    let t = accounts::totp(&app.db, holder).await?;
    let step =
        verified(t.secret.as_deref(), code, t.last_step).ok_or_else(|| invalid_totp("code"))?;
    let record = AuditRecord::new(who.actor(), "auth.totp_disable", "account", who.actor())
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    if !accounts::use_totp_step(&mut tx, holder, step).await? {
        return Err(invalid_totp("code"));
    }
    accounts::disable_totp(&mut tx, holder, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// A sign-in at the city's identity provider, kept from its start until the provider sends
/// the browser back: the nonce, the PKCE verifier and where to go after.
pub use sohoa_storage::accounts::OidcLogin;

/// Keeps `login` under its state (only the state's digest is stored), forgetting
/// sign-ins begun longer than `window` ago.
pub async fn oidc_begin(
    app: &App,
    login_state: &str,
    login: &OidcLogin,
    window: Duration,
) -> Result<()> {
    let stale = later_by(window, false).to_string();
    let digest = hex::encode(token_digest(login_state));
    let mut tx = app.db.begin().await?;
    accounts::start_oidc(&mut tx, &digest, login, &stale).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(())
}

/// Takes the sign-in kept under `login_state`, if it was begun within `window`. Taking it
/// commits at once: a replayed callback finds nothing, whatever follows.
pub async fn oidc_take(
    app: &App,
    login_state: &str,
    window: Duration,
) -> Result<Option<OidcLogin>> {
    let stale = later_by(window, false).to_string();
    let digest = hex::encode(token_digest(login_state));
    let mut tx = app.db.begin().await?;
    let login = accounts::take_oidc(&mut tx, &digest, &stale).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(login)
}

fn oidc_record(actor: String, object: &str, outcome: Outcome, addr: Option<&str>) -> AuditRecord {
    AuditRecord::new(actor, "auth.login", "account", object)
        .fields(["oidc"])
        .outcome(outcome)
        .client_addr(addr.map(str::to_owned))
}

/// Audits a sign-in the identity provider did not complete.
pub async fn oidc_failed(app: &App, addr: Option<&str>) -> Result<()> {
    let record = oidc_record("anonymous".into(), "oidc", Outcome::Failure, addr);
    app.audit.record(record).await?;
    Ok(())
}

/// Signs in the citizen the identity provider vouched for (its CCCD claim), who must be in
/// the population registry; their local account is opened on first sign-in.
pub async fn oidc_sign_in(app: &App, claimed: &str, addr: Option<&str>) -> Result<SignedIn> {
    let Ok(id) = CitizenId::parse(claimed) else {
        tracing::warn!(target: "security", "identity provider's CCCD claim is malformed");
        return Err(Error::unauthenticated("oidc_failed"));
    };
    let actor = format!("citizen:{id}");
    if sohoa_storage::registry::citizens::get(&app.db, &id)
        .await?
        .is_none()
    {
        let record = oidc_record(actor, id.as_str(), Outcome::Denied, addr);
        app.audit.record(record).await?;
        return Err(Error::forbidden("unknown_citizen"));
    }
    let mut tx = app.db.begin().await?;
    let opened = AuditRecord::new(actor.clone(), "account.create", "citizen", id.as_str())
        .fields(["oidc"])
        .client_addr(addr.map(str::to_owned));
    let account = accounts::ensure_account(&mut tx, id.as_str(), opened).await?;
    let record = oidc_record(actor, id.as_str(), Outcome::Success, addr);
    start_session(app, tx, Holder::Citizen(account), record).await
}

/// Why a person's presence was not confirmed: said to a remote signing client in its terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    WrongPassword,
    WrongCode,
    /// No second factor enrolled: remote signing needs one.
    NoSecondFactor,
    Locked,
}

/// The signed-in citizen proves they are at hand, as for a signature: their password and a
/// current one-time code, both required. Failures count towards the account's lock-out like
/// failed sign-ins; a code is spent once. Audited either way.
pub async fn confirm_presence(
    app: &App,
    who: Acting<'_>,
    password: &str,
    code: &str,
) -> Result<std::result::Result<(), Presence>> {
    let Principal::Citizen(id) = who.principal else {
        return Err(Error::forbidden("forbidden"));
    };
    let account = accounts::by_citizen(&app.db, id.as_str())
        .await?
        .ok_or_else(|| Error::forbidden("forbidden"))?;
    let holder = Holder::Citizen(account.account_id);
    let record = |outcome: Outcome| {
        AuditRecord::new(who.actor(), "auth.presence", "account", id.as_str())
            .outcome(outcome)
            .purpose("remote signature")
            .client_addr(who.addr())
    };
    if account.locked_until.is_some_and(|u| u > Timestamp::now()) {
        app.audit.record(record(Outcome::Denied)).await?;
        return Ok(Err(Presence::Locked));
    }
    let (password, phc) = (password.to_owned(), account.password_hash.clone());
    if !crate::blocking(move || verify_password(&password, &phc)).await? {
        failed(app, Some(holder), &record(Outcome::Failure)).await?;
        return Ok(Err(Presence::WrongPassword));
    }
    let t = accounts::totp(&app.db, holder).await?;
    if t.secret.is_none() {
        return Ok(Err(Presence::NoSecondFactor));
    }
    let Some(step) = verified(t.secret.as_deref(), code, t.last_step) else {
        failed(app, Some(holder), &record(Outcome::Failure)).await?;
        return Ok(Err(Presence::WrongCode));
    };
    let mut tx = app.db.begin().await?;
    if !accounts::use_totp_step(&mut tx, holder, step).await? {
        return Ok(Err(Presence::WrongCode));
    }
    audit::append(&mut tx, &record(Outcome::Success)).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(Ok(()))
}
