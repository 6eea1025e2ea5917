//! sohoa's own remote signing service, by the Cloud Signature Consortium API v2, so that a
//! city without a licensed provider can start: each person may hold a key, issued a
//! certificate by the city CA, kept wrapped under their password (and sealed under the
//! keyring); it signs only after they confirm with their password and a one-time code, and
//! only the hashes that confirmation named, once, within five minutes.

use base64::Engine;
use sha2::Digest;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::Principal;
use sohoa_domain::{CitizenId, Timestamp};
use sohoa_sign::issue::{self, Authority, Subject};
use sohoa_storage::credentials::{self as store, Credential};
use sohoa_storage::pki;

use crate::identity::{confirm_presence, Presence};
use crate::{Acting, App, Error, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// How long an authorization (SAD) lasts.
pub const SAD_LIFETIME: time::Duration = time::Duration::minutes(5);

/// The most hashes one authorization signs.
pub const MAX_HASHES: usize = 10;

/// How long a person's signing certificate is valid.
const PERSON_YEARS: i64 = 2;

/// A refusal in the CSC API's terms (`error`, `error_description`), always HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CscError {
    pub error: &'static str,
    pub description: &'static str,
}

const fn refused(description: &'static str) -> CscError {
    CscError {
        error: "invalid_request",
        description,
    }
}

fn citizen_of(who: &Principal) -> Result<&CitizenId> {
    match who {
        Principal::Citizen(id) => Ok(id),
        _ => Err(Error::forbidden("forbidden")),
    }
}

fn presence_error(p: Presence) -> CscError {
    match p {
        Presence::WrongPassword => refused("Invalid PIN"),
        Presence::WrongCode => refused("Invalid OTP"),
        Presence::NoSecondFactor => refused("Two-step verification must be enabled to sign"),
        Presence::Locked => refused("The account is locked for a while after failed attempts"),
    }
}

/// The signed-in citizen gets a signing key and certificate, after confirming with their
/// password and a one-time code (the key is wrapped under that password).
pub async fn enrol(
    app: &App,
    who: Acting<'_>,
    password: &str,
    code: &str,
) -> Result<std::result::Result<Credential, CscError>> {
    let citizen = citizen_of(who.principal)?.clone();
    if let Err(p) = confirm_presence(app, who, password, code).await? {
        return Ok(Err(presence_error(p)));
    }
    let name = sohoa_storage::registry::citizens::get(&app.db, &citizen)
        .await?
        .map(|s| s.citizen.full_name)
        .unwrap_or_else(|| format!("CCCD {citizen}"));
    let (ca_subject, ca) = pki::city_authority(&app.db).await?;
    let subject = Subject {
        common_name: name,
        organization: "Công dân Thành phố Hồ Chí Minh".into(),
        unit: None,
        identifier: Some(format!("CCCD:{citizen}")),
    };
    let crl = app.signing.crl_url();
    let ca_key = ca.key_pem().to_owned();
    let password = password.to_owned();
    let made = crate::blocking(move || {
        let authority = Authority {
            subject: &ca_subject,
            key_pem: &ca_key,
        };
        let now = time::OffsetDateTime::now_utc();
        let (issued, key) = issue::issue_for_person(
            &authority,
            &subject,
            time::Duration::days(365 * PERSON_YEARS),
            crl.as_deref(),
            now,
        )
        .map_err(Error::internal)?;
        let wrapped = sohoa_sign::keywrap::wrap(&key, &password)
            .ok_or_else(|| Error::internal("wrapping a key failed"))?;
        Ok::<_, Error>((issued, wrapped))
    })
    .await??;
    let id = format!("cred_{}", hex::encode(crate::random_bytes::<12>()?));
    store::add(&app.db, &id, &citizen, &made.0.cert_pem, &made.1).await?;
    let found = store::get(&app.db, &id)
        .await?
        .ok_or_else(|| Error::internal("a credential just stored is missing"))?;
    Ok(Ok(found))
}

/// The signed-in citizen's credentials that can sign (certificate not revoked, not ended).
pub async fn list(app: &App, who: &Principal) -> Result<Vec<Credential>> {
    let citizen = citizen_of(who)?;
    let now = Timestamp::now();
    Ok(store::of_citizen(&app.db, citizen)
        .await?
        .into_iter()
        .filter(|c| !c.revoked && c.not_after > now)
        .collect())
}

