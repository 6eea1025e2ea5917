//! Reconciling the city's bank statement with the fees owed: each credit whose transfer
//! note names exactly one application, for exactly what it owes, confirms its fee, once
//! per bank transaction however often the statement is read again; everything else is
//! listed with its line and why, for the finance office to settle by hand.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::payments::statement::Credit;
use sohoa_domain::services::application::ApplicationNumber;
use sohoa_domain::Money;
use sohoa_storage::applications as apps;
use sohoa_storage::payments::{self as store, Payment};
use sohoa_storage::StorageError;

use super::payments::{owed, payment_id};
use sohoa_storage::Db;

use crate::Result;

/// What became of one credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// This credit paid the application's fee now.
    Confirmed(ApplicationNumber),
    /// This bank transaction paid it before (the statement was read again).
    AlreadyConfirmed(ApplicationNumber),
    /// The note names no application.
    NoReference,
    /// The note names several: which one was paid is for a person to decide.
    SeveralReferences(Vec<ApplicationNumber>),
    /// No application has this number.
    UnknownApplication(ApplicationNumber),
    /// The amount is not what the application owes (`None`: it owes nothing now: paid
    /// otherwise, free, or withdrawn; the money is owed back).
    AmountMismatch {
        number: ApplicationNumber,
        owed: Option<Money>,
    },
}

impl Matched {
    pub fn is_settled(&self) -> bool {
        matches!(self, Matched::Confirmed(_) | Matched::AlreadyConfirmed(_))
    }
}

/// The provider name bank transfers into `bank`'s account are recorded under.
pub fn provider_of(bank: &str) -> String {
    format!("bank:{bank}")
}

/// Matches every credit in order (two credits for one fee: the first pays it, the second
/// is listed as not owed). `actor` names who ran it, for the audit log.
pub async fn reconcile(
    db: &Db,
    actor: &str,
    bank: &str,
    credits: &[Credit],
) -> Result<Vec<(Credit, Matched)>> {
    let provider = provider_of(bank);
    let mut out = Vec::with_capacity(credits.len());
    for c in credits {
        let matched = match_one(db, actor, &provider, c).await?;
        out.push((c.clone(), matched));
    }
    Ok(out)
}

async fn match_one(db: &Db, actor: &str, provider: &str, c: &Credit) -> Result<Matched> {
    let number = match c.numbers.as_slice() {
        [] => return Ok(Matched::NoReference),
        [one] => one.clone(),
        several => return Ok(Matched::SeveralReferences(several.to_vec())),
    };
    if store::by_transaction(db, provider, &c.transaction)
        .await?
        .is_some()
    {
        return Ok(Matched::AlreadyConfirmed(number));
    }
    let Some(found) = apps::get(db, number.as_str()).await? else {
        return Ok(Matched::UnknownApplication(number));
    };
    let due = owed(&found).ok();
    if due != Some(c.amount) {
        return Ok(Matched::AmountMismatch { number, owed: due });
    }
    let paid_at = sohoa_storage::applications::now();
    let payment = Payment {
        id: payment_id()?,
        number: number.clone(),
        amount: c.amount,
        provider: provider.to_owned(),
        provider_txn: Some(c.transaction.clone()),
        status: "paid".into(),
        created_at: paid_at,
        paid_at: Some(paid_at),
        recorded_by: Some(actor.to_owned()),
    };
    let record = AuditRecord::new(
        actor,
        "payment.bank_transfer",
        "application",
        number.as_str(),
    )
    .fields(["payment"])
    .purpose(format!("statement line {}: {}", c.line, c.transaction));
    let mut tx = db.begin().await?;
    if store::insert(&mut tx, &payment, record).await? {
        tx.commit().await.map_err(StorageError::from)?;
        return Ok(Matched::Confirmed(number));
    }
    drop(tx);
    // Another reader of the same statement, or a payment of another kind, got there first.
    if store::by_transaction(db, provider, &c.transaction)
        .await?
        .is_some()
    {
        Ok(Matched::AlreadyConfirmed(number))
    } else {
        Ok(Matched::AmountMismatch { number, owed: None })
    }
}
