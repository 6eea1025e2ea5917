//! The row of an application, apart from the queries that read and write it: the
//! monitoring counters and the evaluation derive from it, and applications' writes update
//! both in the same transaction, so the type sits below all three.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::services::application::{ApplicationNumber, Content};
use sohoa_domain::services::channel::Channel;
use sohoa_domain::services::procedure::ProcedureCode;
use sohoa_domain::services::workflow::Status;
use sohoa_domain::Timestamp;
use sohoa_domain::{CitizenId, Money, TaxCode, UnitCode};
use time::Date;

/// An application as stored: identifiers as the domain's types, days as dates (Vietnam's
/// calendar), times RFC 3339. A stored value that does not parse is a storage error naming
/// its column, never a value silently dropped.
#[derive(Debug, Clone)]
pub struct Application {
    pub number: ApplicationNumber,
    pub procedure_code: ProcedureCode,
    pub procedure_version: i64,
    pub applicant: CitizenId,
    pub agency_code: AgencyCode,
    pub unit_code: UnitCode,
    pub status: Status,
    /// `None` in list results, which do not open the seal.
    pub content: Option<Content>,
    pub fee: Option<Money>,
    pub fee_payable: Option<Money>,
    pub waiver_basis: Option<String>,
    pub assigned_to: Option<String>,
    pub created_at: Timestamp,
    pub submitted_at: Option<Timestamp>,
    pub received_on: Option<Date>,
    pub due_on: Option<Date>,
    pub paused_on: Option<Date>,
    pub decided_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub revision: i64,
    pub lookup_hash: String,
    pub assisted_by: Option<String>,
    /// When the fee was paid in full; set by payments, not by moves.
    pub fee_paid_at: Option<Timestamp>,
    /// The enterprise applied for, by its legal representative (the applicant).
    pub enterprise: Option<TaxCode>,
    /// How it was filed: online, at a counter, assisted, by an enterprise.
    pub channel: Channel,
    /// The agency whose one-stop counter took it in (a ward's, or the city's Center).
    pub intake_agency: Option<AgencyCode>,
}

/// When the application was stored, for callers that build one.
pub fn now() -> Timestamp {
    Timestamp::now()
}
