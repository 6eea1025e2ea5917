//! `sohoa monitoring`: the procedure-monitoring counters checked against a full recount of
//! the applications, and replaced by it on request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sohoa_storage::monitoring as store;
use sohoa_storage::{Db, StorageError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub applications: u64,
    /// Counters that differ from the recount (missing on either side included).
    pub differences: usize,
    pub repaired: bool,
}

pub async fn check(db: &Db, repair: bool, progress: bool) -> Result<Outcome, StorageError> {
    let total = store::applications(db).await?;
    let seen = Arc::new(AtomicU64::new(0));
    let mut bar = crate::import::Progress::new(progress, total.max(0) as u64, seen.clone());
    // Overdue as the stored counters reckon it, so that only real differences count.
    let overdue_before = store::overdue_before(db).await?;
    let recounted = store::recount(db, |n| {
        seen.store(n, Ordering::Relaxed);
        bar.tick(n, n >= total.max(0) as u64);
    })
    .await?;
    let recounted = store::Counters::of(&recounted, &overdue_before);
    let differences = store::differences(&store::stored(db).await?, &recounted);
    let repaired = repair && differences > 0;
    if repaired {
        store::replace(db, &recounted, &overdue_before).await?;
    }
    Ok(Outcome {
        applications: seen.load(Ordering::Relaxed),
        differences,
        repaired,
    })
}
