//! How each identifier looks in the OpenAPI document, stated by the type that parses it:
//! the pattern, an example and what it is, so the document and the parser cannot drift
//! apart (`tests/it/openapi.rs` checks each pattern against `parse` with Python's `re`).
//! A pattern may be stricter than `parse` (which trims spaces and, for codes people type,
//! ignores case), never looser.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

use crate::agency::AgencyCode;
use crate::feedback::evaluation::Month;
use crate::identity::Username;
use crate::ids::{CitizenId, TaxCode, UnitCode};
use crate::services::application::{ApplicationNumber, LookupCode};
use crate::services::procedure::ProcedureCode;
use crate::sharing::Purpose;

/// Crockford's base 32, the alphabet of application numbers and one-time codes.
const B32: &str = "0-9A-HJKMNP-TV-Z";

/// An identifier's schema: a string of `pattern`, for instance `example`.
pub trait Identifier {
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
    fn pattern() -> Cow<'static, str>;
    const EXAMPLE: &'static str;
}

macro_rules! identifier {
    ($ty:ty, $desc:literal, $pattern:expr, $example:literal) => {
        impl Identifier for $ty {
            const NAME: &'static str = stringify!($ty);
            const DESCRIPTION: &'static str = $desc;
            fn pattern() -> Cow<'static, str> {
                Cow::from($pattern)
            }
            const EXAMPLE: &'static str = $example;
        }
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(<$ty as Identifier>::DESCRIPTION))
                    .pattern(Some(<$ty as Identifier>::pattern()))
                    .examples([serde_json::Value::from(<$ty as Identifier>::EXAMPLE)])
                    .into()
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(<$ty as Identifier>::NAME)
            }
        }
    };
}

identifier!(
    CitizenId,
    "A CCCD (citizen identity number): 12 digits, the first three a province code 001-096.",
    "^0(0[1-9]|[1-8][0-9]|9[0-6])[0-9]{9}$",
    "079185001234"
);
identifier!(
    TaxCode,
    "An enterprise's tax code: 10 digits, the last a check digit, and a branch's -NNN.",
    "^[0-9]{10}(-[0-9]{3})?$",
    "0100109106"
);
identifier!(
    UnitCode,
    "An administrative unit's code: 2 digits (province), 3 (district) or 5 (commune).",
    "^([0-9]{2}|[0-9]{3}|[0-9]{5})$",
    "26743"
);
identifier!(
    AgencyCode,
    "An agency's code: 2 to 40 capital letters, digits and inner hyphens.",
    "^[A-Z0-9][A-Z0-9-]{0,38}[A-Z0-9]$",
    "UBND-26743"
);
identifier!(
    ProcedureCode,
    "A procedure's code in the national catalog: 3 to 40 capital letters, digits, dots and hyphens.",
    "^[A-Z0-9][A-Z0-9.-]{2,39}$",
    "1.001193"
);
identifier!(
    ApplicationNumber,
    "An application's number: HS and 10 characters of Crockford's base 32.",
    format!("^HS[{B32}]{{10}}$"),
    "HS0A1B2C3D4E"
);
identifier!(
    LookupCode,
    "A one-time code as shown to people: 8 characters of Crockford's base 32, a hyphen in the middle.",
    format!("^[{B32}]{{4}}-?[{B32}]{{4}}$"),
    "7K3M-Q9TX"
);
identifier!(
    Purpose,
    "A legal purpose's code: 3 to 64 small letters, digits, hyphens and underscores.",
    "^[a-z0-9_-]{3,64}$",
    "building-permit"
);
identifier!(
    Username,
    "A staff account's username: 3 to 64 small letters, digits, dots, hyphens and underscores, starting with a letter. An account an agency's administrator opens ends with a dot and the agency's code in small letters (`tran.binh.so-y-te`).",
    "^[a-z][a-z0-9._-]{2,63}$",
    "tran.binh"
);
identifier!(
    Month,
    "A calendar month, YYYY-MM.",
    "^[0-9]{4}-(0[1-9]|1[0-2])$",
    "2026-03"
);
