//! Administrative units with validity dates.
//!
//! On 2025-07-01 Ho Chi Minh City merged with Bình Dương and Bà Rịa–Vũng Tàu, the district
//! level ended, and 168 commune-level units replaced several hundred. New units often reuse
//! the code of one merged into them, so a unit is identified by its code *and* a date.

use serde::Serialize;
use time::{macros::date, Date};

use crate::ids::{ParseIdError, UnitCode};
use crate::text::fold;

/// The day the 2025 reorganization took effect (Resolution 1685/NQ-UBTVQH15).
pub const REFORM_2025: Date = date!(2025 - 07 - 01);

/// Code of Ho Chi Minh City, before and after the merger.
pub const HCMC_CODE: &str = "79";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    Province,
    District,
    Commune,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// Thành phố trực thuộc trung ương: a centrally-run city.
    Municipality,
    /// Tỉnh.
    Province,
    /// Quận.
    UrbanDistrict,
    /// Huyện.
    RuralDistrict,
    /// Thành phố thuộc tỉnh or thuộc thành phố (e.g. Thủ Đức, Thủ Dầu Một before 2025).
    DistrictCity,
    /// Thị xã.
    Town,
    /// Phường.
    Ward,
    /// Xã.
    Commune,
    /// Thị trấn.
    Township,
    /// Đặc khu.
    SpecialZone,
}

impl UnitKind {
    pub const ALL: [UnitKind; 10] = [
        UnitKind::Municipality,
        UnitKind::Province,
        UnitKind::UrbanDistrict,
        UnitKind::RuralDistrict,
        UnitKind::DistrictCity,
        UnitKind::Town,
        UnitKind::Ward,
        UnitKind::Commune,
        UnitKind::Township,
        UnitKind::SpecialZone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Municipality => "municipality",
            UnitKind::Province => "province",
            UnitKind::UrbanDistrict => "urban_district",
            UnitKind::RuralDistrict => "rural_district",
            UnitKind::DistrictCity => "district_city",
            UnitKind::Town => "town",
            UnitKind::Ward => "ward",
            UnitKind::Commune => "commune",
            UnitKind::Township => "township",
            UnitKind::SpecialZone => "special_zone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn level(self) -> UnitLevel {
        match self {
            UnitKind::Municipality | UnitKind::Province => UnitLevel::Province,
            UnitKind::UrbanDistrict
            | UnitKind::RuralDistrict
            | UnitKind::DistrictCity
            | UnitKind::Town => UnitLevel::District,
            UnitKind::Ward | UnitKind::Commune | UnitKind::Township | UnitKind::SpecialZone => {
                UnitLevel::Commune
            }
        }
    }
}

/// One administrative unit over one period of validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub code: UnitCode,
    pub name: String,
    pub kind: UnitKind,
    pub parent_code: Option<UnitCode>,
    /// First day in force; `None` when it predates the reference data.
    pub valid_from: Option<Date>,
    /// First day no longer in force; `None` while it is in force.
    pub valid_to: Option<Date>,
}

impl Unit {
    pub fn is_valid_on(&self, day: Date) -> bool {
        self.valid_from.is_none_or(|f| f <= day) && self.valid_to.is_none_or(|t| day < t)
    }

    pub fn name_folded(&self) -> String {
        fold(&self.name)
    }
}

/// The name a person reads for `code` on `day` ("Phường Bến Thành"), from the reference
/// data: a code may name two units before and after the 2025 reform, so the day matters.
/// `None` for a code no unit had on that day.
pub fn name_on(code: &UnitCode, day: Date) -> Option<&'static str> {
    static UNITS: std::sync::OnceLock<Vec<Unit>> = std::sync::OnceLock::new();
    UNITS
        .get_or_init(|| reference_units().unwrap_or_default())
        .iter()
        .find(|u| u.code == *code && u.is_valid_on(day))
        .map(|u| u.name.as_str())
}

