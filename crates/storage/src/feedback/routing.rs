//! Report categories and which agency answers each in each commune.

use super::*;
use sohoa_domain::agency::AgencyCode;

pub async fn categories(db: &Db) -> Result<Vec<Category>> {
    let rows = sqlx::query("SELECT code, definition FROM report_categories ORDER BY code")
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(category_from_row).collect()
}

pub async fn category(db: &Db, code: &str) -> Result<Option<Category>> {
    let row = sqlx::query("SELECT code, definition FROM report_categories WHERE code = $1")
        .bind(code)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(category_from_row).transpose()
}

fn category_from_row(row: &AnyRow) -> Result<Category> {
    let code = text(row, "code")?;
    serde_json::from_str(&text(row, "definition")?)
        .map_err(|e| StorageError::Corrupt(format!("report category {code}: {e}")))
}

/// Inserts the categories not there yet; an administrator's edits are kept.
pub async fn ensure_categories(db: &Db, defaults: &[Category]) -> Result<usize> {
    let mut tx = db.begin().await?;
    let mut added = 0;
    for c in defaults {
        let definition = serde_json::to_string(c)
            .map_err(|e| StorageError::Corrupt(format!("category {}: {e}", c.code)))?;
        added += sqlx::query(
            "INSERT INTO report_categories (code, definition, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (code) DO NOTHING",
        )
        .bind(&c.code)
        .bind(definition)
        .bind(Timestamp::now().to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
    }
    tx.commit().await?;
    Ok(added)
}

/// The agency a category's reports in `unit` go to: the commune's own route, the city-wide
/// one, or the commune's People's Committee.
pub async fn route(db: &Db, category: &str, unit: &UnitCode) -> Result<Option<AgencyCode>> {
    let row = sqlx::query(
        "SELECT agency_code FROM report_routes WHERE category_code = $1 AND unit_code IN ($2, '*') \
         ORDER BY CASE WHEN unit_code = '*' THEN 1 ELSE 0 END LIMIT 1",
    )
    .bind(category)
    .bind(unit.as_str())
    .fetch_optional(db.reader())
    .await?;
    if let Some(row) = row {
        let agency = parsed(&row, "report_routes", "agency_code", |a| {
            AgencyCode::parse(a).ok()
        })?;
        return Ok(Some(agency));
    }
    Ok(crate::agencies::commune_agency(db, unit.as_str())
        .await?
        .map(|a| a.code))
}

#[derive(Debug, Clone)]
pub struct Route {
    pub category_code: String,
    /// `*` for every commune without its own.
    pub unit_code: String,
    pub agency_code: AgencyCode,
    pub updated_at: Timestamp,
    /// The audit log's actor who set it.
    pub updated_by: String,
}

pub async fn routes(db: &Db) -> Result<Vec<Route>> {
    let rows = sqlx::query(
        "SELECT category_code, unit_code, agency_code, updated_at, updated_by FROM report_routes \
         ORDER BY category_code, unit_code",
    )
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Route {
                category_code: text(r, "category_code")?,
                unit_code: text(r, "unit_code")?,
                agency_code: parsed(r, "report_routes", "agency_code", |a| {
                    AgencyCode::parse(a).ok()
                })?,
                updated_at: parsed(r, "report_routes", "updated_at", stamp)?,
                updated_by: text(r, "updated_by")?,
            })
        })
        .collect()
}

/// Sets (or, with no agency, removes) one route.
pub async fn set_route(
    tx: &mut Tx,
    category: &str,
    unit: &str,
    agency: Option<&str>,
    record: AuditRecord,
) -> Result<()> {
    let now = Timestamp::now().to_string();
    match agency {
        Some(agency) => {
            sqlx::query(
                "INSERT INTO report_routes (category_code, unit_code, agency_code, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (category_code, unit_code) DO UPDATE \
                 SET agency_code = excluded.agency_code, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by",
            )
            .bind(category)
            .bind(unit)
            .bind(agency)
            .bind(&now)
            .bind(&record.actor)
            .execute(&mut **tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM report_routes WHERE category_code = $1 AND unit_code = $2")
                .bind(category)
                .bind(unit)
                .execute(&mut **tx)
                .await?;
        }
    }
    audit::append(tx, &record.fields(["agency_code"])).await?;
    Ok(())
}
