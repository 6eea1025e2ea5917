//! Enterprises: identified by their tax code (MST).

use serde::{Deserialize, Serialize};
use time::Date;

use super::{parse_date, text_field, Address, Errors, FieldError};
use crate::ids::{CitizenId, TaxCode};

pub const FIELDS: &[&str] = &[
    "name",
    "legal_form",
    "address",
    "registered_on",
    "status",
    "legal_representative",
];

pub const CSV_HEADER: &[&str] = &[
    "tax_code",
    "name",
    "legal_form",
    "street",
    "unit",
    "registered_on",
    "status",
    "legal_representative",
];

/// Legal forms under the Law on Enterprises 2020, plus dependent units.
pub const LEGAL_FORMS: &[&str] = &[
    "sole_proprietorship",
    "llc_single_member",
    "llc_multi_member",
    "joint_stock",
    "partnership",
    "branch",
    "representative_office",
];

pub const STATUSES: &[&str] = &["active", "suspended", "dissolving", "dissolved", "bankrupt"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enterprise {
    pub tax_code: TaxCode,
    pub name: String,
    pub legal_form: &'static str,
    pub address: Address,
    #[serde(serialize_with = "super::ser_date")]
    pub registered_on: Date,
    pub status: &'static str,
    pub legal_representative: CitizenId,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseInput {
    pub tax_code: String,
    pub name: String,
    pub legal_form: String,
    pub street: String,
    pub unit: String,
    pub registered_on: String,
    pub status: String,
    pub legal_representative: String,
}

fn one_of(
    field: &'static str,
    code: &'static str,
    s: &str,
    allowed: &[&'static str],
) -> Result<&'static str, FieldError> {
    let s = s.trim();
    allowed
        .iter()
        .copied()
        .find(|a| *a == s)
        .ok_or_else(|| FieldError::new(field, code, format!("one of {}", allowed.join(", "))))
}

impl Enterprise {
    pub fn parse(input: &EnterpriseInput, today: Date) -> Result<Self, Vec<FieldError>> {
        let mut errs = Errors::default();
        let tax_code = errs.take(
            TaxCode::parse(&input.tax_code)
                .map_err(|e| FieldError::new("tax_code", "invalid_tax_code", e.to_string())),
        );
        let name = errs.take(text_field("name", &input.name, 300));
        let legal_form = errs.take(one_of(
            "legal_form",
            "invalid_legal_form",
            &input.legal_form,
            LEGAL_FORMS,
        ));
        let address = errs.take(Address::parse("street", "unit", &input.street, &input.unit));
        let registered_on = errs.take(parse_date("registered_on", &input.registered_on).and_then(
            |d| {
                if d > today {
                    Err(FieldError::new(
                        "registered_on",
                        "future_date",
                        "the registration date is in the future",
                    ))
                } else {
                    Ok(d)
                }
            },
        ));
        let status = errs.take(one_of("status", "invalid_status", &input.status, STATUSES));
        let legal_representative =
            errs.take(CitizenId::parse(&input.legal_representative).map_err(|e| {
                FieldError::new("legal_representative", "invalid_citizen_id", e.to_string())
            }));
        match (
            tax_code,
            name,
            legal_form,
            address,
            registered_on,
            status,
            legal_representative,
        ) {
            (
                Some(tax_code),
                Some(name),
                Some(legal_form),
                Some(address),
                Some(registered_on),
                Some(status),
                Some(legal_representative),
            ) => Ok(Enterprise {
                tax_code,
                name,
                legal_form,
                address,
                registered_on,
                status,
                legal_representative,
            }),
            _ => Err(errs.into_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input() -> EnterpriseInput {
        EnterpriseInput {
            tax_code: "0100109106".into(),
            name: "Công ty Cổ phần Thử nghiệm".into(),
            legal_form: "joint_stock".into(),
            street: "1 Nguyễn Huệ".into(),
            unit: "26740".into(),
            registered_on: "2010-05-20".into(),
            status: "active".into(),
            legal_representative: "079085001234".into(),
        }
    }

    #[test]
    fn a_valid_enterprise_parses() {
        assert!(Enterprise::parse(&input(), date!(2026 - 01 - 01)).is_ok());
    }

    #[test]
    fn bad_fields_are_named() {
        let mut i = input();
        i.tax_code = "0100109107".into();
        i.legal_form = "corp".into();
        i.registered_on = "2030-01-01".into();
        let errs: Vec<_> = Enterprise::parse(&i, date!(2026 - 01 - 01))
            .unwrap_err()
            .into_iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(
            errs,
            vec!["invalid_tax_code", "invalid_legal_form", "future_date"]
        );
    }
}
