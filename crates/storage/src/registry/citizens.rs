//! Citizens.

use sohoa_domain::registry::citizen::{Citizen, CitizenInput};
use sohoa_domain::registry::{content_hash, date_text};
use sohoa_domain::text::fold;
use sohoa_domain::{CitizenId, UnitCode};
use sqlx::any::AnyRow;
use time::macros::date;

use super::{prefix_upper, Counts, Prepared, Provenance, TableSpec, Val};
use crate::direct::{Fields, Named};
use crate::sealed::Keyring;
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

/// The columns sealed at rest: phone, email and the street parts of both addresses (the
/// units stay open: they are not personal, and searches filter on them).
pub const SEALED: [&str; 4] = ["permanent_street", "temporary_street", "phone", "email"];

/// What a sealed value of `column` of citizen `id` is bound to.
fn context(column: &str, id: &str) -> String {
    format!("citizens.{column}:{id}")
}

/// The row for a record, its personal fields sealed with `keys`.
pub fn prepare(c: &Citizen, keys: &Keyring) -> Result<Prepared> {
    let temp = c.temporary_address.as_ref();
    let id = c.citizen_id.as_str();
    let seal = |column: &str, v: &str| keys.seal(&context(column, id), v);
    let seal_opt = |column: &str, v: Option<&str>| v.map(|v| seal(column, v)).transpose();
    Ok(Prepared(
        vec![
            Val::Text(c.citizen_id.to_string()),
            Val::Text(c.full_name.clone()),
            Val::Text(fold(&c.full_name)),
            Val::Text(date_text(c.date_of_birth)),
            Val::Int(i64::from(c.date_of_birth.year())),
            Val::Text(c.sex.as_str().to_owned()),
            Val::Text(seal("permanent_street", &c.permanent_address.street)?),
            Val::Text(c.permanent_address.unit_code.to_string()),
            Val::OptText(seal_opt(
                "temporary_street",
                temp.map(|a| a.street.as_str()),
            )?),
            Val::OptText(temp.map(|a| a.unit_code.to_string())),
            Val::OptText(c.household_id.clone()),
            Val::OptText(seal_opt("phone", c.phone.as_deref())?),
            Val::OptText(seal_opt("email", c.email.as_deref())?),
        ],
        content_hash(c),
    ))
}

/// Inserts rows into the empty table of a bulk load (see [`super::bulk_begin`]).
pub async fn insert_new(tx: &mut Tx, rows: &[Prepared], prov: &Provenance) -> Result<Counts> {
    super::insert_all(tx, &SPEC, rows, prov).await
}

/// Inserts new records and versions changed ones, prepared beforehand.
pub async fn upsert_prepared(tx: &mut Tx, rows: &[Prepared], prov: &Provenance) -> Result<Counts> {
    super::upsert_all(tx, &SPEC, rows, prov).await
}

pub async fn upsert_all(
    tx: &mut Tx,
    keys: &Keyring,
    citizens: &[Citizen],
    prov: &Provenance,
) -> Result<Counts> {
    let rows = citizens
        .iter()
        .map(|c| prepare(c, keys))
        .collect::<Result<Vec<_>>>()?;
    upsert_prepared(tx, &rows, prov).await
}

/// A citizen with its version metadata.
#[derive(Debug, Clone)]
pub struct Stored {
    pub citizen: Citizen,
    pub version: i64,
    pub changed_at: sohoa_domain::Timestamp,
    pub source: String,
}

const COLUMNS: &str = "citizen_id, full_name, date_of_birth, sex, permanent_street, permanent_unit, temporary_street, \
                       temporary_unit, household_id, phone, email, version, changed_at, source, name_folded";

fn from_row(row: &impl Fields, keys: &Keyring) -> Result<Stored> {
    let id = row.text("citizen_id")?;
    let open =
        |column: &str| -> Result<String> { keys.open(&context(column, &id), &row.text(column)?) };
    let open_opt = |column: &str| -> Result<String> {
        row.opt_text(column)?
            .map(|v| keys.open(&context(column, &id), &v))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let input = CitizenInput {
        citizen_id: row.text("citizen_id")?,
        full_name: row.text("full_name")?,
        date_of_birth: row.text("date_of_birth")?,
        sex: row.text("sex")?,
        permanent_street: open("permanent_street")?,
        permanent_unit: row.text("permanent_unit")?,
        temporary_street: open_opt("temporary_street")?,
        temporary_unit: row.opt_text("temporary_unit")?.unwrap_or_default(),
        household_id: row.opt_text("household_id")?.unwrap_or_default(),
        phone: open_opt("phone")?,
        email: open_opt("email")?,
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
        version: row.int("version")?,
        changed_at: super::changed_at("citizens", &row.text("changed_at")?)?,
        source: row.text("source")?,
    })
}

