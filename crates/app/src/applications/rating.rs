//! The applicant's rating of a decided application, counted in the service evaluation.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::feedback::report::Score;
use sohoa_domain::policy::{Action, Principal};
use sohoa_storage::feedback as store;
use sohoa_storage::StorageError;

use super::load_for;
use crate::{Acting, App, Error, Result};

/// A rating as stored.
#[derive(Debug, Clone)]
pub struct Rated {
    pub number: String,
    pub satisfaction: i64,
    pub on_time: bool,
    pub comment: Option<String>,
    pub rated_at: String,
}

/// The applicant rates their decided application, once: satisfaction 1 to 5, whether it
/// came on time, and a comment.
pub async fn rate(
    app: &App,
    who: Acting<'_>,
    number: &str,
    satisfaction: i64,
    on_time: bool,
    comment: Option<&str>,
) -> Result<Rated> {
    let found = load_for(app, who.principal, number, Action::Apply).await?;
    // Only the applicant rates, not a digital team member who filed it for them.
    if !matches!(who.principal, Principal::Citizen(_)) {
        return Err(Error::forbidden("forbidden"));
    }
    let score = Score::new(satisfaction)
        .map_err(|_| Error::unprocessable("invalid_score").field("satisfaction"))?;
    let comment = crate::feedback::reports::note_of(comment, "comment")?;
    if found.decided_at.is_none() {
        return Err(Error::conflict("application_not_decided"));
    }
    let record = AuditRecord::new(
        who.actor(),
        "application.rate",
        "application",
        &found.number,
    )
    .client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    let rated = store::rate_application(
        &mut tx,
        &found,
        i64::from(score.get()),
        on_time,
        comment.as_deref(),
        record,
    )
    .await?;
    if !rated {
        return Err(Error::conflict("application_already_rated"));
    }
    tx.commit().await.map_err(StorageError::from)?;
    let (satisfaction, on_time, comment, rated_at) =
        store::application_rating(&app.db, &found.number)
            .await?
            .ok_or_else(|| Error::internal("a rating just written is missing"))?;
    Ok(Rated {
        number: found.number.to_string(),
        satisfaction,
        on_time,
        comment,
        rated_at,
    })
}
