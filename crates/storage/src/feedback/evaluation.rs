//! The counters of the service evaluation and its published figures.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Reports resolved within the hours of a bucket of [`BUCKET_HOURS`] (the last: longer).
    Resolved(usize),
    AppsDecided,
    AppsOnTime,
    AppRatings,
    AppScoreSum,
    ReportsReceived,
    ReportsResolved,
    ReportRatings,
    ReportScoreSum,
}

/// The columns of the resolution-time buckets, one more than the bounds.
const BUCKET_COLUMNS: [&str; BUCKET_HOURS.len() + 1] = [
    "resolved_b0",
    "resolved_b1",
    "resolved_b2",
    "resolved_b3",
    "resolved_b4",
    "resolved_b5",
    "resolved_b6",
    "resolved_b7",
    "resolved_b8",
    "resolved_b9",
    "resolved_b10",
    "resolved_b11",
    "resolved_b12",
    "resolved_b13",
    "resolved_b14",
    "resolved_b15",
    "resolved_b16",
];

impl Counter {
    const ALL: [Counter; 8] = [
        Counter::AppsDecided,
        Counter::AppsOnTime,
        Counter::AppRatings,
        Counter::AppScoreSum,
        Counter::ReportsReceived,
        Counter::ReportsResolved,
        Counter::ReportRatings,
        Counter::ReportScoreSum,
    ];

    fn column(self) -> &'static str {
        match self {
            Counter::Resolved(b) => BUCKET_COLUMNS[b.min(BUCKET_COLUMNS.len() - 1)],
            Counter::AppsDecided => "apps_decided",
            Counter::AppsOnTime => "apps_on_time",
            Counter::AppRatings => "app_ratings",
            Counter::AppScoreSum => "app_score_sum",
            Counter::ReportsReceived => "reports_received",
            Counter::ReportsResolved => "reports_resolved",
            Counter::ReportRatings => "report_ratings",
            Counter::ReportScoreSum => "report_score_sum",
        }
    }
}

/// Adds `deltas` to one cell's counters.
pub async fn bump(
    tx: &mut Tx,
    month: Month,
    unit: &str,
    agency: &str,
    deltas: &[(Counter, i64)],
) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    let cols: Vec<&str> = deltas.iter().map(|(c, _)| c.column()).collect();
    let marks: Vec<String> = (0..deltas.len()).map(|i| format!("${}", i + 4)).collect();
    let sets: Vec<String> = cols
        .iter()
        .map(|c| format!("{c} = evaluation_counts.{c} + excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO evaluation_counts (month, unit_code, agency_code, {}) VALUES ($1, $2, $3, {}) \
         ON CONFLICT (month, unit_code, agency_code) DO UPDATE SET {}",
        cols.join(", "),
        marks.join(", "),
        sets.join(", ")
    );
    let mut q = sqlx::query(&sql)
        .bind(month.to_string())
        .bind(unit.to_owned())
        .bind(agency.to_owned());
    for (_, d) in deltas {
        q = q.bind(*d);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

pub(super) async fn bump_bucket(
    tx: &mut Tx,
    month: Month,
    unit: &str,
    agency: &str,
    bucket: usize,
    delta: i64,
) -> Result<()> {
    bump(
        tx,
        month,
        unit,
        agency,
        &[(Counter::Resolved(bucket), delta)],
    )
    .await
}

/// One cell of the evaluation: a commune, or an agency, or a commune × agency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub unit_code: Option<String>,
    pub agency_code: Option<String>,
    pub apps_decided: i64,
    pub apps_on_time: i64,
    pub app_ratings: i64,
    pub app_score_sum: i64,
    pub reports_received: i64,
    pub reports_resolved: i64,
    pub report_ratings: i64,
    pub report_score_sum: i64,
    /// Resolved reports per bucket of hours (one more than the bucket bounds).
    pub resolution: Vec<i64>,
}

impl Cell {
    fn add(&mut self, counter: Counter, v: i64) {
        let slot = match counter {
            Counter::Resolved(b) => {
                let i = b.min(self.resolution.len().saturating_sub(1));
                match self.resolution.get_mut(i) {
                    Some(slot) => slot,
                    None => return,
                }
            }
            Counter::AppsDecided => &mut self.apps_decided,
            Counter::AppsOnTime => &mut self.apps_on_time,
            Counter::AppRatings => &mut self.app_ratings,
            Counter::AppScoreSum => &mut self.app_score_sum,
            Counter::ReportsReceived => &mut self.reports_received,
            Counter::ReportsResolved => &mut self.reports_resolved,
            Counter::ReportRatings => &mut self.report_ratings,
            Counter::ReportScoreSum => &mut self.report_score_sum,
        };
        *slot += v;
    }

    /// Every counter of this cell and of `other`, added.
    pub fn merge(&mut self, other: &Cell) {
        for c in Counter::ALL {
            self.add(c, other.get(c));
        }
        for (i, n) in other.resolution.iter().enumerate() {
            self.add(Counter::Resolved(i), *n);
        }
    }

    fn get(&self, counter: Counter) -> i64 {
        match counter {
            Counter::Resolved(b) => self.resolution.get(b).copied().unwrap_or(0),
            Counter::AppsDecided => self.apps_decided,
            Counter::AppsOnTime => self.apps_on_time,
            Counter::AppRatings => self.app_ratings,
            Counter::AppScoreSum => self.app_score_sum,
            Counter::ReportsReceived => self.reports_received,
            Counter::ReportsResolved => self.reports_resolved,
            Counter::ReportRatings => self.report_ratings,
            Counter::ReportScoreSum => self.report_score_sum,
        }
    }

    /// An empty cell of a commune, with room for every resolution bucket.
    pub fn of_unit(unit_code: &str) -> Cell {
        Cell {
            unit_code: Some(unit_code.to_owned()),
            resolution: vec![0; BUCKET_HOURS.len() + 1],
            ..Cell::default()
        }
    }

    /// Reads every counter column of `r` into this cell.
    fn read(mut self, r: &AnyRow) -> Result<Cell> {
        if self.resolution.len() < BUCKET_COLUMNS.len() {
            self.resolution.resize(BUCKET_COLUMNS.len(), 0);
        }
        for c in Counter::ALL
            .into_iter()
            .chain((0..BUCKET_COLUMNS.len()).map(Counter::Resolved))
        {
            self.add(c, opt_int(r, c.column())?.unwrap_or(0));
        }
        Ok(self)
    }
}

/// Every counter column, counters first then the resolution buckets.
fn counter_columns() -> impl Iterator<Item = &'static str> {
    Counter::ALL
        .iter()
        .map(|c| c.column())
        .chain(BUCKET_COLUMNS)
}

