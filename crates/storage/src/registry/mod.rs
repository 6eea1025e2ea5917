//! The base registries' storage: batched, versioned upserts and keyset-paged reads.
//!
//! Tables hold the current version of each record. An upsert that changes a record bumps its
//! version, and a trigger copies the version it replaces into `registry_history` first; an
//! upsert of an identical record (same content hash) changes nothing. So re-running an import
//! is idempotent, and history is complete whatever path wrote the change.

pub mod citizens;
pub mod enterprises;
pub mod parcels;

use sohoa_domain::Timestamp;

use crate::{int, text, values_placeholders, Result, Tx};

/// Where a change came from, recorded on every version.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// e.g. `import:citizens.csv`, `api`.
    pub source: String,
    /// e.g. `cli`, `admin`, `agency:SO-TU-PHAP`.
    pub actor: String,
    pub at: Timestamp,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }
}

/// A record turned into the values of its row, ready to bind: preparing is CPU work that
/// an import does on its reading thread, leaving the writer only to bind and write.
#[derive(Debug, Clone)]
pub struct Prepared(pub(crate) Vec<Val>, pub(crate) String);

/// A value bound into an upsert.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Real(f64),
}

/// A registry table: its name, key and data columns (the key first).
pub(crate) struct TableSpec {
    pub table: &'static str,
    pub columns: &'static [&'static str],
}

const META: [&str; 5] = ["content_hash", "version", "changed_at", "source", "actor"];

/// Rows per statement: 500 rows of ~20 values stay under SQLite's 32,766-parameter limit.
pub const BATCH: usize = 500;

/// Upserts `rows` (each: the data columns' values then the content hash) in one statement.
/// Returns the counts and the keys of the records inserted or changed.
pub(crate) async fn upsert(
    tx: &mut Tx,
    spec: &TableSpec,
    rows: &[Prepared],
    prov: &Provenance,
) -> Result<(Counts, Vec<String>)> {
    if rows.is_empty() {
        return Ok((Counts::default(), Vec::new()));
    }
    let key = spec.columns[0];
    let ncols = spec.columns.len() + META.len();
    let mut sql = format!(
        "INSERT INTO {} ({}, {}) VALUES {}",
        spec.table,
        spec.columns.join(", "),
        META.join(", "),
        values_placeholders(tx, rows.len(), ncols)
    );
    let sets: Vec<String> = spec.columns[1..]
        .iter()
        .chain(["content_hash", "changed_at", "source", "actor"].iter())
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    sql.push_str(&format!(
        " ON CONFLICT ({key}) DO UPDATE SET {}, version = {t}.version + 1 WHERE {t}.content_hash <> excluded.content_hash \
         RETURNING {key} AS record_key, version",
        sets.join(", "),
        t = spec.table
    ));
    let at = prov.at.to_string();
    let q = bind_rows(sqlx::query(&sql), rows, &at, prov);
    let returned = q.fetch_all(&mut **tx).await?;
    let mut counts = Counts::default();
    let mut changed = Vec::with_capacity(returned.len());
    for row in &returned {
        if int(row, "version")? == 1 {
            counts.inserted += 1;
        } else {
            counts.updated += 1;
        }
        changed.push(text(row, "record_key")?);
    }
    counts.unchanged = rows.len() as u64 - counts.inserted - counts.updated;
    Ok((counts, changed))
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds each row's values, its content hash and the version metadata (version 1).
fn bind_rows<'q>(
    mut q: Query<'q>,
    rows: &'q [Prepared],
    at: &'q str,
    prov: &'q Provenance,
) -> Query<'q> {
    for Prepared(vals, hash) in rows {
        for v in vals {
            q = match v {
                Val::Text(s) => q.bind(s.as_str()),
                Val::OptText(s) => q.bind(s.as_deref()),
                Val::Int(i) => q.bind(*i),
                Val::Real(f) => q.bind(*f),
            };
        }
        q = q
            .bind(hash.as_str())
            .bind(1_i64)
            .bind(at)
            .bind(prov.source.as_str())
            .bind(prov.actor.as_str());
    }
    q
}

/// Inserts rows known to be new (the table was empty and the batch has no duplicates).
pub(crate) async fn insert_new(
    tx: &mut Tx,
    spec: &TableSpec,
    rows: &[Prepared],
    prov: &Provenance,
) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let ncols = spec.columns.len() + META.len();
    let sql = format!(
        "INSERT INTO {} ({}, {}) VALUES {}",
        spec.table,
        spec.columns.join(", "),
        META.join(", "),
        values_placeholders(tx, rows.len(), ncols)
    );
    let at = prov.at.to_string();
    let done = bind_rows(sqlx::query(&sql), rows, &at, prov)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// `insert_new` over any number of rows, in statements of `BATCH` rows.
