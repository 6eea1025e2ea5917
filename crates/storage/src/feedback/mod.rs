//! Reports (phản ánh), their routing, photos and supporters, commune boundaries, and the
//! counters of the service evaluation. Every change writes its audit entry and its
//! counters in the caller's transaction.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::feedback::evaluation::{bucket_of, Month, PublicFigure, BUCKET_HOURS};
use sohoa_domain::feedback::geo::{Area, BBox};
use sohoa_domain::feedback::report::{Category, ReportStatus};
use sohoa_domain::{Timestamp, UnitCode};
use sqlx::any::AnyRow;

use sohoa_domain::registry::date_text;
use time::Date;

use crate::{
    audit, day, float, int, opt_int, opt_parsed, opt_text, parsed, stamp, text, AnyQuery, Db,
    Result, StorageError, Tx,
};

mod boundaries;
mod evaluation;
mod photos;
mod ratings;
mod reports;
mod routing;
mod seed;

pub use boundaries::*;
pub use evaluation::*;
pub use photos::*;
pub use ratings::*;
pub use reports::*;
pub use routing::*;
pub use seed::*;
