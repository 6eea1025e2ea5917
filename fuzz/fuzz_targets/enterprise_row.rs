//! An enterprises file row: `Enterprise::parse(&EnterpriseInput, today)` fed from a CSV file,
//! from NDJSON lines (straight serde_json and the import's flattening), or from arbitrary text
//! in every field.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use sohoa_domain::registry::enterprise::{self, Enterprise, EnterpriseInput};
use sohoa_domain::registry::{content_hash, date_text};
use sohoa_fuzz::{is_clean_text, RowInput, TODAY};

#[derive(Arbitrary, Debug)]
struct Fields {
    tax_code: String,
    name: String,
    legal_form: String,
    street: String,
    unit: String,
    registered_on: String,
    status: String,
    legal_representative: String,
}

impl From<Fields> for EnterpriseInput {
    fn from(f: Fields) -> Self {
        EnterpriseInput {
            tax_code: f.tax_code,
            name: f.name,
            legal_form: f.legal_form,
            street: f.street,
            unit: f.unit,
            registered_on: f.registered_on,
            status: f.status,
            legal_representative: f.legal_representative,
        }
    }
}

fn to_input(e: &Enterprise) -> EnterpriseInput {
    EnterpriseInput {
        tax_code: e.tax_code.to_string(),
        name: e.name.clone(),
        legal_form: e.legal_form.to_owned(),
        street: e.address.street.clone(),
        unit: e.address.unit_code.to_string(),
        registered_on: date_text(e.registered_on),
        status: e.status.to_owned(),
        legal_representative: e.legal_representative.to_string(),
    }
}

fn check(input: &EnterpriseInput) {
    let parsed = Enterprise::parse(input, TODAY);
    assert_eq!(parsed, Enterprise::parse(input, TODAY));
    match parsed {
        Ok(e) => {
            // The tax code's check digit is right (recomputed independently).
            assert!(sohoa_fuzz::is_valid_tax_code(e.tax_code.as_str()));
            assert_eq!(e.tax_code.as_str(), input.tax_code.trim());
            assert!(sohoa_fuzz::is_valid_citizen_id(e.legal_representative.as_str()));
            assert!(enterprise::LEGAL_FORMS.contains(&e.legal_form));
            assert!(enterprise::STATUSES.contains(&e.status));
            assert!(e.registered_on <= TODAY);
            assert!(is_clean_text(&e.name) && e.name.chars().count() <= 300);
            assert!(!e.name.chars().any(char::is_control));
            assert!(is_clean_text(&e.address.street));
            assert_eq!(e.address.unit_code.as_str().len(), 5);
            // The record re-parses from its own output to itself.
            let again = Enterprise::parse(&to_input(&e), TODAY);
            assert_eq!(again.as_ref(), Ok(&e), "round trip of {input:?}");
            assert_eq!(content_hash(&again.unwrap()), content_hash(&e));
        }
        Err(errs) => {
            assert!(!errs.is_empty());
            for err in &errs {
                assert!(
                    enterprise::CSV_HEADER.contains(&err.field),
                    "error on unknown field {:?}",
                    err.field
                );
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
            for row in sohoa_fuzz::csv_rows::<EnterpriseInput>(enterprise::CSV_HEADER, body)
                .into_iter()
                .flatten()
            {
                check(&row);
            }
        }
        Some(RowInput::Ndjson(text)) => {
            for line in text.lines() {
                let direct = serde_json::from_str::<EnterpriseInput>(line);
                let flat = sohoa_fuzz::ndjson_flat::<EnterpriseInput>(
                    enterprise::CSV_HEADER,
                    enterprise::CSV_HEADER,
                    line,
                );
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