pub(crate) async fn insert_all(
    tx: &mut Tx,
    spec: &TableSpec,
    rows: &[Prepared],
    prov: &Provenance,
) -> Result<Counts> {
    let mut counts = Counts::default();
    for chunk in rows.chunks(BATCH) {
        counts.inserted += insert_new(tx, spec, chunk, prov).await?;
    }
    Ok(counts)
}

/// `upsert` over any number of rows, in statements of `BATCH` rows.
pub(crate) async fn upsert_all(
    tx: &mut Tx,
    spec: &TableSpec,
    rows: &[Prepared],
    prov: &Provenance,
) -> Result<Counts> {
    let mut counts = Counts::default();
    for chunk in rows.chunks(BATCH) {
        counts.add(upsert(tx, spec, chunk, prov).await?.0);
    }
    Ok(counts)
}

/// Whether a registry table holds no record yet.
pub async fn is_empty(tx: &mut Tx, table: &str) -> Result<bool> {
    let row = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM {table} LIMIT 1) AS t"
    ))
    .fetch_one(&mut **tx)
    .await?;
    Ok(int(&row, "n")? == 0)
}

/// The SQLite writer's page cache during a bulk load, in KiB.
const BULK_CACHE_KIB: i64 = 64 * 1024;

/// A bulk load in progress: the indexes dropped from a table, to be built again.
#[derive(Debug)]
pub struct BulkLoad {
    indexes: Vec<String>,
}

/// Starts a bulk load into an empty table, inside `tx`: drops the table's indexes (their
/// definitions are read from the database's own catalog, so nothing is written twice).
/// Building an index once over sorted data is far faster than inserting millions of keys
/// in random order; and because DDL is transactional on both backends, a crash before commit
/// leaves the table as it was, indexes included.
pub async fn bulk_begin(tx: &mut Tx, table: &str) -> Result<BulkLoad> {
    let sqlite = (**tx).backend_name() == "SQLite";
    let sql = if sqlite {
        "SELECT name, sql AS ddl FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL"
    } else {
        "SELECT indexname::text AS name, indexdef::text AS ddl FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1"
    };
    if sqlite {
        // Rows of a bulk load are appended in order and need little cache; and SQLite's
        // sorter, which builds the indexes at the end, holds up to the cache's size in
        // memory for each of its threads. The writer's usual cache would put a 14-million
        // row load over a gibibyte.
        sqlx::query(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB}"))
            .execute(&mut **tx)
            .await?;
    }
    let rows = sqlx::query(sql).bind(table).fetch_all(&mut **tx).await?;
    let mut indexes = Vec::with_capacity(rows.len());
    for r in &rows {
        let name = text(r, "name")?;
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut **tx)
            .await?;
        indexes.push(text(r, "ddl")?);
    }
    Ok(BulkLoad { indexes })
}

/// Builds the indexes a bulk load dropped. A duplicate key fails here, and the whole load
/// rolls back with it.
pub async fn bulk_finish(tx: &mut Tx, load: BulkLoad) -> Result<()> {
    for ddl in &load.indexes {
        sqlx::query(ddl).execute(&mut **tx).await?;
    }
    if (**tx).backend_name() == "SQLite" {
        sqlx::query(&format!("PRAGMA cache_size = -{}", crate::WRITER_CACHE_KIB))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A record's stored time of change; one that does not parse is corrupt, with its table.
pub(crate) fn changed_at(table: &str, raw: &str) -> Result<sohoa_domain::Timestamp> {
    sohoa_domain::Timestamp::parse(raw)
        .map_err(|_| crate::StorageError::Corrupt(format!("{table}.changed_at: {raw:?}")))
}

/// One superseded version of a record.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub version: i64,
    /// The record's columns as they were, as JSON.
    pub data: String,
    pub changed_at: sohoa_domain::Timestamp,
    pub source: String,
    pub actor: String,
}

/// Superseded versions of a record, oldest first.
pub async fn history(db: &crate::Db, registry: &str, record_id: &str) -> Result<Vec<HistoryEntry>> {
    let rows = sqlx::query(
        "SELECT version, data, changed_at, source, actor FROM registry_history \
         WHERE registry = $1 AND record_id = $2 ORDER BY version",
    )
    .bind(registry)
    .bind(record_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            let data = text(r, "data")?;
            Ok(HistoryEntry {
                version: int(r, "version")?,
                data: if registry == "citizen" {
                    citizens::open_history(&*db.keyring()?, record_id, &data)?
                } else {
                    data
                },
                changed_at: changed_at("registry_history", &text(r, "changed_at")?)?,
                source: text(r, "source")?,
                actor: text(r, "actor")?,
            })
        })
        .collect()
}

/// The exclusive upper bound of a prefix range: every string that starts with `prefix` sorts
/// below it in byte order (both backends compare these columns bytewise).
pub(crate) fn prefix_upper(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}
