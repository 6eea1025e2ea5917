//! Land parcels: identified by unit, map sheet and parcel number.

use serde::{Deserialize, Serialize};

use super::{unit_code, Errors, FieldError};
use crate::ids::{CitizenId, TaxCode, UnitCode};

pub const FIELDS: &[&str] = &["area_m2", "land_use", "owners", "geometry"];

pub const CSV_HEADER: &[&str] = &[
    "unit",
    "map_sheet",
    "parcel_number",
    "area_m2",
    "land_use",
    "owners",
    "geometry",
];

/// Land-use codes (Land Law 2024 and its implementing circulars), the ones a city uses most.
pub const LAND_USES: &[&str] = &[
    "ODT", "ONT", "LUC", "LUK", "BHK", "CLN", "NTS", "RSX", "RPH", "TMD", "SKC", "SKK", "DGT",
    "DTL", "DGD", "DYT", "DVH", "DTT", "DKV", "TSC", "CQP", "CAN", "TON", "NTD", "SON", "MNC",
    "DCS",
];

/// An owner and their share in basis points (1/100 of a percent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Owner {
    Citizen {
        citizen_id: CitizenId,
        share_bp: u32,
    },
    Enterprise {
        tax_code: TaxCode,
        share_bp: u32,
    },
}

impl Owner {
    pub fn share_bp(&self) -> u32 {
        match self {
            Owner::Citizen { share_bp, .. } | Owner::Enterprise { share_bp, .. } => *share_bp,
        }
    }
    /// The owner's identifier: a CCCD or a tax code.
    pub fn id(&self) -> &str {
        match self {
            Owner::Citizen { citizen_id, .. } => citizen_id.as_str(),
            Owner::Enterprise { tax_code, .. } => tax_code.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LandParcel {
    pub unit_code: UnitCode,
    pub map_sheet: u32,
    pub parcel_number: u32,
    pub area_m2: f64,
    pub land_use: &'static str,
    pub owners: Vec<Owner>,
    /// A GeoJSON Polygon or MultiPolygon in WGS 84, as given.
    pub geometry: Option<serde_json::Value>,
}

impl LandParcel {
    /// The parcel's identity as one string: `unit-sheet-parcel`.
    pub fn key(&self) -> String {
        parcel_key(&self.unit_code, self.map_sheet, self.parcel_number)
    }
}

pub fn parcel_key(unit: &UnitCode, sheet: u32, parcel: u32) -> String {
    format!("{unit}-{sheet}-{parcel}")
}

/// Checks a parcel key (`unit-sheet-parcel`, e.g. `26743-12-345`) and returns it in its
/// canonical form.
pub fn parse_key(s: &str) -> Option<String> {
    let mut parts = s.trim().split('-');
    let (unit, sheet, number) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let unit = unit_code("unit", unit).ok()?;
    let sheet = positive("map_sheet", sheet, 9_999).ok()?;
    let number = positive("parcel_number", number, 99_999).ok()?;
    Some(parcel_key(&unit, sheet, number))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParcelInput {
    pub unit: String,
    pub map_sheet: String,
    pub parcel_number: String,
    pub area_m2: String,
    pub land_use: String,
    /// `ID:PERCENT;ID:PERCENT`, e.g. `079085001234:50;079185001235:50`.
    pub owners: String,
    #[serde(default)]
    pub geometry: String,
}

fn positive(field: &'static str, s: &str, max: u32) -> Result<u32, FieldError> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            FieldError::new(
                field,
                "invalid_number",
                format!("a whole number from 1 to {max}"),
            )
        })
}

/// Parses `ID:PERCENT;...`: each ID a CCCD or a tax code, percentages up to two decimals,
/// adding up to exactly 100.
pub fn parse_owners(s: &str) -> Result<Vec<Owner>, FieldError> {
    let bad = |d: String| FieldError::new("owners", "invalid_owners", d);
    let mut owners = Vec::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, pct) = part
            .split_once(':')
            .ok_or_else(|| bad(format!("{part:?}: expected ID:PERCENT")))?;
        let share_bp = parse_percent_bp(pct)
            .ok_or_else(|| bad(format!("{pct:?}: a percentage from 0.01 to 100")))?;
        let id = id.trim();
        let owner = if id.len() == 12 {
            Owner::Citizen {
                citizen_id: CitizenId::parse(id).map_err(|e| bad(format!("{id}: {e}")))?,
                share_bp,
            }
        } else {
            Owner::Enterprise {
                tax_code: TaxCode::parse(id).map_err(|e| bad(format!("{id}: {e}")))?,
                share_bp,
            }
        };
        if owners.iter().any(|o: &Owner| o.id() == owner.id()) {
            return Err(bad(format!("{id} is listed twice")));
        }
        owners.push(owner);
    }
    if owners.is_empty() {
        return Err(bad("at least one owner".into()));
    }
    let total: u32 = owners.iter().map(Owner::share_bp).sum();
    if total != 10_000 {
        return Err(bad(format!(
            "shares add up to {}.{:02}%, not 100%",
            total / 100,
            total % 100
        )));
    }
    Ok(owners)
}

