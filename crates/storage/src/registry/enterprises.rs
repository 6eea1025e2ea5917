//! Enterprises.

use sohoa_domain::registry::enterprise::{Enterprise, EnterpriseInput};
use sohoa_domain::registry::{content_hash, date_text};
use sohoa_domain::text::fold;
use sohoa_domain::TaxCode;
use sqlx::any::AnyRow;
use time::macros::date;

use super::{Counts, Prepared, Provenance, TableSpec, Val};
use crate::{int, text, Db, Result, StorageError, Tx};

const SPEC: TableSpec = TableSpec {
    table: "enterprises",
    columns: &[
        "tax_code",
        "name",
        "name_folded",
        "legal_form",
        "street",
        "unit",
        "registered_on",
        "status",
        "legal_representative",
    ],
};

/// The row for a record.
pub fn prepare(e: &Enterprise) -> Prepared {
    Prepared(
        vec![
            Val::Text(e.tax_code.to_string()),
            Val::Text(e.name.clone()),
            Val::Text(fold(&e.name)),
            Val::Text(e.legal_form.to_owned()),
            Val::Text(e.address.street.clone()),
            Val::Text(e.address.unit_code.to_string()),
            Val::Text(date_text(e.registered_on)),
            Val::Text(e.status.to_owned()),
            Val::Text(e.legal_representative.to_string()),
        ],
        content_hash(e),
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

pub async fn upsert_all(
    tx: &mut Tx,
    enterprises: &[Enterprise],
    prov: &Provenance,
) -> Result<Counts> {
    let rows: Vec<Prepared> = enterprises.iter().map(prepare).collect();
    upsert_prepared(tx, &rows, prov).await
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub enterprise: Enterprise,
    pub version: i64,
    pub changed_at: sohoa_domain::Timestamp,
}

fn from_row(row: &AnyRow) -> Result<Stored> {
    let input = EnterpriseInput {
        tax_code: text(row, "tax_code")?,
        name: text(row, "name")?,
        legal_form: text(row, "legal_form")?,
        street: text(row, "street")?,
        unit: text(row, "unit")?,
        registered_on: text(row, "registered_on")?,
        status: text(row, "status")?,
        legal_representative: text(row, "legal_representative")?,
    };
    let enterprise = Enterprise::parse(&input, date!(9999 - 12 - 31))
        .map_err(|_| StorageError::Corrupt(format!("enterprise {}", input.tax_code)))?;
    Ok(Stored {
        enterprise,
        version: int(row, "version")?,
        changed_at: super::changed_at("enterprises", &text(row, "changed_at")?)?,
    })
}

pub async fn get(db: &Db, tax_code: &TaxCode) -> Result<Option<Stored>> {
    let row = sqlx::query(
        "SELECT tax_code, name, legal_form, street, unit, registered_on, status, legal_representative, version, changed_at \
         FROM enterprises WHERE tax_code = $1",
    )
    .bind(tax_code.as_str())
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn count(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM enterprises")
        .fetch_one(db.reader())
        .await?;
    int(&row, "n")
}
