//! A citizens file row: `Citizen::parse(&CitizenInput, today)` fed from a CSV file (the
//! import's header), from NDJSON lines (both straight serde_json deserialization, as a JSON
//! body is read, and the import's flattening), or from arbitrary text in every field.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use sohoa_domain::ids::CitizenId;
use sohoa_domain::registry::citizen::{self, Citizen, CitizenInput};
use sohoa_domain::registry::{content_hash, date_text, Address};
use sohoa_fuzz::{is_clean_text, RowInput, TODAY};

#[derive(Arbitrary, Debug)]
struct Fields {
    citizen_id: String,
    full_name: String,
    date_of_birth: String,
    sex: String,
    permanent_street: String,
    permanent_unit: String,
    temporary_street: String,
    temporary_unit: String,
    household_id: String,
    phone: String,
    email: String,
}

impl From<Fields> for CitizenInput {
    fn from(f: Fields) -> Self {
        CitizenInput {
            citizen_id: f.citizen_id,
            full_name: f.full_name,
            date_of_birth: f.date_of_birth,
            sex: f.sex,
            permanent_street: f.permanent_street,
            permanent_unit: f.permanent_unit,
            temporary_street: f.temporary_street,
            temporary_unit: f.temporary_unit,
            household_id: f.household_id,
            phone: f.phone,
            email: f.email,
        }
    }
}

const REQUIRED: &[&str] = &[
    "citizen_id",
    "full_name",
    "date_of_birth",
    "sex",
    "permanent_street",
    "permanent_unit",
];

/// The input a stored record would be exported as.
fn to_input(c: &Citizen) -> CitizenInput {
    let (temporary_street, temporary_unit) = c.temporary_address.as_ref().map_or_else(
        Default::default,
        |a: &Address| (a.street.clone(), a.unit_code.to_string()),
    );
    CitizenInput {
        citizen_id: c.citizen_id.to_string(),
        full_name: c.full_name.clone(),
        date_of_birth: date_text(c.date_of_birth),
        sex: c.sex.as_str().to_owned(),
        permanent_street: c.permanent_address.street.clone(),
        permanent_unit: c.permanent_address.unit_code.to_string(),
        temporary_street,
        temporary_unit,
        household_id: c.household_id.clone().unwrap_or_default(),
        phone: c.phone.clone().unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
    }
}

fn check(input: &CitizenInput) {
    let parsed = Citizen::parse(input, TODAY);
    // Parsing is a function of its input.
    assert_eq!(parsed, Citizen::parse(input, TODAY));
    match parsed {
        Ok(c) => {
            assert!(sohoa_fuzz::is_valid_citizen_id(c.citizen_id.as_str()));
            assert_eq!(c.citizen_id.as_str(), input.citizen_id.trim());
            // The CCCD agrees with the record; the birth date is plausible.
            assert_eq!(c.citizen_id.birth_year(), c.date_of_birth.year());
            assert_eq!(c.citizen_id.sex(), c.sex);
            assert!(c.date_of_birth <= TODAY && c.date_of_birth.year() >= 1880);
            // Text is stored cleaned and bounded.
            assert!(is_clean_text(&c.full_name), "{:?}", c.full_name);
            let name_chars = c.full_name.chars().count();
            assert!((2..=100).contains(&name_chars));
            for a in std::iter::once(&c.permanent_address).chain(&c.temporary_address) {
                assert!(is_clean_text(&a.street) && a.street.chars().count() <= 200);
                assert!(!a.street.chars().any(char::is_control));
                assert_eq!(a.unit_code.as_str().len(), 5);
            }
            if let Some(p) = &c.phone {
                assert!(p.len() == 10 && p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit()));
            }
            if let Some(e) = &c.email {
                assert_eq!(e, &e.to_lowercase());
                assert!(e.len() <= 254 && e.matches('@').count() == 1, "{e:?}");
            }
            if let Some(h) = &c.household_id {
                assert!((1..=20).contains(&h.len()));
            }
            assert_eq!(c.unit_codes().count(), 1 + usize::from(c.temporary_address.is_some()));
            // The record re-parses from its own output to itself (and so hashes the same).
            let again = Citizen::parse(&to_input(&c), TODAY);
            assert_eq!(again.as_ref(), Ok(&c), "round trip of {input:?}");
            assert_eq!(content_hash(&again.unwrap()), content_hash(&c));
            let _ = CitizenId::parse(c.citizen_id.as_str()).unwrap();
        }
        Err(errs) => {
            assert!(!errs.is_empty());
            for e in &errs {
                assert!(
                    citizen::CSV_HEADER.contains(&e.field),
                    "error on unknown field {:?}",
                    e.field
                );
                assert!(!e.code.is_empty());
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match sohoa_fuzz::row_input(data) {
        None => {}
        Some(RowInput::Fields(raw)) => {
            if let Ok(f) = Fields::arbitrary_take_rest(Unstructured::new(raw)) {
                check(&f.into());
            }
        }
        Some(RowInput::Csv(body)) => {
            for row in sohoa_fuzz::csv_rows::<CitizenInput>(citizen::CSV_HEADER, body)
                .into_iter()
                .flatten()
            {
                check(&row);
            }
        }
        Some(RowInput::Ndjson(text)) => {
            for line in text.lines() {
                let direct = serde_json::from_str::<CitizenInput>(line);
                let flat =
                    sohoa_fuzz::ndjson_flat::<CitizenInput>(citizen::CSV_HEADER, REQUIRED, line);
                // A line a JSON body would accept, the import accepts as the same input.
                if let Ok(d) = &direct {
                    assert_eq!(
                        flat.as_ref().map(|f| format!("{f:?}")).ok(),
                        Some(format!("{d:?}")),
                        "{line:?}"
                    );
                    check(d);
                }
                if let Ok(f) = &flat {
                    check(f);
                }
            }
        }
    }
});
