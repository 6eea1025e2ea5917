//! The counters' waiting lines. A number is taken by one upsert on the day's counter (no
//! two kiosks print the same number, on either backend); a call takes the oldest waiting
//! ticket under the row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two desks calling
//! at once call two people; SQLite's single writer serializes them).

use sohoa_domain::counter::TicketStatus;
use sohoa_domain::Timestamp;
use sqlx::any::AnyRow;

use crate::{int, opt_parsed, opt_text, parsed, stamp, text, Backend, Db, Result, Tx};

/// A ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub agency: String,
    /// The day in Vietnam, `YYYY-MM-DD`.
    pub day: String,
    pub group: char,
    pub number: i64,
    pub status: TicketStatus,
    pub taken_at: Timestamp,
    pub called_at: Option<Timestamp>,
    pub called_by: Option<String>,
    pub desk: Option<String>,
    pub done_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "id, agency, day, grp, number, status, taken_at, called_at, called_by, desk, done_at";
const T: &str = "tickets";

fn from_row(r: &AnyRow) -> Result<Ticket> {
    Ok(Ticket {
        id: text(r, "id")?,
        agency: text(r, "agency")?,
        day: text(r, "day")?,
        group: parsed(r, T, "grp", |g| g.chars().next())?,
        number: int(r, "number")?,
        status: parsed(r, T, "status", TicketStatus::parse)?,
        taken_at: parsed(r, T, "taken_at", stamp)?,
        called_at: opt_parsed(r, T, "called_at", stamp)?,
        called_by: opt_text(r, "called_by")?,
        desk: opt_text(r, "desk")?,
        done_at: opt_parsed(r, T, "done_at", stamp)?,
    })
}

/// The next number of `group` at `agency` on `day` (1 for the first).
pub async fn next_number(tx: &mut Tx, agency: &str, day: &str, group: char) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO ticket_counters (agency, day, grp, last) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (agency, day, grp) DO UPDATE SET last = ticket_counters.last + 1 \
         RETURNING last",
    )
    .bind(agency)
    .bind(day)
    .bind(group.to_string())
    .fetch_one(&mut **tx)
    .await?;
    int(&row, "last")
}

pub async fn insert(tx: &mut Tx, t: &Ticket) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO tickets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL, NULL)"
    ))
    .bind(&t.id)
    .bind(&t.agency)
    .bind(&t.day)
    .bind(t.group.to_string())
    .bind(t.number)
    .bind(t.status.as_str())
    .bind(t.taken_at.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Calls the oldest ticket waiting at `agency` today (of `group`, or any) to `desk`.
pub async fn call_next(
    db: &Db,
    tx: &mut Tx,
    agency: &str,
    day: &str,
    group: Option<char>,
    desk: &str,
    by: &str,
) -> Result<Option<Ticket>> {
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let (group_filter, group_value) = match group {
        Some(g) => (" AND grp = $7", g.to_string()),
        None => (" AND $7 = $7", String::new()),
    };
    let row = sqlx::query(&format!(
        "UPDATE tickets SET status = 'called', called_at = $1, called_by = $2, desk = $3 \
         WHERE id = (SELECT id FROM tickets WHERE agency = $4 AND day = $5 AND status = $6{group_filter} \
         ORDER BY taken_at, id LIMIT 1{lock}) AND status = $6 RETURNING {COLUMNS}"
    ))
    .bind(Timestamp::now().to_string())
    .bind(by)
    .bind(desk)
    .bind(agency)
    .bind(day)
    .bind(TicketStatus::Waiting.as_str())
    .bind(group_value)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Ends a called ticket of `agency` as served or missed; `None` when there is no such
/// called ticket.
pub async fn finish(
    tx: &mut Tx,
    agency: &str,
    id: &str,
    outcome: TicketStatus,
) -> Result<Option<Ticket>> {
    let row = sqlx::query(&format!(
        "UPDATE tickets SET status = $1, done_at = $2 WHERE id = $3 AND agency = $4 \
         AND status = 'called' RETURNING {COLUMNS}"
    ))
    .bind(outcome.as_str())
    .bind(Timestamp::now().to_string())
    .bind(id)
    .bind(agency)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every ticket of `agency` on `day`, in the order taken.
pub async fn of_day(db: &Db, agency: &str, day: &str) -> Result<Vec<Ticket>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tickets WHERE agency = $1 AND day = $2 ORDER BY taken_at, id"
    ))
    .bind(agency)
    .bind(day)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Every counter's tickets of `day`, by counter then in the order taken.
pub async fn of_day_everywhere(db: &Db, day: &str) -> Result<Vec<Ticket>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tickets WHERE day = $1 ORDER BY agency, taken_at, id"
    ))
    .bind(day)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}
