//! Applicants' ratings of their applications.

use super::*;

/// Rates a decided application once; `Ok(false)` if it was rated already.
#[allow(clippy::too_many_arguments)]
pub async fn rate_application(
    tx: &mut Tx,
    app: &crate::application::Application,
    satisfaction: i64,
    on_time: bool,
    comment: Option<&str>,
    record: AuditRecord,
) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO application_ratings (number, satisfaction, on_time, comment, rated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (number) DO NOTHING",
    )
    .bind(app.number.as_str())
    .bind(satisfaction)
    .bind(i64::from(on_time))
    .bind(comment)
    .bind(Timestamp::now().to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let decided = app
        .decided_at
        .ok_or_else(|| StorageError::Corrupt(format!("application {} undecided", app.number)))?;
    bump(
        tx,
        Month::of(decided.local_date()),
        &app.unit_code,
        &app.agency_code,
        &[
            (Counter::AppRatings, 1),
            (Counter::AppScoreSum, satisfaction),
        ],
    )
    .await?;
    audit::append(tx, &record.fields(["satisfaction", "on_time", "comment"])).await?;
    Ok(true)
}

/// Counts an application decided now: on time if decided by its due day.
pub(crate) async fn count_decision(
    tx: &mut Tx,
    app: &crate::application::Application,
) -> Result<()> {
    let Some(decided) = app.decided_at else {
        return Ok(());
    };
    let day = decided.local_date();
    let on_time = app.due_on.is_none_or(|due| day <= due);
    bump(
        tx,
        Month::of(day),
        &app.unit_code,
        &app.agency_code,
        &[
            (Counter::AppsDecided, 1),
            (Counter::AppsOnTime, i64::from(on_time)),
        ],
    )
    .await
}

pub async fn application_rating(
    db: &Db,
    number: &str,
) -> Result<Option<(i64, bool, Option<String>, String)>> {
    let row = sqlx::query(
        "SELECT satisfaction, on_time, comment, rated_at FROM application_ratings WHERE number = $1",
    )
    .bind(number)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| {
        Ok((
            int(&r, "satisfaction")?,
            int(&r, "on_time")? != 0,
            opt_text(&r, "comment")?,
            text(&r, "rated_at")?,
        ))
    })
    .transpose()
}
