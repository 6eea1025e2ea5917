//! The communes' boundaries the map and the placing of reports use.

use super::*;

pub async fn boundaries(db: &Db) -> Result<Vec<(Area, String)>> {
    let rows =
        sqlx::query("SELECT unit_code, geometry, source FROM unit_boundaries ORDER BY unit_code")
            .fetch_all(db.reader())
            .await?;
    rows.iter()
        .map(|r| {
            let code = text(r, "unit_code")?;
            let corrupt = |what: String| StorageError::Corrupt(format!("boundary {code}: {what}"));
            let unit = UnitCode::parse(&code).map_err(|e| corrupt(e.to_string()))?;
            let geometry: serde_json::Value =
                serde_json::from_str(&text(r, "geometry")?).map_err(|e| corrupt(e.to_string()))?;
            let area = Area::from_geojson(unit, &geometry).map_err(|e| corrupt(e.to_string()))?;
            Ok((area, text(r, "source")?))
        })
        .collect()
}

/// Replaces the boundaries of the units named in `areas` (others are kept).
pub async fn put_boundaries(
    tx: &mut Tx,
    areas: &[Area],
    source: &str,
    record: Option<AuditRecord>,
) -> Result<()> {
    let now = Timestamp::now().to_string();
    for a in areas {
        sqlx::query(
            "INSERT INTO unit_boundaries (unit_code, geometry, source, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (unit_code) DO UPDATE SET geometry = excluded.geometry, \
             source = excluded.source, updated_at = excluded.updated_at",
        )
        .bind(a.code.as_str())
        .bind(a.geometry().to_string())
        .bind(source)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    }
    if let Some(record) = record {
        audit::append(tx, &record.fields(["geometry"])).await?;
    }
    Ok(())
}

/// Stores the shipped approximate boundaries if there are none yet.
pub async fn ensure_boundaries(db: &Db, areas: &[Area]) -> Result<bool> {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM unit_boundaries")
        .fetch_one(db.reader())
        .await
        .map_err(StorageError::from)
        .and_then(|r| int(&r, "n"))?;
    if n > 0 {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    put_boundaries(&mut tx, areas, "approximate", None).await?;
    tx.commit().await?;
    Ok(true)
}
