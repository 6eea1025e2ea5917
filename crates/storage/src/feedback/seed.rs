//! Seeding reports in bulk, for benchmarks.

use super::*;

/// Writes reports as they are, without events or audit entries, and adds what they count to
/// the evaluation's counters: for filling a benchmark's database, never for residents'
/// reports.
pub async fn seed(tx: &mut Tx, reports: &[Report]) -> Result<()> {
    const NCOLS: usize = 28;
    for chunk in crate::pow2_chunks(reports, 64) {
        let sql = format!(
            "INSERT INTO reports ({COLUMNS}) VALUES {}",
            crate::values_placeholders(tx, chunk.len(), NCOLS)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = bind_report(q, r);
        }
        q.execute(&mut **tx).await?;
    }
    type Key = (Month, String, AgencyCode);
    let mut counts: std::collections::HashMap<Key, Vec<(Counter, i64)>> = Default::default();
    let mut buckets: std::collections::HashMap<(Key, usize), i64> = Default::default();
    for r in reports {
        let key = (
            month_of(r.created_at),
            r.unit_code.clone(),
            r.agency_code.clone(),
        );
        let c = counts.entry(key.clone()).or_default();
        c.push((Counter::ReportsReceived, 1));
        if let Some(at) = r.resolved_at {
            c.push((Counter::ReportsResolved, 1));
            *buckets
                .entry((key, bucket_of(hours_between(r.created_at, at))))
                .or_default() += 1;
        }
        if let Some(score) = r.rating {
            c.push((Counter::ReportRatings, 1));
            c.push((Counter::ReportScoreSum, score));
        }
    }
    for ((month, unit, agency), deltas) in counts {
        let mut sums: Vec<(Counter, i64)> = Vec::new();
        for (c, d) in deltas {
            match sums.iter_mut().find(|(x, _)| *x == c) {
                Some((_, v)) => *v += d,
                None => sums.push((c, d)),
            }
        }
        bump(tx, month, &unit, &agency, &sums).await?;
    }
    for (((month, unit, agency), bucket), n) in buckets {
        bump_bucket(tx, month, &unit, &agency, bucket, n).await?;
    }
    Ok(())
}
