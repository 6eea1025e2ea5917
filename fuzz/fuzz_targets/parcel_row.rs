//! Land parcels: `parcel::parse_key` (keys in URLs), `parse_owners` (`ID:PERCENT;...`),
//! `parse_geometry` (GeoJSON) and the whole row, `LandParcel::parse(&ParcelInput)`, fed from
//! a CSV file, NDJSON lines or arbitrary text in every field.
//!
//! First byte: `k` key, `o` owners, `g` geometry (each on the rest of the input); otherwise a
//! row as described in `sohoa_fuzz::row_input`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use sohoa_domain::registry::content_hash;
use sohoa_domain::registry::parcel::{
    self, parse_geometry, parse_key, parse_owners, LandParcel, Owner, ParcelInput,
};
use sohoa_fuzz::{json_close, RowInput};

#[derive(Arbitrary, Debug)]
struct Fields {
    unit: String,
    map_sheet: String,
    parcel_number: String,
    area_m2: String,
    land_use: String,
    owners: String,
    geometry: String,
}

impl From<Fields> for ParcelInput {
    fn from(f: Fields) -> Self {
        ParcelInput {
            unit: f.unit,
            map_sheet: f.map_sheet,
            parcel_number: f.parcel_number,
            area_m2: f.area_m2,
            land_use: f.land_use,
            owners: f.owners,
            geometry: f.geometry,
        }
    }
}

const REQUIRED: &[&str] = &[
    "unit",
    "map_sheet",
    "parcel_number",
    "area_m2",
    "land_use",
    "owners",
];

fn owners_text(owners: &[Owner]) -> String {
    owners
        .iter()
        .map(|o| format!("{}:{}.{:02}", o.id(), o.share_bp() / 100, o.share_bp() % 100))
        .collect::<Vec<_>>()
        .join(";")
}

fn check_key(s: &str) {
    if let Some(k) = parse_key(s) {
        // Canonical: parsing the canonical form gives it back.
        assert_eq!(parse_key(&k).as_deref(), Some(k.as_str()), "{s:?}");
        let parts: Vec<&str> = k.split('-').collect();
        assert_eq!(parts.len(), 3);
        assert!(parts[0].len() == 5 && parts[0].bytes().all(|b| b.is_ascii_digit()));
        let sheet: u32 = parts[1].parse().unwrap();
        let number: u32 = parts[2].parse().unwrap();
        assert!((1..=9_999).contains(&sheet) && (1..=99_999).contains(&number));
        assert_eq!(parts[1], sheet.to_string());
        assert_eq!(parts[2], number.to_string());
    }
}

fn check_owners(s: &str) {
    match parse_owners(s) {
        Ok(owners) => {
            assert!(!owners.is_empty());
            assert_eq!(owners.iter().map(Owner::share_bp).sum::<u32>(), 10_000);
            for (i, o) in owners.iter().enumerate() {
                assert!((1..=10_000).contains(&o.share_bp()));
                assert!(owners[..i].iter().all(|p| p.id() != o.id()), "{s:?}");
                match o {
                    Owner::Citizen { citizen_id, .. } => {
                        assert!(sohoa_fuzz::is_valid_citizen_id(citizen_id.as_str()))
                    }
                    Owner::Enterprise { tax_code, .. } => {
                        assert!(sohoa_fuzz::is_valid_tax_code(tax_code.as_str()))
                    }
                }
            }
            let text = owners_text(&owners);
            assert_eq!(parse_owners(&text).as_ref(), Ok(&owners), "{s:?} -> {text:?}");
        }
        Err(e) => assert_eq!((e.field, e.code), ("owners", "invalid_owners")),
    }
}

fn check_geometry(s: &str) {
    match parse_geometry(s) {
        Ok(v) => {
            let kind = v["type"].as_str().unwrap();
            assert!(kind == "Polygon" || kind == "MultiPolygon");
            let again = parse_geometry(&v.to_string());
            assert!(
                again.as_ref().is_ok_and(|w| json_close(&v, w)),
                "{s:?}: {again:?}"
            );
        }
        Err(e) => assert_eq!((e.field, e.code), ("geometry", "invalid_geometry")),
    }
}

fn to_input(p: &LandParcel) -> ParcelInput {
    ParcelInput {
        unit: p.unit_code.to_string(),
        map_sheet: p.map_sheet.to_string(),
        parcel_number: p.parcel_number.to_string(),
        area_m2: p.area_m2.to_string(),
        land_use: p.land_use.to_owned(),
        owners: owners_text(&p.owners),
        geometry: p.geometry.as_ref().map(|g| g.to_string()).unwrap_or_default(),
    }
}

fn check_row(input: &ParcelInput) {
    match LandParcel::parse(input) {
        Ok(p) => {
            assert!(p.area_m2.is_finite() && p.area_m2 > 0.0 && p.area_m2 < 1e9);
            assert!(parcel::LAND_USES.contains(&p.land_use));
            assert_eq!(p.owners.iter().map(Owner::share_bp).sum::<u32>(), 10_000);
            let key = p.key();
            assert_eq!(parse_key(&key).as_deref(), Some(key.as_str()));
            // Re-parsed from its own output: equal, except that geometry floats may come back
            // one ulp away (see json_close).
            let again = LandParcel::parse(&to_input(&p)).expect("re-parse");
            assert_eq!(
                (&again.unit_code, again.map_sheet, again.parcel_number),
                (&p.unit_code, p.map_sheet, p.parcel_number)
            );
            assert_eq!(again.area_m2.to_bits(), p.area_m2.to_bits());
            assert_eq!((again.land_use, &again.owners), (p.land_use, &p.owners));
            match (&again.geometry, &p.geometry) {
                (None, None) => assert_eq!(content_hash(&again), content_hash(&p)),
                (Some(a), Some(b)) => assert!(json_close(a, b)),
                _ => panic!("geometry lost or gained: {input:?}"),
            }
        }
        Err(errs) => {
            assert!(!errs.is_empty());
            for e in &errs {
                assert!(parcel::CSV_HEADER.contains(&e.field), "{:?}", e.field);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = std::str::from_utf8(data.get(1..).unwrap_or_default());
    match (data.first(), text) {
        (Some(b'k'), Ok(s)) => return check_key(s),
        (Some(b'o'), Ok(s)) => return check_owners(s),
        (Some(b'g'), Ok(s)) => return check_geometry(s),
        (Some(b'k' | b'o' | b'g'), Err(_)) => return,
        _ => {}
    }
    match sohoa_fuzz::row_input(data) {
        None => {}
        Some(RowInput::Fields(raw)) => {
            if let Ok(f) = Fields::arbitrary_take_rest(Unstructured::new(raw)) {
                check_row(&f.into());
            }
        }
        Some(RowInput::Csv(body)) => {
            for row in sohoa_fuzz::csv_rows::<ParcelInput>(parcel::CSV_HEADER, body)
                .into_iter()
                .flatten()
            {
                check_row(&row);
            }
        }
        Some(RowInput::Ndjson(text)) => {
            for line in text.lines() {
                let direct = serde_json::from_str::<ParcelInput>(line);
                let flat =
                    sohoa_fuzz::ndjson_flat::<ParcelInput>(parcel::CSV_HEADER, REQUIRED, line);
                if let Ok(d) = &direct {
                    assert_eq!(
                        flat.as_ref().map(|f| format!("{f:?}")).ok(),
                        Some(format!("{d:?}")),
                        "{line:?}"
                    );
                    check_row(d);
                }
                if let Ok(f) = &flat {
                    check_row(f);
                }
            }
        }
    }
});
