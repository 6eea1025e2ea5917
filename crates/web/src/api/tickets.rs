//! Counters' waiting lines over the API: the kiosk takes a number, desks call the next,
//! the waiting room's board reads the line. Only translation; the rules are
//! `sohoa_app::tickets`'.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sohoa_domain::counter::{label, TicketStatus};
use sohoa_storage::tickets::Ticket;
use utoipa::ToSchema;

use sohoa_app::tickets as uc;
use sohoa_app::Acting;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ClientAddr};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub ticket_id: String,
    /// As the board shows it: `A-007`.
    pub label: String,
    pub group: String,
    pub number: i64,
    pub status: TicketStatus,
    pub taken_at: String,
    pub called_at: Option<String>,
    pub desk: Option<String>,
}

impl From<Ticket> for TicketView {
    fn from(t: Ticket) -> Self {
        Self {
            label: label(t.group, t.number),
            ticket_id: t.id,
            group: t.group.to_string(),
            number: t.number,
            status: t.status,
            taken_at: t.taken_at.to_string(),
            called_at: t.called_at.map(|c| c.to_string()),
            desk: t.desk,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeTicket {
    /// The service group's letter: A civil status and certification, B land and
    /// construction, C business and investment, D other matters and results.
    #[schema(max_length = 1, example = "A")]
    pub group: String,
}

/// Takes a number for a counter's waiting line (the kiosk; no sign-in, nothing personal).
#[utoipa::path(post, path = "/api/v1/counters/{agency}/tickets", tag = "counter",
    params(("agency" = String, Path, description = "The counter's agency", example = "UBND-26743")),
    request_body = TakeTicket,
    responses(
        (status = 201, body = TicketView),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn take(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(agency): Path<String>,
    ApiJson(body): ApiJson<TakeTicket>,
) -> ApiResult<(StatusCode, Json<TicketView>)> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let t = uc::take(&state, who, &agency, &body.group).await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineView {
    pub group: String,
    pub name_vi: String,
    pub name_en: String,
    pub waiting: i64,
    /// Mean minutes waited before being called, today.
    pub average_wait_minutes: Option<i64>,
    pub served: i64,
    pub no_show: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoardView {
    pub agency_code: String,
    pub agency_name: String,
    /// The latest calls, newest first.
    pub called: Vec<TicketView>,
    pub lines: Vec<LineView>,
}

impl From<uc::Board> for BoardView {
    fn from(b: uc::Board) -> Self {
        Self {
            agency_code: b.agency.code.to_string(),
            agency_name: b.agency.name_vi,
            called: b.called.into_iter().map(Into::into).collect(),
            lines: b
                .lines
                .into_iter()
                .map(|l| LineView {
                    group: l.group.code.to_string(),
                    name_vi: l.group.name_vi.to_owned(),
                    name_en: l.group.name_en.to_owned(),
                    waiting: l.waiting,
                    average_wait_minutes: l.average_wait_minutes,
                    served: l.served,
                    no_show: l.no_show,
                })
                .collect(),
        }
    }
}

/// The waiting room's board: who is called to which desk, how many wait per group, how long
/// people waited today.
#[utoipa::path(get, path = "/api/v1/counters/{agency}/board", tag = "counter",
    params(("agency" = String, Path, description = "The counter's agency", example = "UBND-26743")),
    responses((status = 200, body = BoardView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn board(
    State(state): State<AppState>,
    Path(agency): Path<String>,
) -> ApiResult<Json<BoardView>> {
    Ok(Json(uc::board(&state, &agency).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallNext {
    /// Call from this group only (else whoever waited longest).
    #[schema(max_length = 1, example = "A")]
    pub group: Option<String>,
    /// The desk the person is called to: 1 to 20 letters, digits, spaces.
    #[schema(max_length = 20, example = "Quầy 3")]
    pub desk: String,
}

/// Calls the next person of this counter's line to a desk; 404 when nobody waits.
#[utoipa::path(post, path = "/api/v1/counter/tickets/call", tag = "counter", security(("bearer" = [])),
    request_body = CallNext,
    responses(
        (status = 200, body = TicketView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn call(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<CallNext>,
) -> ApiResult<Json<TicketView>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    let t = uc::call_next(&state, who, body.group.as_deref(), &body.desk).await?;
    Ok(Json(t.into()))
}

/// The called person was served.
#[utoipa::path(post, path = "/api/v1/counter/tickets/{id}/served", tag = "counter", security(("bearer" = [])),
    params(("id" = String, Path, description = "Ticket id", example = "tk_00112233445566778899")),
    responses(
        (status = 200, body = TicketView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn served(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<Json<TicketView>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    Ok(Json(uc::finish(&state, who, &id, true).await?.into()))
}

/// The called person did not come.
#[utoipa::path(post, path = "/api/v1/counter/tickets/{id}/no-show", tag = "counter", security(("bearer" = [])),
    params(("id" = String, Path, description = "Ticket id", example = "tk_00112233445566778899")),
    responses(
        (status = 200, body = TicketView),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn no_show(
    State(state): State<AppState>,
    caller: Caller,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<Json<TicketView>> {
    let who = Acting::new(&caller.0, addr.as_deref());
    Ok(Json(uc::finish(&state, who, &id, false).await?.into()))
}

/// Every one-stop counter's line today: tickets, waiting, served, not come, and the mean and
/// longest waits before a call (leaders).
#[utoipa::path(get, path = "/api/v1/monitoring/counters", tag = "dashboards", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<sohoa_app::tickets::CounterWait>),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn waits(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<sohoa_app::tickets::CounterWait>>> {
    Ok(Json(uc::waits(&state, &caller.0).await?))
}
