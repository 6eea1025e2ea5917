//! Telling every server that something it caches changed. Servers keep short-lived caches of
//! what nearly every request reads (agencies' keys and grants, the catalog, the map's
//! boundaries); a change made through one server is announced on PostgreSQL's
//! `LISTEN`/`NOTIFY` channel, and every server forgets that cache when it hears it. A server
//! that lost its listening connection may have missed announcements: it forgets every cache
//! (see [`Heard::Missed`]). On SQLite there is one server, and nothing to tell.

use sqlx::postgres::PgListener;

use crate::{Backend, Db, Result};

const CHANNEL: &str = "sohoa_changes";

/// Tells every server listening that `topic` changed. Sent after the change committed:
/// a server that hears it and reads again reads the change.
pub async fn announce(db: &Db, topic: &str) -> Result<()> {
    if db.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(topic)
            .execute(db.reader())
            .await?;
    }
    Ok(())
}

/// What a listener heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// This topic changed.
    Changed(String),
    /// The connection was lost and is back: announcements may have been missed meanwhile.
    Missed,
}

/// A server's ear on the channel.
pub struct Listener(PgListener);

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener")
    }
}

impl Listener {
    /// Listens on the database `url` (PostgreSQL only; `None` for SQLite).
    pub async fn connect(url: &str) -> Result<Option<Self>> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Ok(None);
        }
        let mut l = PgListener::connect(url).await?;
        l.listen(CHANNEL).await?;
        Ok(Some(Self(l)))
    }

    /// The next announcement. A lost connection is [`Heard::Missed`] once it is back;
    /// while the database is away this waits (retrying), and errors only on what retrying
    /// cannot mend.
    pub async fn next(&mut self) -> Result<Heard> {
        match self.0.try_recv().await? {
            Some(n) => Ok(Heard::Changed(n.payload().to_owned())),
            None => Ok(Heard::Missed),
        }
    }
}