pub async fn get(db: &Db, id: &CitizenId) -> Result<Option<Stored>> {
    if let Some(point) = db.point() {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("SELECT {COLUMNS} FROM citizens WHERE citizen_id = ?1")
        });
        static NAMES: std::sync::LazyLock<Vec<&str>> =
            std::sync::LazyLock::new(|| COLUMNS.split(',').map(str::trim).collect());
        let keys = db.keyring()?;
        return point.one(&SQL, id.as_str(), |row| {
            from_row(&Named::new(row, &NAMES), &keys)
        });
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM citizens WHERE citizen_id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(db.reader())
    .await?;
    let keys = &*db.keyring()?;
    row.as_ref().map(|r| from_row(r, keys)).transpose()
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
    let keys = &*db.keyring()?;
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
        .map(|r| from_row(r, keys))
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

/// Re-seals, under the keyring's first key, every sealed value not already under it, in
/// batches of `batch` records each committed on its own: the server keeps running (it
/// holds both keys), and an interrupted rotation resumes where it stopped. Superseded
/// versions in `registry_history` are re-sealed too. Returns how many records changed.
pub async fn reseal(db: &Db, batch: i64, mut progress: impl FnMut(u64)) -> Result<u64> {
    let keys = &*db.keyring()?;
    let mut after = String::new();
    let mut changed = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT citizen_id, permanent_street, temporary_street, phone, email FROM citizens \
             WHERE citizen_id > $1 ORDER BY citizen_id LIMIT $2",
        )
        .bind(&after)
        .bind(batch)
        .fetch_all(db.reader())
        .await?;
        let Some(last) = rows.last() else { break };
        after = text(last, "citizen_id")?;
        let mut tx = db.begin().await?;
        for row in &rows {
            let id = text(row, "citizen_id")?;
            let mut values = Vec::with_capacity(SEALED.len());
            let mut stale = false;
            for column in SEALED {
                let v = opt_text(row, column)?;
                match v {
                    Some(v) if !keys.is_current(&v) => {
                        let ctx = context(column, &id);
                        values.push(Some(keys.seal(&ctx, &keys.open(&ctx, &v)?)?));
                        stale = true;
                    }
                    other => values.push(other),
                }
            }
            if !stale {
                continue;
            }
            // Only the sealing changes, not the record: the version stays and the history
            // trigger (which fires on a new version) stays quiet. The WHERE clause re-checks
            // the values, so a record changed meanwhile is left for the next pass.
            let n = sqlx::query(
                "UPDATE citizens SET permanent_street = $1, temporary_street = $2, phone = $3, email = $4 \
                 WHERE citizen_id = $5 AND permanent_street = $6",
            )
            .bind(&values[0])
            .bind(&values[1])
            .bind(&values[2])
            .bind(&values[3])
            .bind(&id)
            .bind(opt_text(row, "permanent_street")?)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            changed += n;
        }
        reseal_history(&mut tx, keys, &rows).await?;
        tx.commit().await?;
        progress(changed);
    }
    Ok(changed)
}

/// Re-seals the superseded versions of the citizens in `rows`.
async fn reseal_history(tx: &mut Tx, keys: &Keyring, rows: &[AnyRow]) -> Result<()> {
    for row in rows {
        let id = text(row, "citizen_id")?;
        let versions = sqlx::query(
            "SELECT version, data FROM registry_history WHERE registry = 'citizen' AND record_id = $1",
        )
        .bind(&id)
        .fetch_all(&mut **tx)
        .await?;
        for v in versions {
            let data = text(&v, "data")?;
            let mut json: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&data)
                .map_err(|e| StorageError::Corrupt(format!("history of a citizen: {e}")))?;
            let mut stale = false;
            for column in SEALED {
                if let Some(serde_json::Value::String(s)) = json.get(column) {
                    if !keys.is_current(s) {
                        let ctx = context(column, &id);
                        let resealed = keys.seal(&ctx, &keys.open(&ctx, s)?)?;
                        json.insert(column.to_owned(), serde_json::Value::String(resealed));
                        stale = true;
                    }
                }
            }
            if stale {
                sqlx::query(
                    "UPDATE registry_history SET data = $1 \
                     WHERE registry = 'citizen' AND record_id = $2 AND version = $3",
                )
                .bind(serde_json::Value::Object(json).to_string())
                .bind(&id)
                .bind(int(&v, "version")?)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// Opens the sealed fields of a superseded version (as `registry_history` keeps it).
pub fn open_history(keys: &Keyring, id: &str, data: &str) -> Result<String> {
    let mut json: serde_json::Map<String, serde_json::Value> = serde_json::from_str(data)
        .map_err(|e| StorageError::Corrupt(format!("history of a citizen: {e}")))?;
    for column in SEALED {
        if let Some(serde_json::Value::String(s)) = json.get(column) {
            let plain = keys.open(&context(column, id), s)?;
            json.insert(column.to_owned(), serde_json::Value::String(plain));
        }
    }
    Ok(serde_json::Value::Object(json).to_string())
}