/// SHA-256 over a canonical text of the units: tells whether a database already holds
/// exactly this reference data, so loading it again is a no-op.
pub fn fingerprint(units: &[Unit]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for u in units {
        let line = format!(
            "{}|{:?}|{:?}|{}|{}|{}\n",
            u.code,
            u.valid_from,
            u.valid_to,
            u.name,
            u.kind.as_str(),
            u.parent_code.as_ref().map_or("", |c| c.as_str())
        );
        h.update(line.as_bytes());
    }
    hex::encode(h.finalize())
}

#[derive(Debug, thiserror::Error)]
pub enum ReferenceDataError {
    #[error("{file} line {line}: {reason}")]
    Row {
        file: &'static str,
        line: u64,
        reason: String,
    },
}

pub(crate) const UNITS_2025: &str = include_str!("../data/hcmc-units-2025.csv");
pub(crate) const UNITS_PRE_2025: &str =
    include_str!("../data/units-pre2025-hcmc-binhduong-bariavungtau.csv");

fn row_error(
    file: &'static str,
    record: &csv::StringRecord,
    reason: impl ToString,
) -> ReferenceDataError {
    ReferenceDataError::Row {
        file,
        line: record.position().map_or(0, |p| p.line()),
        reason: reason.to_string(),
    }
}

fn code(
    file: &'static str,
    rec: &csv::StringRecord,
    i: usize,
) -> Result<UnitCode, ReferenceDataError> {
    UnitCode::parse(rec.get(i).unwrap_or_default())
        .map_err(|e: ParseIdError| row_error(file, rec, format!("column {}: {e}", i + 1)))
}

fn field<'r>(
    file: &'static str,
    rec: &'r csv::StringRecord,
    i: usize,
) -> Result<&'r str, ReferenceDataError> {
    rec.get(i)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| row_error(file, rec, format!("column {} is empty", i + 1)))
}

fn kind_from_prefix(name: &str, table: &[(&str, UnitKind)]) -> Option<UnitKind> {
    table
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|&(_, k)| k)
}