/// One of the signed-in citizen's credentials (any other is unknown to them).
pub async fn info(app: &App, who: &Principal, id: &str) -> Result<Option<Credential>> {
    let citizen = citizen_of(who)?;
    Ok(store::get(&app.db, id)
        .await?
        .filter(|c| c.citizen == *citizen))
}

/// Decodes the hashes of a request: base64 of SHA-256 digests, 1 to [`MAX_HASHES`].
fn hashes(b64: &[String]) -> std::result::Result<Vec<Vec<u8>>, CscError> {
    if b64.is_empty() || b64.len() > MAX_HASHES {
        return Err(refused("Invalid parameter hashes"));
    }
    b64.iter()
        .map(|h| {
            B64.decode(h)
                .ok()
                .filter(|d| d.len() == 32)
                .ok_or(refused("Invalid parameter hashes"))
        })
        .collect()
}

/// Confirms the signature of `hash_list` with the person's password and one-time code:
/// the signature activation data (SAD) to give to `sign_hash`, and its lifetime in seconds.
pub async fn authorize(
    app: &App,
    who: Acting<'_>,
    id: &str,
    hash_list: &[String],
    password: &str,
    code: &str,
) -> Result<std::result::Result<(String, i64), CscError>> {
    let Some(cred) = info(app, who.principal, id).await? else {
        return Ok(Err(refused("Invalid parameter credentialID")));
    };
    if cred.revoked || cred.not_after <= Timestamp::now() {
        return Ok(Err(refused(
            "The credential's certificate is revoked or expired",
        )));
    }
    if let Err(e) = hashes(hash_list) {
        return Ok(Err(e));
    }
    if let Err(p) = confirm_presence(app, who, password, code).await? {
        return Ok(Err(presence_error(p)));
    }
    let (wrapped, password) = (cred.key_wrapped.clone(), password.to_owned());
    let Some(key) =
        crate::blocking(move || sohoa_sign::keywrap::unwrap(&wrapped, &password)).await?
    else {
        // The password changed since the key was made: the old key cannot be opened.
        return Ok(Err(refused(
            "The password changed since enrolment: enrol again",
        )));
    };
    let sad = hex::encode(crate::random_bytes::<32>()?);
    let digest = hex::encode(sha2::Sha256::digest(sad.as_bytes()));
    let expires = Timestamp::from_datetime(time::OffsetDateTime::now_utc() + SAD_LIFETIME);
    store::authorize(&app.db, &digest, id, hash_list, &B64.encode(key), expires).await?;
    Ok(Ok((sad, SAD_LIFETIME.whole_seconds())))
}

/// Signs `hash_list` with the credential, under an authorization that named them; the
/// authorization is spent. ECDSA P-256, DER, base64, in order.
pub async fn sign_hash(
    app: &App,
    who: Acting<'_>,
    id: &str,
    sad: &str,
    hash_list: &[String],
) -> Result<std::result::Result<Vec<String>, CscError>> {
    let Some(cred) = info(app, who.principal, id).await? else {
        return Ok(Err(refused("Invalid parameter credentialID")));
    };
    let digests = match hashes(hash_list) {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    let sad_digest = hex::encode(sha2::Sha256::digest(sad.as_bytes()));
    let mut tx = app.db.begin().await?;
    let Some(key) = store::spend(&mut tx, &app.db, &sad_digest, id, hash_list).await? else {
        return Ok(Err(refused(
            "Invalid SAD: unknown, expired, spent, or for other hashes",
        )));
    };
    let key = B64
        .decode(key)
        .map_err(|_| Error::internal("an authorization's key is not base64"))?;
    let mut signatures = Vec::with_capacity(digests.len());
    for d in &digests {
        let sig = issue::sign_digest(&key, d).map_err(Error::internal)?;
        signatures.push(B64.encode(sig));
    }
    let record = AuditRecord::new(who.actor(), "csc.signed", "signing_credential", id)
        .purpose(format!(
            "{} hash(es), certificate {}",
            digests.len(),
            cred.serial
        ))
        .client_addr(who.addr());
    sohoa_storage::audit::append(&mut tx, &record).await?;
    tx.commit()
        .await
        .map_err(sohoa_storage::StorageError::from)?;
    Ok(Ok(signatures))
}
