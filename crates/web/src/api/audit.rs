//! The audit log for auditors: every entry, newest first, with its place in the hash chain
//! so that an auditor can check any page against `sohoa audit verify`. Reading it is itself
//! audited: who watches the watchers.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_app::audit as uc;
use sohoa_app::Acting;
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::Outcome;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::extract::{ApiQuery, ClientAddr};
use crate::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries of actors acting for this agency (required for an agency's auditor).
    #[param(value_type = Option<sohoa_domain::agency::AgencyCode>)]
    pub agency: Option<String>,
    /// The `next_before` of the previous page.
    pub before: Option<i64>,
    /// 1-500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub actor_unit: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub fields: Vec<String>,
    pub purpose: Option<String>,
    pub outcome: Outcome,
    pub client_addr: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryView>,
    /// Pass as `before` for older entries; absent at the end.
    pub next_before: Option<i64>,
}

/// Audit entries, newest first (auditors only; an agency's auditor sees their agency's).
#[utoipa::path(get, path = "/api/v1/audit", tag = "identity", security(("bearer" = [])), params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let agency = p
        .agency
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| {
            AgencyCode::parse(a)
                .map_err(|_| AppError::bad_request("invalid_agency_code").field("agency"))
        })
        .transpose()?;
    let who = Acting::new(&caller.0, addr.as_deref());
    let limit = p.limit.unwrap_or(100);
    let page = uc::read(&state, who, agency.as_ref(), p.before, limit).await?;
    let items: Vec<AuditEntryView> = page
        .entries
        .into_iter()
        .map(|e| AuditEntryView {
            seq: e.seq,
            at: e.record.at,
            actor: e.record.actor,
            actor_unit: e.record.actor_unit,
            action: e.record.action,
            object_type: e.record.object_type,
            object_id: e.record.object_id,
            fields: e.record.fields,
            purpose: e.record.purpose,
            outcome: e.record.outcome,
            client_addr: e.record.client_addr,
            prev_hash: e.prev_hash,
            hash: e.hash,
        })
        .collect();
    let next_before = items.last().map(|e| e.seq).filter(|_| page.more);
    Ok(Json(AuditPage { items, next_before }))
}
