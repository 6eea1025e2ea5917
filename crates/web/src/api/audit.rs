//! The audit log for auditors: every entry, newest first, with its place in the hash chain
//! so that an auditor can check any page against `sohoa audit verify`. Reading it is itself
//! audited: who watches the watchers.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::{AuditRecord, Outcome};
use sohoa_domain::policy::{Action, Target};
use sohoa_storage::audit;
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
    caller.authorize(
        Action::ReadAuditLog,
        &Target {
            agency: agency.as_ref(),
            ..Target::default()
        },
    )?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request("invalid_page"));
    }
    let scope = agency.as_ref().map(AgencyCode::as_str);
    let entries = audit::entries_before(&state.db, scope, p.before, limit + 1).await?;
    state
        .audit
        .record(
            AuditRecord::new(
                caller.actor(),
                "audit.read",
                "audit_log",
                scope.unwrap_or("all"),
            )
            .actor_unit(caller.0.agency().map(ToString::to_string))
            .client_addr(addr),
        )
        .await?;
    let more = entries.len() as i64 > limit;
    let items: Vec<AuditEntryView> = entries
        .into_iter()
        .take(limit as usize)
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
    Ok(Json(AuditPage {
        next_before: if more {
            items.last().map(|e| e.seq)
        } else {
            None
        },
        items,
    }))
}
