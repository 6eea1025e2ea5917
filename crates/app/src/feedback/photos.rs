//! Photos of a report: the reporter's, and the officer's of the resolution. Read by the
//! same people who read the report in full.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::policy::Principal;
use sohoa_domain::Timestamp;
use sohoa_storage::feedback::{self as store, Photo, Report};
use sohoa_storage::StorageError;

use super::reports::{is_handler, is_reporter, load};
use crate::{blocking, Acting, App, Error, Result};

/// Photos per report and kind.
pub const MAX_PHOTOS: i64 = 5;

/// Which photo `who` may add to the report: an officer of its agency adds the resolution's,
/// its reporter (by session or code) their own. Asked before the upload is read, so a
/// stranger's bytes are never taken in.
pub async fn may_add(
    app: &App,
    who: &Principal,
    id: &str,
    code: Option<&str>,
) -> Result<(Report, &'static str)> {
    let r = load(app, id).await?;
    let kind = if is_handler(who, &r) {
        "resolution"
    } else if is_reporter(who, &r, code) {
        "report"
    } else {
        return Err(Error::forbidden("not_reporter"));
    };
    Ok((r, kind))
}

/// Keeps checked bytes (their media type sniffed by the channel) as the report's next
/// photo of `kind`, at most [`MAX_PHOTOS`] a kind. Answers its number and row.
pub async fn keep(
    app: &App,
    who: Acting<'_>,
    report_id: &str,
    kind: &str,
    bytes: Vec<u8>,
    media: &str,
) -> Result<(i64, Photo)> {
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let files = app.files.clone();
    let sha256 = blocking(move || files.put(&bytes)).await??;
    let photo = Photo {
        seq: 0,
        kind: kind.to_owned(),
        sha256,
        content_type: media.to_owned(),
        size,
        uploaded_by: who.actor(),
        at: Timestamp::now(),
    };
    let record =
        AuditRecord::new(who.actor(), "report.photo", "report", report_id).client_addr(who.addr());
    let mut tx = app.db.begin().await?;
    let seq = store::add_photo(&mut tx, report_id, &photo, MAX_PHOTOS, record)
        .await?
        .ok_or_else(|| Error::conflict("too_many_photos").arg("max", MAX_PHOTOS))?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok((seq, photo))
}

/// A photo with its bytes, for the report's reporter and its agency's officers; to anyone
/// else it is absent.
pub async fn read(
    app: &App,
    who: &Principal,
    id: &str,
    seq: &str,
    code: Option<&str>,
) -> Result<(Photo, Vec<u8>)> {
    let r = load(app, id).await?;
    let allowed = is_handler(who, &r) || is_reporter(who, &r, code);
    let photo = store::photos(&app.db, &r.id)
        .await?
        .into_iter()
        .find(|p| p.seq.to_string() == seq)
        .filter(|_| allowed)
        .ok_or_else(|| Error::not_found("photo_not_found"))?;
    let files = app.files.clone();
    let sha = photo.sha256.clone();
    let bytes = blocking(move || files.get(&sha))
        .await??
        .ok_or_else(|| Error::internal(format!("photo {seq} of {} is missing", r.id)))?;
    Ok((photo, bytes))
}
