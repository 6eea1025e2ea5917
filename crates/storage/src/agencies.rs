//! Agencies: the departments and People's Committees everything else belongs to.

use sohoa_domain::agency::{Agency, AgencyCode, AgencyLevel};
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::paging::{Page, PageRequest};
use sohoa_domain::{Timestamp, UnitCode};
use sqlx::any::AnyRow;

use crate::{audit, contains_pattern, int, text, Db, Filter, Result, StorageError, Tx};

const COLUMNS: &str = "code, name_vi, name_en, level, unit_code";

fn agency_from_row(row: &AnyRow) -> Result<Agency> {
    let code = text(row, "code")?;
    let corrupt = |what: &str| StorageError::Corrupt(format!("agency {code}: {what}"));
    Ok(Agency {
        code: AgencyCode::parse(&code).map_err(|_| corrupt("code"))?,
        name_vi: text(row, "name_vi")?,
        name_en: text(row, "name_en")?,
        level: AgencyLevel::parse(&text(row, "level")?).ok_or_else(|| corrupt("level"))?,
        unit_code: UnitCode::parse(&text(row, "unit_code")?).map_err(|_| corrupt("unit_code"))?,
    })
}

/// Inserts an agency and its audit entry in `tx`. A duplicate code is a `Conflict`, and
/// nothing is written.
pub async fn create(tx: &mut Tx, agency: &Agency, record: AuditRecord) -> Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO agencies (code, name_vi, name_en, search_text, level, unit_code, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (code) DO NOTHING",
    )
    .bind(agency.code.as_str())
    .bind(&agency.name_vi)
    .bind(&agency.name_en)
    .bind(agency.search_text())
    .bind(agency.level.as_str())
    .bind(agency.unit_code.as_str())
    .bind(Timestamp::now().to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StorageError::Conflict(format!("agency {}", agency.code)));
    }
    audit::append(
        tx,
        &record.fields(["code", "name_vi", "name_en", "level", "unit_code"]),
    )
    .await?;
    Ok(())
}

pub async fn get(db: &Db, code: &AgencyCode) -> Result<Option<Agency>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM agencies WHERE code = $1"))
        .bind(code.as_str())
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(agency_from_row).transpose()
}

/// The commune-level agency serving `unit` (its People's Committee), the first by code if
/// several are registered.
pub async fn commune_agency(db: &Db, unit: &str) -> Result<Option<Agency>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM agencies WHERE level = 'commune' AND unit_code = $1 ORDER BY code LIMIT 1"
    ))
    .bind(unit)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(agency_from_row).transpose()
}

pub async fn exists(tx: &mut Tx, code: &AgencyCode) -> Result<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM agencies WHERE code = $1")
        .bind(code.as_str())
        .fetch_one(&mut **tx)
        .await?;
    Ok(int(&row, "n")? > 0)
}

pub async fn list(
    db: &Db,
    search: Option<&str>,
    level: Option<AgencyLevel>,
    page: PageRequest,
) -> Result<Page<Agency>> {
    let mut f = Filter::default();
    if let Some(s) = search
        .map(sohoa_domain::text::fold)
        .filter(|s| !s.is_empty())
    {
        f.and("search_text LIKE ? ESCAPE '\\'", [contains_pattern(&s)]);
    }
    if let Some(l) = level {
        f.and("level = ?", [l.as_str().into()]);
    }
    let where_sql = f.where_sql();
    let total_row = f
        .bind(sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM agencies{where_sql}"
        )))
        .fetch_one(db.reader())
        .await?;
    let n = f.next_placeholder();
    let rows = f
        .bind(sqlx::query(&format!(
            "SELECT {COLUMNS} FROM agencies{where_sql} ORDER BY level, code LIMIT ${n} OFFSET ${}",
            n + 1
        )))
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(db.reader())
        .await?;
    let items = rows
        .iter()
        .map(agency_from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::new(items, int(&total_row, "n")?, page))
}
