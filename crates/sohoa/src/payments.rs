//! `sohoa payments reconcile STATEMENT.csv`: the bank statement of the city's account
//! matched to the fees owed (the rules are `sohoa_app::applications::reconcile`'s). Every
//! line is accounted for: confirmed now, confirmed by an earlier run, refused as
//! unreadable, or left for the finance office with why.

use std::fmt::Write as _;
use std::path::Path;

use sohoa_app::applications::reconcile::{reconcile as run, Matched};
use sohoa_domain::payments::statement;
use sohoa_storage::Db;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}")]
    Statement(String),
    #[error("{0}")]
    App(#[from] sohoa_app::Error),
}

/// The report, and whether every line was settled.
pub async fn reconcile(db: &Db, path: &Path, bank: &str) -> Result<(String, bool), ReconcileError> {
    let bytes =
        std::fs::read(path).map_err(|e| ReconcileError::Read(path.display().to_string(), e))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ReconcileError::Statement("the statement is not UTF-8 text".into()))?;
    let (credits, rejected) = statement::parse(&text).map_err(ReconcileError::Statement)?;
    let matched = run(db, "cli", bank, &credits).await?;
    let count = |f: fn(&Matched) -> bool| matched.iter().filter(|(_, m)| f(m)).count();
    let confirmed = count(|m| matches!(m, Matched::Confirmed(_)));
    let before = count(|m| matches!(m, Matched::AlreadyConfirmed(_)));
    let open = matched.len() - confirmed - before;
    let mut out = format!(
        "{} credits: {confirmed} confirmed now, {before} confirmed before, {open} left for review; {} lines refused\n",
        matched.len(),
        rejected.len()
    );
    for r in &rejected {
        let _ = writeln!(out, "line {}: refused: {}", r.line, r.reason);
    }
    for (c, m) in matched.iter().filter(|(_, m)| !m.is_settled()) {
        let why = match m {
            Matched::NoReference => "the note names no application".to_owned(),
            Matched::SeveralReferences(ns) => {
                let ns: Vec<&str> = ns.iter().map(|n| n.as_str()).collect();
                format!("the note names several applications: {}", ns.join(", "))
            }
            Matched::UnknownApplication(n) => format!("no application {n}"),
            Matched::AmountMismatch {
                number,
                owed: Some(o),
            } => {
                format!("{number} owes {} đồng, not {}", o.dong(), c.amount.dong())
            }
            Matched::AmountMismatch { number, owed: None } => {
                format!("{number} owes nothing now (paid otherwise, free or withdrawn): refund")
            }
            Matched::Confirmed(_) | Matched::AlreadyConfirmed(_) => continue,
        };
        let _ = writeln!(
            out,
            "line {}: {} {} đồng: {why}",
            c.line,
            c.transaction,
            c.amount.dong()
        );
    }
    Ok((out, open == 0 && rejected.is_empty()))
}
