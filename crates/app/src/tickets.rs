//! The waiting line of a one-stop counter: a person takes a number for a service group at
//! the kiosk (no sign-in: nothing about them is asked or kept), an officer calls the next
//! to their desk, then marks them served or not come; the waiting room's board shows who is
//! called where, how many wait, and how long people waited today.

use sohoa_domain::agency::AgencyCode;
use sohoa_domain::audit::AuditRecord;
use sohoa_domain::counter::{self, Group, TicketStatus, GROUPS};
use sohoa_domain::policy::{Action, Principal, Role};
use sohoa_domain::registry::date_text;
use sohoa_domain::Timestamp;
use sohoa_storage::tickets::{self as store, Ticket};
use sohoa_storage::StorageError;

use crate::{Acting, App, Error, Result};

fn today_text() -> String {
    date_text(crate::today())
}

fn group_of(code: &str) -> Result<Group> {
    counter::group(code).ok_or_else(|| Error::unprocessable("invalid_ticket_group").field("group"))
}

async fn agency_of(app: &App, code: &str) -> Result<sohoa_domain::agency::Agency> {
    let code = AgencyCode::parse(code).map_err(|_| Error::not_found("agency_not_found"))?;
    sohoa_storage::agencies::get(&app.db, &code)
        .await?
        .ok_or_else(|| Error::not_found("agency_not_found"))
}

