//! The procedure catalog: every save of a changed procedure is a new version, kept forever.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::paging::{Page, PageRequest};
use sohoa_domain::services::procedure::{Level, Procedure, ProcedureCode};
use sohoa_domain::Timestamp;
use sqlx::any::AnyRow;

use crate::{audit, contains_pattern, int, text, Db, Filter, Result, StorageError, Tx};

/// A version of a procedure, with when and by whom it was saved.
#[derive(Debug, Clone)]
pub struct Versioned {
    pub procedure: Procedure,
    pub version: i64,
    pub changed_at: sohoa_domain::Timestamp,
    pub actor: String,
}

fn from_row(row: &AnyRow) -> Result<Versioned> {
    let data = text(row, "data")?;
    let procedure: Procedure = serde_json::from_str(&data).map_err(|e| {
        StorageError::Corrupt(format!(
            "procedure {}: {e}",
            text(row, "code").unwrap_or_default()
        ))
    })?;
    Ok(Versioned {
        procedure,
        version: int(row, "version")?,
        changed_at: crate::parsed(row, "procedures", "changed_at", crate::stamp)?,
        actor: text(row, "actor")?,
    })
}

/// Saves `p` as the procedure's next version, unless it equals the current one. Returns
/// the version in force afterwards and whether it is new.
pub async fn save(
    tx: &mut Tx,
    p: &Procedure,
    actor: &str,
    record: AuditRecord,
) -> Result<(i64, bool)> {
    let data = serde_json::to_string(p).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let current = sqlx::query("SELECT version, data FROM procedures WHERE code = $1")
        .bind(p.code.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = &current {
        if text(row, "data")? == data {
            return Ok((int(row, "version")?, false));
        }
    }
    let version = match &current {
        Some(row) => int(row, "version")? + 1,
        None => 1,
    };
    let now = Timestamp::now().to_string();
    sqlx::query(
        "INSERT INTO procedure_versions (code, version, data, changed_at, actor) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(p.code.as_str())
    .bind(version)
    .bind(&data)
    .bind(&now)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO procedures (code, version, level, agency_code, name_vi, name_en, search_text, data, changed_at, actor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (code) DO UPDATE SET version = excluded.version, level = excluded.level, \
         agency_code = excluded.agency_code, name_vi = excluded.name_vi, name_en = excluded.name_en, \
         search_text = excluded.search_text, data = excluded.data, changed_at = excluded.changed_at, \
         actor = excluded.actor",
    )
    .bind(p.code.as_str())
    .bind(version)
    .bind(match p.level {
        Level::City => "city",
        Level::Commune => "commune",
    })
    .bind(p.agency_code.as_ref().map(|a| a.as_str().to_owned()))
    .bind(&p.name_vi)
    .bind(&p.name_en)
    .bind(p.search_text())
    .bind(&data)
    .bind(&now)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    let mut record = record.fields([format!("version={version}")]);
    record.object_type = "procedure".into();
    record.object_id = p.code.to_string();
    audit::append(tx, &record).await?;
    Ok((version, true))
}

/// The current version, or version `version`.
pub async fn get(db: &Db, code: &ProcedureCode, version: Option<i64>) -> Result<Option<Versioned>> {
    let row = match version {
        None => {
            sqlx::query("SELECT code, version, data, changed_at, actor FROM procedures WHERE code = $1")
                .bind(code.as_str())
                .fetch_optional(db.reader())
                .await?
        }
        Some(v) => {
            sqlx::query(
                "SELECT code, version, data, changed_at, actor FROM procedure_versions WHERE code = $1 AND version = $2",
            )
            .bind(code.as_str())
            .bind(v)
            .fetch_optional(db.reader())
            .await?
        }
    };
    row.as_ref().map(from_row).transpose()
}

/// Current procedures matching a folded search, a level and an agency, by code.
pub async fn list(
    db: &Db,
    search: Option<&str>,
    level: Option<Level>,
    agency: Option<&str>,
    page: PageRequest,
) -> Result<Page<Versioned>> {
    let mut f = Filter::default();
    if let Some(s) = search
        .map(sohoa_domain::text::fold)
        .filter(|s| !s.is_empty())
    {
        f.and("search_text LIKE ? ESCAPE '\\'", [contains_pattern(&s)]);
    }
    if let Some(l) = level {
        let l = match l {
            Level::City => "city",
            Level::Commune => "commune",
        };
        f.and("level = ?", [l.to_owned()]);
    }
    if let Some(a) = agency {
        f.and("agency_code = ?", [a.to_owned()]);
    }
    let where_sql = f.where_sql();
    let total = f
        .bind(sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM procedures{where_sql}"
        )))
        .fetch_one(db.reader())
        .await?;
    let n = f.next_placeholder();
    let rows = f
        .bind(sqlx::query(&format!(
            "SELECT code, version, data, changed_at, actor FROM procedures{where_sql} ORDER BY code LIMIT ${n} OFFSET ${}",
            n + 1
        )))
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(db.reader())
        .await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok(Page::new(items, int(&total, "n")?, page))
}