fn parse_percent_bp(s: &str) -> Option<u32> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 2
        || whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let frac: u32 = format!("{frac:0<2}").parse().ok()?;
    let bp = whole.checked_mul(100)?.checked_add(frac)?;
    (1..=10_000).contains(&bp).then_some(bp)
}

/// Checks that `s` is a GeoJSON Polygon or MultiPolygon whose positions are longitude and
/// latitude within range.
pub fn parse_geometry(s: &str) -> Result<serde_json::Value, FieldError> {
    let bad = |d: &str| FieldError::new("geometry", "invalid_geometry", d.to_owned());
    let v: serde_json::Value = serde_json::from_str(s).map_err(|_| bad("not JSON"))?;
    let depth = match v.get("type").and_then(|t| t.as_str()) {
        Some("Polygon") => 3,
        Some("MultiPolygon") => 4,
        _ => return Err(bad("a GeoJSON Polygon or MultiPolygon")),
    };
    fn check(v: &serde_json::Value, depth: u32) -> bool {
        match v.as_array() {
            Some(items) if depth == 1 => {
                items.len() >= 2
                    && matches!((items[0].as_f64(), items[1].as_f64()), (Some(lon), Some(lat)) if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat))
            }
            Some(items) => !items.is_empty() && items.iter().all(|i| check(i, depth - 1)),
            None => false,
        }
    }
    if !v.get("coordinates").is_some_and(|c| check(c, depth)) {
        return Err(bad("coordinates must be arrays of [longitude, latitude]"));
    }
    Ok(v)
}

impl LandParcel {
    pub fn parse(input: &ParcelInput) -> Result<Self, Vec<FieldError>> {
        let mut errs = Errors::default();
        let unit = errs.take(unit_code("unit", &input.unit));
        let sheet = errs.take(positive("map_sheet", &input.map_sheet, 9_999));
        let number = errs.take(positive("parcel_number", &input.parcel_number, 99_999));
        let area = errs.take(
            input
                .area_m2
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|a| a.is_finite() && *a > 0.0 && *a < 1e9)
                .ok_or_else(|| {
                    FieldError::new(
                        "area_m2",
                        "invalid_area",
                        "a positive area in square metres",
                    )
                }),
        );
        let land_use = errs.take(
            LAND_USES
                .iter()
                .copied()
                .find(|c| *c == input.land_use.trim())
                .ok_or_else(|| {
                    FieldError::new(
                        "land_use",
                        "invalid_land_use",
                        "a land-use code such as ODT, ONT, CLN",
                    )
                }),
        );
        let owners = errs.take(parse_owners(&input.owners));
        let geometry = if input.geometry.trim().is_empty() {
            None
        } else {
            errs.take(parse_geometry(&input.geometry))
        };
        match (unit, sheet, number, area, land_use, owners) {
            (
                Some(unit_code),
                Some(map_sheet),
                Some(parcel_number),
                Some(area_m2),
                Some(land_use),
                Some(owners),
            ) if errs.is_empty() => Ok(LandParcel {
                unit_code,
                map_sheet,
                parcel_number,
                area_m2,
                land_use,
                owners,
                geometry,
            }),
            _ => Err(errs.into_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_and_shares() {
        let o = parse_owners("079085001234:50; 079185001235:50").unwrap();
        assert_eq!(o.len(), 2);
        assert!(parse_owners("0100109106:100").is_ok());
        assert!(parse_owners("079085001234:33.33;079185001235:66.67").is_ok());
        assert_eq!(
            parse_owners("079085001234:50").map_err(|e| e.code),
            Err("invalid_owners")
        );
        assert!(parse_owners("079085001234:50;079085001234:50").is_err());
        assert!(parse_owners("079085001234:50.001;079185001235:49.999").is_err());
        assert!(parse_owners("").is_err());
    }

    #[test]
    fn geometry_must_be_a_polygon_in_range() {
        assert!(parse_geometry(r#"{"type":"Polygon","coordinates":[[[106.7,10.77],[106.71,10.77],[106.71,10.78],[106.7,10.77]]]}"#).is_ok());
        assert!(parse_geometry(r#"{"type":"Point","coordinates":[106.7,10.77]}"#).is_err());
        assert!(parse_geometry(r#"{"type":"Polygon","coordinates":[[[206.7,10.77]]]}"#).is_err());
        assert!(parse_geometry("nope").is_err());
    }

    #[test]
    fn parcel_keys() {
        assert_eq!(parse_key("26743-12-345").as_deref(), Some("26743-12-345"));
        assert_eq!(parse_key("26743-012-0345").as_deref(), Some("26743-12-345"));
        for bad in [
            "",
            "26743-12",
            "26743-12-345-1",
            "2674-12-345",
            "26743-0-1",
            "26743-a-1",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_parcel_parses_and_has_a_key() {
        let p = LandParcel::parse(&ParcelInput {
            unit: "26743".into(),
            map_sheet: "12".into(),
            parcel_number: "345".into(),
            area_m2: "85.5".into(),
            land_use: "ODT".into(),
            owners: "079085001234:100".into(),
            geometry: String::new(),
        })
        .unwrap();
        assert_eq!(p.key(), "26743-12-345");
    }
}
