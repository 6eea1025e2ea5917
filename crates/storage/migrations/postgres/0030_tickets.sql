-- The counters' waiting lines: a ticket per person per visit, numbered per counter, day
-- and service group; the numbers come from ticket_counters, one upsert per ticket, so two
-- kiosks never print the same number.
CREATE TABLE ticket_counters (
    agency TEXT NOT NULL,
    day    TEXT NOT NULL,
    grp    TEXT NOT NULL,
    last   BIGINT NOT NULL,
    PRIMARY KEY (agency, day, grp)
);
CREATE TABLE tickets (
    id        TEXT PRIMARY KEY,
    agency    TEXT NOT NULL,
    day       TEXT NOT NULL,
    grp       TEXT NOT NULL,
    number    BIGINT NOT NULL,
    status    TEXT NOT NULL,
    taken_at  TEXT NOT NULL,
    called_at TEXT,
    called_by TEXT,
    desk      TEXT,
    done_at   TEXT,
    UNIQUE (agency, day, grp, number)
);
CREATE INDEX tickets_waiting ON tickets (agency, day, status, taken_at);
-- The leaders' dashboard reads a day's tickets of every counter.
CREATE INDEX tickets_by_day ON tickets (day);
