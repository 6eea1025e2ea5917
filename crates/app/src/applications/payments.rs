//! Paying an application's fee: online through a gateway (started by the applicant,
//! confirmed by the gateway), or at the counter (recorded by an officer).

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::Action;
use sohoa_domain::registry::clean_text;
use sohoa_domain::Money;
use sohoa_storage::applications::Application;
use sohoa_storage::payments::{self as store, Confirmation, Payment};
use sohoa_storage::StorageError;

use super::load_for;
use crate::{Acting, App, Error, Kind, Result};

/// What is still owed on an application, or why nothing can be paid.
pub(super) fn owed(app: &Application) -> Result<Money> {
    let payable = app.fee_payable.unwrap_or_default();
    if payable == Money::ZERO || app.fee_paid_at.is_some() || app.status.is_closed() {
        return Err(Error::conflict("nothing_to_pay"));
    }
    Ok(payable)
}

pub(super) fn payment_id() -> Result<String> {
    Ok(format!("pay_{}", hex::encode(crate::random_bytes::<12>()?)))
}

/// The applicant starts paying online through `gateway` (none: payments are not set up
/// here): a pending payment of what is owed, which the gateway's confirmation settles.
pub async fn start(
    app: &App,
    who: Acting<'_>,
    number: &str,
    gateway: Option<&str>,
) -> Result<Payment> {
    let found = load_for(app, who.principal, number, Action::Apply).await?;
    let gateway = gateway.ok_or_else(|| Error::new(Kind::Unavailable, "payments_unavailable"))?;
    let amount = owed(&found)?;
    let payment = Payment {
        id: payment_id()?,
        number: found.number.clone(),
        amount,
        provider: gateway.to_owned(),
        provider_txn: None,
        status: "pending".into(),
        created_at: sohoa_storage::applications::now(),
        paid_at: None,
        recorded_by: None,
    };
    let record = AuditRecord::new(who.actor(), "payment.start", "application", &found.number)
        .fields(["payment"])
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    store::insert(&mut tx, &payment, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(payment)
}

/// What the applicant (the caller) still owes on an application, to pay by transfer.
pub async fn amount_owed(
    app: &App,
    who: &sohoa_domain::policy::Principal,
    number: &str,
) -> Result<(
    sohoa_domain::services::application::ApplicationNumber,
    Money,
)> {
    let found = load_for(app, who, number, Action::Apply).await?;
    let amount = owed(&found)?;
    Ok((found.number, amount))
}

/// The application a payment is of (for a gateway's return page, which shows no more).
pub async fn number_of(
    app: &App,
    payment_id: &str,
) -> Result<Option<sohoa_domain::services::application::ApplicationNumber>> {
    Ok(store::get(&app.db, payment_id).await?.map(|p| p.number))
}

/// What a gateway's confirmation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Confirmed,
    /// This transaction confirmed it before: nothing changed.
    AlreadyConfirmed,
    /// The gateway took the money but nothing was owed any more (paid otherwise, or
    /// withdrawn): kept as owed back.
    RefundDue,
}

/// A gateway's confirmation (its signature already checked by the channel that received
/// it), applied once per transaction id: a late one for a fee no longer owed is kept as
/// owed back.
pub async fn confirm(
    app: &App,
    gateway: &str,
    payment_id: &str,
    txn: &str,
    amount: i64,
) -> Result<Settled> {
    let txn = txn.trim();
    if txn.is_empty() {
        return Err(
            Error::unprocessable("invalid_body").detail("status must be paid, with a provider_txn")
        );
    }
    let record = AuditRecord::new(
        format!("gateway:{gateway}"),
        "payment.confirm",
        "application",
        "",
    )
    .fields(["payment"])
    .purpose(format!("{payment_id} {txn}"));
    let mut tx = app.db.begin().await?;
    let now = sohoa_storage::applications::now();
    let outcome = store::confirm(&mut tx, gateway, payment_id, txn, amount, now, record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    match outcome {
        Confirmation::Unknown => {
            refused(app, gateway, payment_id, "unknown payment").await?;
            Err(Error::not_found("payment_not_found"))
        }
        Confirmation::AmountMismatch => {
            refused(
                app,
                gateway,
                payment_id,
                &format!("amount {amount} is not the amount due"),
            )
            .await?;
            Err(Error::unprocessable("payment_amount_mismatch"))
        }
        Confirmation::Confirmed => Ok(Settled::Confirmed),
        Confirmation::AlreadyConfirmed => Ok(Settled::AlreadyConfirmed),
        Confirmation::RefundDue => Ok(Settled::RefundDue),
    }
}

/// A gateway's callback that confirmed nothing (a bad signature, an unknown payment, a
/// wrong amount): kept in the audit log with why, for the finance office and security.
pub async fn refused(app: &App, gateway: &str, reference: &str, why: &str) -> Result<()> {
    let record = AuditRecord::new(
        format!("gateway:{gateway}"),
        "payment.callback_refused",
        "payment",
        reference.chars().take(100).collect::<String>(),
    )
    .purpose(why)
    .outcome(sohoa_domain::audit::Outcome::Denied);
    app.audit.record(record).await?;
    Ok(())
}

/// An officer of the deciding agency records a fee paid at the counter, by the receipt's
/// number in the agency's own receipt book (recording it twice records one payment).
pub async fn counter(app: &App, who: Acting<'_>, number: &str, receipt: &str) -> Result<Payment> {
    let found = load_for(app, who.principal, number, Action::ProcessApplication).await?;
    let receipt = clean_text(receipt)
        .filter(|r| r.chars().count() <= 64)
        .ok_or_else(|| Error::unprocessable("invalid_receipt").field("receipt"))?;
    let amount = owed(&found)?;
    let now = sohoa_storage::applications::now();
    let payment = Payment {
        id: payment_id()?,
        number: found.number.clone(),
        amount,
        // Receipt books are the deciding agency's own: two wards may both issue "0001".
        provider: format!("counter:{}", found.agency_code),
        provider_txn: Some(receipt),
        status: "paid".into(),
        created_at: now,
        paid_at: Some(now),
        recorded_by: Some(who.actor()),
    };
    let record = AuditRecord::new(who.actor(), "payment.counter", "application", &found.number)
        .fields(["payment"])
        .actor_unit(who.principal.agency().map(ToString::to_string))
        .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    if !store::insert(&mut tx, &payment, record).await? {
        return Err(Error::conflict("nothing_to_pay"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    Ok(payment)
}