/// Takes the next number of `group` at `agency`'s counter today.
pub async fn take(app: &App, who: Acting<'_>, agency: &str, group: &str) -> Result<Ticket> {
    let agency = agency_of(app, agency).await?;
    let g = group_of(group)?;
    let day = today_text();
    let mut tx = app.db.begin().await?;
    let number = store::next_number(&mut tx, agency.code.as_str(), &day, g.code).await?;
    if number > counter::MAX_PER_DAY {
        // Dropping the transaction gives the number back.
        return Err(Error::conflict("tickets_exhausted"));
    }
    let ticket = Ticket {
        id: format!("tk_{}", hex::encode(crate::random_bytes::<10>()?)),
        agency: agency.code.to_string(),
        day,
        group: g.code,
        number,
        status: TicketStatus::Waiting,
        taken_at: Timestamp::now(),
        called_at: None,
        called_by: None,
        desk: None,
        done_at: None,
    };
    store::insert(&mut tx, &ticket).await?;
    let record = AuditRecord::new(who.actor(), "ticket.take", "ticket", &ticket.id)
        .purpose(counter::label(g.code, number))
        .actor_unit(Some(ticket.agency.clone()))
        .client_addr(who.addr());
    sohoa_storage::audit::append(&mut tx, &record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(ticket)
}

/// The counter officer's agency (their counter's line).
fn line_of(who: &Principal) -> Result<String> {
    match who {
        Principal::Staff(s) if s.role == Role::CounterOfficer => {
            // The line is the agency's whole counter: no unit narrows it.
            sohoa_domain::policy::admits(who, Action::CounterIntake)
                .map_err(|_| Error::forbidden("forbidden"))?;
            s.agency
                .as_ref()
                .map(ToString::to_string)
                .ok_or_else(|| Error::forbidden("forbidden"))
        }
        _ => Err(Error::forbidden("forbidden")),
    }
}

/// Calls the longest-waiting ticket (of `group`, or of any) to `desk`; 404 when nobody
/// waits.
pub async fn call_next(
    app: &App,
    who: Acting<'_>,
    group: Option<&str>,
    desk: &str,
) -> Result<Ticket> {
    let agency = line_of(who.principal)?;
    let g = group.map(group_of).transpose()?;
    let desk =
        counter::desk(desk).ok_or_else(|| Error::unprocessable("invalid_desk").field("desk"))?;
    let mut tx = app.db.begin().await?;
    let called = store::call_next(
        &app.db,
        &mut tx,
        &agency,
        &today_text(),
        g.map(|g| g.code),
        &desk,
        &who.actor(),
    )
    .await?;
    let Some(t) = called else {
        return Err(Error::not_found("no_ticket_waiting"));
    };
    let record = AuditRecord::new(who.actor(), "ticket.call", "ticket", &t.id)
        .purpose(format!("{} → {desk}", counter::label(t.group, t.number)))
        .actor_unit(Some(agency))
        .client_addr(who.addr());
    sohoa_storage::audit::append(&mut tx, &record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(t)
}

/// Marks a called ticket served, or not come (`served` false).
pub async fn finish(app: &App, who: Acting<'_>, id: &str, served: bool) -> Result<Ticket> {
    let agency = line_of(who.principal)?;
    let outcome = if served {
        TicketStatus::Served
    } else {
        TicketStatus::NoShow
    };
    let mut tx = app.db.begin().await?;
    let Some(t) = store::finish(&mut tx, &agency, id, outcome).await? else {
        return Err(Error::not_found("ticket_not_found"));
    };
    let record = AuditRecord::new(
        who.actor(),
        format!("ticket.{}", outcome.as_str()),
        "ticket",
        id,
    )
    .actor_unit(Some(agency))
    .client_addr(who.addr());
    sohoa_storage::audit::append(&mut tx, &record).await?;
    tx.commit().await.map_err(StorageError::from)?;
    Ok(t)
}

/// A group's line today.
#[derive(Debug, Clone)]
pub struct Line {
    pub group: Group,
    pub waiting: i64,
    /// Mean minutes from taking a number to being called, over today's called tickets.
    pub average_wait_minutes: Option<i64>,
    pub served: i64,
    pub no_show: i64,
}

/// What the waiting room's board shows.
#[derive(Debug, Clone)]
pub struct Board {
    pub agency: sohoa_domain::agency::Agency,
    /// The latest calls, newest first (at most eight).
    pub called: Vec<Ticket>,
    pub lines: Vec<Line>,
}

/// The board of `agency`'s counter today: no names, only numbers.
pub async fn board(app: &App, agency: &str) -> Result<Board> {
    let agency = agency_of(app, agency).await?;
    let tickets = store::of_day(&app.db, agency.code.as_str(), &today_text()).await?;
    let mut called: Vec<Ticket> = tickets
        .iter()
        .filter(|t| t.called_at.is_some())
        .cloned()
        .collect();
    called.sort_by_key(|t| std::cmp::Reverse(t.called_at));
    called.truncate(8);
    let lines = GROUPS
        .iter()
        .map(|g| {
            let of = || tickets.iter().filter(move |t| t.group == g.code);
            let count = |s: TicketStatus| of().filter(|t| t.status == s).count() as i64;
            let waits: Vec<i64> = of()
                .filter_map(|t| {
                    Some((t.called_at?.datetime() - t.taken_at.datetime()).whole_seconds())
                })
                .collect();
            Line {
                group: *g,
                waiting: count(TicketStatus::Waiting),
                average_wait_minutes: (!waits.is_empty())
                    .then(|| waits.iter().sum::<i64>() / waits.len() as i64 / 60),
                served: count(TicketStatus::Served),
                no_show: count(TicketStatus::NoShow),
            }
        })
        .collect();
    Ok(Board {
        agency,
        called,
        lines,
    })
}

/// One counter's line today, for the leaders' dashboard.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CounterWait {
    pub agency_code: String,
    pub tickets: i64,
    pub waiting: i64,
    pub served: i64,
    pub no_show: i64,
    /// Mean minutes from taking a number to being called, over today's calls.
    pub average_wait_minutes: Option<i64>,
    /// The longest wait before a call today, in minutes.
    pub longest_wait_minutes: Option<i64>,
}

/// Every counter's line today: how many came, wait, were served or did not come, and how
/// long they waited. For leaders (numbers only: a ticket names nobody).
pub async fn waits(app: &App, who: &Principal) -> Result<Vec<CounterWait>> {
    sohoa_domain::policy::admits(who, Action::ReadDashboard)
        .map_err(|_| Error::forbidden("forbidden"))?;
    let tickets = store::of_day_everywhere(&app.db, &today_text()).await?;
    let mut out: Vec<CounterWait> = Vec::new();
    for chunk in tickets.chunk_by(|a, b| a.agency == b.agency) {
        let count = |s: TicketStatus| chunk.iter().filter(|t| t.status == s).count() as i64;
        let waits: Vec<i64> = chunk
            .iter()
            .filter_map(|t| Some((t.called_at?.datetime() - t.taken_at.datetime()).whole_seconds()))
            .collect();
        out.push(CounterWait {
            agency_code: chunk[0].agency.clone(),
            tickets: chunk.len() as i64,
            waiting: count(TicketStatus::Waiting),
            served: count(TicketStatus::Served),
            no_show: count(TicketStatus::NoShow),
            average_wait_minutes: (!waits.is_empty())
                .then(|| waits.iter().sum::<i64>() / waits.len() as i64 / 60),
            longest_wait_minutes: waits.iter().max().map(|w| w / 60),
        });
    }
    Ok(out)
}