/// Every unit shipped with sohoa: the city and its 168 commune-level units in force since
/// 2025-07-01, and the provinces, districts and communes of the three former provinces with
/// their end date. The data is embedded at compile time, so this only fails if the shipped
/// files are broken, which a unit test guards.
pub fn reference_units() -> Result<Vec<Unit>, ReferenceDataError> {
    let mut units = Vec::with_capacity(700);
    let hcmc = UnitCode::parse(HCMC_CODE).map_err(|e| ReferenceDataError::Row {
        file: "built-in",
        line: 0,
        reason: e.to_string(),
    })?;
    units.push(Unit {
        code: hcmc.clone(),
        name: "Thành phố Hồ Chí Minh".to_owned(),
        kind: UnitKind::Municipality,
        parent_code: None,
        valid_from: Some(REFORM_2025),
        valid_to: None,
    });

    const NEW: &str = "hcmc-units-2025.csv";
    let mut rdr = csv::Reader::from_reader(UNITS_2025.as_bytes());
    for rec in rdr.records() {
        let rec = rec.map_err(|e| ReferenceDataError::Row {
            file: NEW,
            line: 0,
            reason: e.to_string(),
        })?;
        let kind = match field(NEW, &rec, 2)? {
            "phường" => UnitKind::Ward,
            "xã" => UnitKind::Commune,
            "đặc khu" => UnitKind::SpecialZone,
            other => {
                return Err(row_error(
                    NEW,
                    &rec,
                    format!("unknown division type {other:?}"),
                ))
            }
        };
        units.push(Unit {
            code: code(NEW, &rec, 0)?,
            name: field(NEW, &rec, 1)?.to_owned(),
            kind,
            parent_code: Some(hcmc.clone()),
            valid_from: Some(REFORM_2025),
            valid_to: None,
        });
    }

    const OLD: &str = "units-pre2025-hcmc-binhduong-bariavungtau.csv";
    let mut seen = std::collections::HashSet::new();
    let mut rdr = csv::Reader::from_reader(UNITS_PRE_2025.as_bytes());
    let old = |code: UnitCode, name: &str, kind, parent_code| Unit {
        code,
        name: name.to_owned(),
        kind,
        parent_code,
        valid_from: None,
        valid_to: Some(REFORM_2025),
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| ReferenceDataError::Row {
            file: OLD,
            line: 0,
            reason: e.to_string(),
        })?;
        let (province, district, commune) = (
            code(OLD, &rec, 0)?,
            code(OLD, &rec, 2)?,
            code(OLD, &rec, 4)?,
        );
        let (pname, dname, cname) = (
            field(OLD, &rec, 1)?,
            field(OLD, &rec, 3)?,
            field(OLD, &rec, 5)?,
        );
        if seen.insert(province.clone()) {
            let kind = kind_from_prefix(
                pname,
                &[
                    ("Thành phố", UnitKind::Municipality),
                    ("Tỉnh", UnitKind::Province),
                ],
            )
            .ok_or_else(|| row_error(OLD, &rec, format!("unknown province type in {pname:?}")))?;
            units.push(old(province.clone(), pname, kind, None));
        }
        if seen.insert(district.clone()) {
            let kind = kind_from_prefix(
                dname,
                &[
                    ("Quận", UnitKind::UrbanDistrict),
                    ("Huyện", UnitKind::RuralDistrict),
                    ("Thành phố", UnitKind::DistrictCity),
                    ("Thị xã", UnitKind::Town),
                ],
            )
            .ok_or_else(|| row_error(OLD, &rec, format!("unknown district type in {dname:?}")))?;
            units.push(old(district.clone(), dname, kind, Some(province)));
        }
        let kind = kind_from_prefix(
            cname,
            &[
                ("Phường", UnitKind::Ward),
                ("Xã", UnitKind::Commune),
                ("Thị trấn", UnitKind::Township),
            ],
        )
        .ok_or_else(|| row_error(OLD, &rec, format!("unknown commune type in {cname:?}")))?;
        if !seen.insert(commune.clone()) {
            return Err(row_error(
                OLD,
                &rec,
                format!("commune {commune} listed twice"),
            ));
        }
        units.push(old(commune, cname, kind, Some(district)));
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units() -> Vec<Unit> {
        match reference_units() {
            Ok(u) => u,
            Err(e) => unreachable!("shipped reference data is broken: {e}"),
        }
    }

    #[test]
    fn the_city_has_168_commune_level_units_since_the_reform() {
        let u = units();
        let current: Vec<_> = u
            .iter()
            .filter(|u| u.is_valid_on(REFORM_2025) && u.kind.level() == UnitLevel::Commune)
            .collect();
        assert_eq!(current.len(), 168);
        let count = |k| current.iter().filter(|u| u.kind == k).count();
        assert_eq!(
            (
                count(UnitKind::Ward),
                count(UnitKind::Commune),
                count(UnitKind::SpecialZone)
            ),
            (113, 54, 1)
        );
        assert!(current
            .iter()
            .all(|u| u.parent_code.as_ref().map(|c| c.as_str()) == Some(HCMC_CODE)));
    }

    #[test]
    fn a_reused_code_means_different_units_before_and_after() {
        let u = units();
        let on = |day| {
            u.iter()
                .find(|u| u.code.as_str() == "25747" && u.is_valid_on(day))
                .map(|u| u.name.as_str())
        };
        assert_eq!(on(date!(2025 - 06 - 30)), Some("Phường Phú Cường"));
        assert_eq!(on(REFORM_2025), Some("Phường Thủ Dầu Một"));
    }

    #[test]
    fn old_units_have_three_provinces_and_no_district_survives() {
        let u = units();
        let old_provinces: Vec<_> = u
            .iter()
            .filter(|u| u.kind.level() == UnitLevel::Province && u.valid_to == Some(REFORM_2025))
            .map(|u| u.code.as_str())
            .collect();
        assert_eq!(old_provinces.len(), 3);
        assert!(u
            .iter()
            .filter(|u| u.kind.level() == UnitLevel::District)
            .all(|u| !u.is_valid_on(REFORM_2025)));
        // Every pre-2025 unit below a province points at a parent that exists.
        for unit in u.iter().filter(|u| u.valid_to.is_some()) {
            if let Some(p) = &unit.parent_code {
                assert!(
                    u.iter().any(|x| &x.code == p && x.valid_to.is_some()),
                    "{} has no parent",
                    unit.code
                );
            }
        }
    }
}
