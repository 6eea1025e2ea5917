//! Photos of a report: the reporter's, and the officer's of the resolution.

use super::*;

#[derive(Debug, Clone)]
pub struct Photo {
    pub seq: i64,
    pub kind: String,
    pub sha256: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: String,
    pub at: Timestamp,
}

pub async fn photos(db: &Db, id: &str) -> Result<Vec<Photo>> {
    let rows = sqlx::query(
        "SELECT seq, kind, sha256, content_type, size, uploaded_by, at FROM report_photos \
         WHERE report_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Photo {
                seq: int(r, "seq")?,
                kind: text(r, "kind")?,
                sha256: text(r, "sha256")?,
                content_type: text(r, "content_type")?,
                size: int(r, "size")?,
                uploaded_by: text(r, "uploaded_by")?,
                at: parsed(r, "report_photos", "at", stamp)?,
            })
        })
        .collect()
}

/// Adds a photo as the report's next; `None` if it already has `max` of this kind.
pub async fn add_photo(
    tx: &mut Tx,
    id: &str,
    photo: &Photo,
    max: i64,
    record: AuditRecord,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS last, \
         SUM(CASE WHEN kind = $2 THEN 1 ELSE 0 END) AS same FROM report_photos WHERE report_id = $1",
    )
    .bind(id)
    .bind(&photo.kind)
    .fetch_one(&mut **tx)
    .await?;
    if opt_int(&row, "same")?.unwrap_or(0) >= max {
        return Ok(None);
    }
    let seq = int(&row, "last")? + 1;
    sqlx::query(
        "INSERT INTO report_photos (report_id, seq, kind, sha256, content_type, size, uploaded_by, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(seq)
    .bind(&photo.kind)
    .bind(&photo.sha256)
    .bind(&photo.content_type)
    .bind(photo.size)
    .bind(&photo.uploaded_by)
    .bind(photo.at.to_string())
    .execute(&mut **tx)
    .await?;
    audit::append(tx, &record.fields(["photo"])).await?;
    Ok(Some(seq))
}