/// The evaluation's cells per month and commune for the months `from..=to` (what the
/// public evaluation publishes from).
pub async fn cells_by_month(db: &Db, from: Month, to: Month) -> Result<Vec<(Month, Cell)>> {
    let sums: Vec<String> = counter_columns()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect();
    let rows = sqlx::query(&format!(
        "SELECT month, unit_code, {} FROM evaluation_counts WHERE month >= $1 AND month <= $2 \
         GROUP BY month, unit_code ORDER BY month, unit_code",
        sums.join(", ")
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                month_of_text(r)?,
                Cell::of_unit(&text(r, "unit_code")?).read(r)?,
            ))
        })
        .collect()
}

fn month_of_text(r: &AnyRow) -> Result<Month> {
    let m = text(r, "month")?;
    Month::parse(&m).map_err(|_| StorageError::Corrupt(format!("evaluation month {m}")))
}

/// The public evaluation's figures as last published, for the months `from..=to`.
pub async fn published(
    db: &Db,
    from: Month,
    to: Month,
) -> Result<Vec<(Month, PublicFigure, Cell)>> {
    let rows = sqlx::query(&format!(
        "SELECT month, unit_code, figure, {} FROM evaluation_published \
         WHERE month >= $1 AND month <= $2",
        counter_columns().collect::<Vec<_>>().join(", ")
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            let f = text(r, "figure")?;
            let figure = PublicFigure::parse(&f)
                .ok_or_else(|| StorageError::Corrupt(format!("published figure {f}")))?;
            Ok((
                month_of_text(r)?,
                figure,
                Cell::of_unit(&text(r, "unit_code")?).read(r)?,
            ))
        })
        .collect()
}

/// Publishes figures anew: each (month, commune, figure) keeps the counters it was
/// published from. Two readers publishing the same figure at once write the same row.
pub async fn publish(db: &Db, figures: &[(Month, PublicFigure, Cell)]) -> Result<()> {
    if figures.is_empty() {
        return Ok(());
    }
    let cols: Vec<&str> = counter_columns().collect();
    let marks: Vec<String> = (0..cols.len()).map(|i| format!("${}", i + 5)).collect();
    let sets: Vec<String> = std::iter::once("published_at")
        .chain(cols.iter().copied())
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO evaluation_published (month, unit_code, figure, published_at, {}) \
         VALUES ($1, $2, $3, $4, {}) ON CONFLICT (month, unit_code, figure) DO UPDATE SET {}",
        cols.join(", "),
        marks.join(", "),
        sets.join(", ")
    );
    let now = Timestamp::now().to_string();
    let mut tx = db.begin().await?;
    for (month, figure, cell) in figures {
        let mut q = sqlx::query(&sql)
            .bind(month.to_string())
            .bind(cell.unit_code.clone().unwrap_or_default())
            .bind(figure.as_str())
            .bind(&now);
        for c in Counter::ALL
            .into_iter()
            .chain((0..BUCKET_COLUMNS.len()).map(Counter::Resolved))
        {
            q = q.bind(cell.get(c));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// How cells are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Unit,
    Agency,
    UnitAndAgency,
}

/// The evaluation's cells for the months `from..=to`: one read of the counters of those
/// months, whatever the number of reports and applications behind them.
pub async fn cells(db: &Db, from: Month, to: Month, by: GroupBy) -> Result<Vec<Cell>> {
    let keys = match by {
        GroupBy::Unit => "unit_code",
        GroupBy::Agency => "agency_code",
        GroupBy::UnitAndAgency => "unit_code, agency_code",
    };
    let sums: Vec<String> = counter_columns()
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect();
    let rows = sqlx::query(&format!(
        "SELECT {keys}, {} FROM evaluation_counts WHERE month >= $1 AND month <= $2 \
         GROUP BY {keys} ORDER BY {keys}",
        sums.join(", ")
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(db.reader())
    .await?;
    let key_of = |r: &AnyRow| -> Result<(Option<String>, Option<String>)> {
        Ok(match by {
            GroupBy::Unit => (Some(text(r, "unit_code")?), None),
            GroupBy::Agency => (None, Some(text(r, "agency_code")?)),
            GroupBy::UnitAndAgency => (Some(text(r, "unit_code")?), Some(text(r, "agency_code")?)),
        })
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let (unit_code, agency_code) = key_of(r)?;
        let cell = Cell {
            unit_code,
            agency_code,
            resolution: vec![0; BUCKET_HOURS.len() + 1],
            ..Cell::default()
        };
        out.push(cell.read(r)?);
    }
    Ok(out)
}
