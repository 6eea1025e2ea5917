//! Land parcels and their owners.

use sohoa_domain::registry::content_hash;
use sohoa_domain::registry::parcel::{LandParcel, Owner, ParcelInput};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{upsert, Counts, Prepared, Provenance, TableSpec, Val};
use crate::{int, opt_text, text, Db, Result, StorageError, Tx};

const SPEC: TableSpec = TableSpec {
    table: "land_parcels",
    columns: &[
        "parcel_key",
        "unit",
        "map_sheet",
        "parcel_number",
        "area_m2",
        "land_use",
        "owners",
        "geometry",
    ],
};

/// Owners as stored: the same `ID:PERCENT;...` form the import takes.
pub fn owners_text(owners: &[Owner]) -> String {
    owners
        .iter()
        .map(|o| {
            let bp = o.share_bp();
            format!("{}:{}.{:02}", o.id(), bp / 100, bp % 100)
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn values(p: &LandParcel) -> Prepared {
    Prepared(
        vec![
            Val::Text(p.key()),
            Val::Text(p.unit_code.to_string()),
            Val::Int(i64::from(p.map_sheet)),
            Val::Int(i64::from(p.parcel_number)),
            Val::Real(p.area_m2),
            Val::Text(p.land_use.to_owned()),
            Val::Text(owners_text(&p.owners)),
            Val::OptText(p.geometry.as_ref().map(|g| g.to_string())),
        ],
        content_hash(p),
    )
}

/// Upserts parcels and, for those inserted or changed, replaces their owner rows.
pub async fn upsert_all(tx: &mut Tx, parcels: &[LandParcel], prov: &Provenance) -> Result<Counts> {
    let mut counts = Counts::default();
    for chunk in parcels.chunks(super::BATCH) {
        let rows: Vec<_> = chunk.iter().map(values).collect();
        let (c, changed) = upsert(tx, &SPEC, &rows, prov).await?;
        counts.add(c);
        for key in changed {
            sqlx::query("DELETE FROM parcel_owners WHERE parcel_key = $1")
                .bind(&key)
                .execute(&mut **tx)
                .await?;
            if let Some(p) = chunk.iter().find(|p| p.key() == key) {
                for o in &p.owners {
                    sqlx::query("INSERT INTO parcel_owners (parcel_key, owner_id, share_bp) VALUES ($1, $2, $3)")
                        .bind(&key)
                        .bind(o.id())
                        .bind(i64::from(o.share_bp()))
                        .execute(&mut **tx)
                        .await?;
                }
            }
        }
    }
    Ok(counts)
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub parcel: LandParcel,
    pub version: i64,
    pub changed_at: sohoa_domain::Timestamp,
}

fn from_row(row: &AnyRow) -> Result<Stored> {
    let key = text(row, "parcel_key")?;
    let area: f64 = row.try_get("area_m2")?;
    let input = ParcelInput {
        unit: text(row, "unit")?,
        map_sheet: int(row, "map_sheet")?.to_string(),
        parcel_number: int(row, "parcel_number")?.to_string(),
        area_m2: area.to_string(),
        land_use: text(row, "land_use")?,
        owners: text(row, "owners")?,
        geometry: opt_text(row, "geometry")?.unwrap_or_default(),
    };
    let parcel =
        LandParcel::parse(&input).map_err(|_| StorageError::Corrupt(format!("parcel {key}")))?;
    Ok(Stored {
        parcel,
        version: int(row, "version")?,
        changed_at: super::changed_at("parcels", &text(row, "changed_at")?)?,
    })
}

pub async fn get(db: &Db, key: &str) -> Result<Option<Stored>> {
    let row = sqlx::query(
        "SELECT parcel_key, unit, map_sheet, parcel_number, area_m2, land_use, owners, geometry, version, changed_at \
         FROM land_parcels WHERE parcel_key = $1",
    )
    .bind(key)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Keys of the parcels an owner (CCCD or tax code) holds a share in.
pub async fn owned_by(db: &Db, owner_id: &str) -> Result<Vec<String>> {
    let rows =
        sqlx::query("SELECT parcel_key FROM parcel_owners WHERE owner_id = $1 ORDER BY parcel_key")
            .bind(owner_id)
            .fetch_all(db.reader())
            .await?;
    rows.iter().map(|r| text(r, "parcel_key")).collect()
}

pub async fn count(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM land_parcels")
        .fetch_one(db.reader())
        .await?;
    int(&row, "n")
}
