//! `sohoa boundaries FILE.geojson`: replaces the shipped approximate commune boundaries with
//! official ones, all or nothing.

use sohoa_domain::audit::AuditRecord;
use sohoa_domain::feedback::geo::Area;
use sohoa_domain::UnitCode;
use sohoa_storage::Db;

#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("{0} is not a GeoJSON FeatureCollection: {1}")]
    NotGeoJson(String, String),
    #[error("{} features are wrong, nothing was loaded:\n{}", .0.len(), .0.join("\n"))]
    Rejected(Vec<String>),
    #[error(transparent)]
    Storage(#[from] sohoa_storage::StorageError),
}

/// Reads a FeatureCollection whose features carry the unit's code (`properties.code` or
/// `properties.unit_code`) and a Polygon or MultiPolygon; every feature must be right, or
/// nothing is stored. Answers how many units it replaced.
pub async fn import(db: &Db, path: &std::path::Path) -> Result<usize, BoundaryError> {
    const MAX_BYTES: u64 = 512 * 1024 * 1024;
    let name = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|e| BoundaryError::Read(name.clone(), e.to_string()))?
        .len();
    if size > MAX_BYTES {
        return Err(BoundaryError::Read(name, "larger than 512 MiB".into()));
    }
    let text = std::fs::read(path).map_err(|e| BoundaryError::Read(name.clone(), e.to_string()))?;
    let doc: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| BoundaryError::NotGeoJson(name.clone(), e.to_string()))?;
    let features = doc
        .get("features")
        .and_then(|f| f.as_array())
        .filter(|_| doc.get("type").and_then(|t| t.as_str()) == Some("FeatureCollection"))
        .ok_or_else(|| BoundaryError::NotGeoJson(name.clone(), "no \"features\" list".into()))?;
    let in_force: std::collections::HashSet<String> = sohoa_domain::units::reference_units()
        .map_err(|e| BoundaryError::Read("built-in units".into(), e.to_string()))?
        .into_iter()
        .filter(|u| u.valid_to.is_none())
        .map(|u| u.code.as_str().to_owned())
        .collect();
    let mut areas = Vec::new();
    let mut wrong = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, f) in features.iter().enumerate() {
        let props = f.get("properties");
        let code = props
            .and_then(|p| p.get("code").or_else(|| p.get("unit_code")))
            .and_then(|c| c.as_str())
            .unwrap_or_default();
        let unit = match UnitCode::parse(code) {
            Ok(u) if in_force.contains(u.as_str()) => u,
            _ => {
                wrong.push(format!(
                    "feature {}: {code:?} is not a unit in force",
                    i + 1
                ));
                continue;
            }
        };
        if !seen.insert(unit.as_str().to_owned()) {
            wrong.push(format!("feature {}: unit {unit} appears twice", i + 1));
            continue;
        }
        match f
            .get("geometry")
            .map(|g| Area::from_geojson(unit.clone(), g))
        {
            Some(Ok(area)) => areas.push(area),
            Some(Err(e)) => wrong.push(format!("feature {} ({unit}): {e}", i + 1)),
            None => wrong.push(format!("feature {} ({unit}): no geometry", i + 1)),
        }
    }
    if !wrong.is_empty() {
        return Err(BoundaryError::Rejected(wrong));
    }
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let record = AuditRecord::new("cli", "boundaries.import", "unit_boundaries", &file)
        .purpose(format!("{} units", areas.len()));
    let mut tx = db.begin().await?;
    sohoa_storage::feedback::put_boundaries(
        &mut tx,
        &areas,
        &format!("imported:{file}"),
        Some(record),
    )
    .await?;
    tx.commit()
        .await
        .map_err(sohoa_storage::StorageError::from)?;
    // Running servers redraw their maps and locate reports with the new boundaries now.
    sohoa_storage::changes::announce(db, sohoa_app::cache::Topic::Feedback.as_str()).await?;
    Ok(areas.len())
}
