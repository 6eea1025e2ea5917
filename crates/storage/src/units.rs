//! Administrative units: loading the reference data and looking units up by code and date.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::paging::{Page, PageRequest};
use sohoa_domain::registry::date_text;
use sohoa_domain::units::{fingerprint, Unit, UnitKind, UnitLevel};
use sohoa_domain::UnitCode;
use sqlx::any::AnyRow;
use time::{macros::format_description, Date};

use crate::{
    audit, contains_pattern, int, opt_text, settings, text, Db, Filter, Result, StorageError, Tx,
};

/// Stored start date of units whose start predates the reference data.
const BEFORE_RECORDS: &str = "0001-01-01";
const FINGERPRINT_KEY: &str = "reference_units_fingerprint";

fn parse_date(s: &str) -> Result<Date> {
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map_err(|e| StorageError::Corrupt(format!("date {s:?}: {e}")))
}

fn level_text(l: UnitLevel) -> &'static str {
    match l {
        UnitLevel::Province => "province",
        UnitLevel::District => "district",
        UnitLevel::Commune => "commune",
    }
}

fn unit_from_row(row: &AnyRow) -> Result<Unit> {
    let code = text(row, "code")?;
    let corrupt = |what: &str| StorageError::Corrupt(format!("unit {code}: {what}"));
    let valid_from = text(row, "valid_from")?;
    Ok(Unit {
        code: UnitCode::parse(&code).map_err(|_| corrupt("code"))?,
        name: text(row, "name")?,
        kind: UnitKind::parse(&text(row, "kind")?).ok_or_else(|| corrupt("kind"))?,
        parent_code: opt_text(row, "parent_code")?
            .map(|p| UnitCode::parse(&p).map_err(|_| corrupt("parent_code")))
            .transpose()?,
        valid_from: if valid_from == BEFORE_RECORDS {
            None
        } else {
            Some(parse_date(&valid_from)?)
        },
        valid_to: opt_text(row, "valid_to")?
            .map(|d| parse_date(&d))
            .transpose()?,
    })
}

/// Loads the reference units into the database if they differ from what is there (by a
/// fingerprint of the data), in one transaction with one audit entry. Returns how many
/// units were written; 0 when the database already had this data.
pub async fn load_reference(db: &Db, units: &[Unit]) -> Result<usize> {
    let fp = fingerprint(units);
    let mut tx = db.begin().await?;
    if settings::get(&mut tx, FINGERPRINT_KEY).await?.as_deref() == Some(fp.as_str()) {
        return Ok(0);
    }
    for u in units {
        upsert(&mut tx, u).await?;
    }
    settings::set(&mut tx, FINGERPRINT_KEY, &fp).await?;
    let record = AuditRecord::new("system", "units.load_reference", "units", "reference").fields([
        format!("count={}", units.len()),
        format!("fingerprint={fp}"),
    ]);
    audit::append(&mut tx, &record).await?;
    tx.commit().await?;
    Ok(units.len())
}

async fn upsert(tx: &mut Tx, u: &Unit) -> Result<()> {
    sqlx::query(
        "INSERT INTO units (code, valid_from, valid_to, name, name_folded, kind, level, parent_code) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (code, valid_from) DO UPDATE SET valid_to = excluded.valid_to, name = excluded.name, \
         name_folded = excluded.name_folded, kind = excluded.kind, level = excluded.level, \
         parent_code = excluded.parent_code",
    )
    .bind(u.code.as_str())
    .bind(u.valid_from.map_or_else(|| BEFORE_RECORDS.to_owned(), date_text))
    .bind(u.valid_to.map(date_text))
    .bind(&u.name)
    .bind(u.name_folded())
    .bind(u.kind.as_str())
    .bind(level_text(u.kind.level()))
    .bind(u.parent_code.as_ref().map(|c| c.as_str().to_owned()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What to list.
#[derive(Debug, Clone)]
pub struct UnitQuery {
    /// Units in force on this day.
    pub as_of: Date,
    pub level: Option<UnitLevel>,
    pub kind: Option<UnitKind>,
    pub parent: Option<UnitCode>,
    /// Matched against the name with diacritics and case folded.
    pub search: Option<String>,
    pub page: PageRequest,
}

const COLUMNS: &str = "code, valid_from, valid_to, name, kind, parent_code";

fn in_force_on(f: &mut Filter, day: Date) {
    let d = date_text(day);
    f.and(
        "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)",
        [d.clone(), d],
    );
}

pub async fn list(db: &Db, q: &UnitQuery) -> Result<Page<Unit>> {
    let mut f = Filter::default();
    in_force_on(&mut f, q.as_of);
    if let Some(l) = q.level {
        f.and("level = ?", [level_text(l).into()]);
    }
    if let Some(k) = q.kind {
        f.and("kind = ?", [k.as_str().into()]);
    }
    if let Some(p) = &q.parent {
        f.and("parent_code = ?", [p.as_str().into()]);
    }
    if let Some(s) = q
        .search
        .as_deref()
        .map(sohoa_domain::text::fold)
        .filter(|s| !s.is_empty())
    {
        f.and(
            "(name_folded LIKE ? ESCAPE '\\' OR code = ?)",
            [contains_pattern(&s), s],
        );
    }
    let where_sql = f.where_sql();
    let total_row = f
        .bind(sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM units{where_sql}"
        )))
        .fetch_one(db.reader())
        .await?;
    let total = int(&total_row, "n")?;
    let n = f.next_placeholder();
    let sql = format!(
        "SELECT {COLUMNS} FROM units{where_sql} ORDER BY name_folded, code LIMIT ${} OFFSET ${}",
        n,
        n + 1
    );
    let rows = f
        .bind(sqlx::query(&sql))
        .bind(q.page.limit())
        .bind(q.page.offset())
        .fetch_all(db.reader())
        .await?;
    let items = rows.iter().map(unit_from_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::new(items, total, q.page))
}

/// The unit a code named on a given day.
pub async fn get(db: &Db, code: &UnitCode, as_of: Date) -> Result<Option<Unit>> {
    let mut f = Filter::default();
    f.and("code = ?", [code.as_str().into()]);
    in_force_on(&mut f, as_of);
    let row = f
        .bind(sqlx::query(&format!(
            "SELECT {COLUMNS} FROM units{}",
            f.where_sql()
        )))
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(unit_from_row).transpose()
}

/// Every unit a code has named, oldest first.
pub async fn history(db: &Db, code: &UnitCode) -> Result<Vec<Unit>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM units WHERE code = $1 ORDER BY valid_from"
    ))
    .bind(code.as_str())
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(unit_from_row).collect()
}
