//! Citizens.

use sohoa_domain::registry::citizen::{Citizen, CitizenInput};
use sohoa_domain::registry::{content_hash, date_text};
use sohoa_domain::text::fold;
use sohoa_domain::{CitizenId, UnitCode};
use sqlx::any::AnyRow;
use time::macros::date;

use super::{prefix_upper, Counts, Prepared, Provenance, TableSpec, Val};
use crate::{int, opt_text, text, Db, Filter, Result, StorageError, Tx};

const SPEC: TableSpec = TableSpec {
    table: "citizens",
    columns: &[
        "citizen_id",
        "full_name",
        "name_folded",
        "date_of_birth",
        "birth_year",
        "sex",
        "permanent_street",
        "permanent_unit",
        "temporary_street",
        "temporary_unit",
        "household_id",
        "phone",
        "email",
    ],
};

/// The row for a record.
pub fn prepare(c: &Citizen) -> Prepared {
    let temp = c.temporary_address.as_ref();
    Prepared(
        vec![
            Val::Text(c.citizen_id.to_string()),
            Val::Text(c.full_name.clone()),
            Val::Text(fold(&c.full_name)),
            Val::Text(date_text(c.date_of_birth)),
            Val::Int(i64::from(c.date_of_birth.year())),
            Val::Text(c.sex.as_str().to_owned()),
            Val::Text(c.permanent_address.street.clone()),
            Val::Text(c.permanent_address.unit_code.to_string()),
            Val::OptText(temp.map(|a| a.street.clone())),
            Val::OptText(temp.map(|a| a.unit_code.to_string())),
            Val::OptText(c.household_id.clone()),
            Val::OptText(c.phone.clone()),
            Val::OptText(c.email.clone()),
        ],
        content_hash(c),
    )
}

/// Inserts rows into the empty table of a bulk load (see [`super::bulk_begin`]).
pub async fn insert_new(tx: &mut Tx, rows: &[Prepared], prov: &Provenance) -> Result<Counts> {
    super::insert_all(tx, &SPEC, rows, prov).await
}

/// Inserts new records and versions changed ones, prepared beforehand.
pub async fn upsert_prepared(tx: &mut Tx, rows: &[Prepared], prov: &Provenance) -> Result<Counts> {
    super::upsert_all(tx, &SPEC, rows, prov).await
}

pub async fn upsert_all(tx: &mut Tx, citizens: &[Citizen], prov: &Provenance) -> Result<Counts> {
    let rows: Vec<Prepared> = citizens.iter().map(prepare).collect();
    upsert_prepared(tx, &rows, prov).await
}

/// A citizen with its version metadata.
#[derive(Debug, Clone)]
pub struct Stored {
    pub citizen: Citizen,
    pub version: i64,
    pub changed_at: String,
    pub source: String,
}

const COLUMNS: &str = "citizen_id, full_name, date_of_birth, sex, permanent_street, permanent_unit, temporary_street, \
                       temporary_unit, household_id, phone, email, version, changed_at, source, name_folded";

fn from_row(row: &AnyRow) -> Result<Stored> {
    let input = CitizenInput {
        citizen_id: text(row, "citizen_id")?,
        full_name: text(row, "full_name")?,
        date_of_birth: text(row, "date_of_birth")?,
        sex: text(row, "sex")?,
        permanent_street: text(row, "permanent_street")?,
        permanent_unit: text(row, "permanent_unit")?,
        temporary_street: opt_text(row, "temporary_street")?.unwrap_or_default(),
        temporary_unit: opt_text(row, "temporary_unit")?.unwrap_or_default(),
        household_id: opt_text(row, "household_id")?.unwrap_or_default(),
        phone: opt_text(row, "phone")?.unwrap_or_default(),
        email: opt_text(row, "email")?.unwrap_or_default(),
    };
    // Stored rows were valid when written; parsing them again keeps one definition of a
    // citizen, and turns any damage into an error instead of a wrong answer.
    let citizen = Citizen::parse(&input, date!(9999 - 12 - 31)).map_err(|errs| {
        StorageError::Corrupt(format!(
            "citizen {}: {}",
            input.citizen_id.get(..3).unwrap_or_default(),
            errs.iter().map(|e| e.field).collect::<Vec<_>>().join(", ")
        ))
    })?;
    Ok(Stored {
        citizen,
        version: int(row, "version")?,
        changed_at: text(row, "changed_at")?,
        source: text(row, "source")?,
    })
}

pub async fn get(db: &Db, id: &CitizenId) -> Result<Option<Stored>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM citizens WHERE citizen_id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A search: a name prefix (folded), optionally one unit and a birth year; keyset-paged.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub name: Option<String>,
    pub unit: Option<UnitCode>,
    pub birth_year: Option<i32>,
    /// Continue after this (name_folded, citizen_id).
    pub after: Option<(String, String)>,
    pub limit: u32,
}

/// One page of a search, and where the next one starts.
#[derive(Debug, Clone)]
pub struct Found {
    pub items: Vec<Stored>,
    pub next: Option<(String, String)>,
}

/// Citizens in (folded name, id) order. Deep pages cost the same as the first: the query
/// seeks to the cursor in the index instead of counting past rows with OFFSET.
pub async fn search(db: &Db, s: &Search) -> Result<Found> {
    let mut f = Filter::default();
    if let Some(name) = s.name.as_deref().map(fold).filter(|n| !n.is_empty()) {
        f.and(
            "name_folded >= ? AND name_folded < ?",
            [name.clone(), prefix_upper(&name)],
        );
    }
    if let Some(u) = &s.unit {
        f.and("permanent_unit = ?", [u.to_string()]);
    }
    if let Some(y) = s.birth_year {
        f.and("birth_year = CAST(? AS BIGINT)", [y.to_string()]);
    }
    if let Some((name, id)) = &s.after {
        f.and(
            "(name_folded, citizen_id) > (?, ?)",
            [name.clone(), id.clone()],
        );
    }
    let limit = i64::from(s.limit.clamp(1, 200));
    let n = f.next_placeholder();
    let sql = format!(
        "SELECT {COLUMNS} FROM citizens{} ORDER BY name_folded, citizen_id LIMIT ${n}",
        f.where_sql()
    );
    let rows = f
        .bind(sqlx::query(&sql))
        .bind(limit + 1)
        .fetch_all(db.reader())
        .await?;
    let items = rows
        .iter()
        .take(limit as usize)
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    let next = match rows.get(limit as usize - 1) {
        Some(last) if rows.len() as i64 > limit => {
            Some((text(last, "name_folded")?, text(last, "citizen_id")?))
        }
        _ => None,
    };
    Ok(Found { items, next })
}

pub async fn count(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM citizens")
        .fetch_one(db.reader())
        .await?;
    int(&row, "n")
}
