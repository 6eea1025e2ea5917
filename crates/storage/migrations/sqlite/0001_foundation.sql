-- Foundation schema (SQLite). Keep in step with ../postgres/0001_foundation.sql: the same
-- tables, columns and meaning; only the dialect differs. Times are TEXT in the fixed UTC
-- form of sohoa_domain::Timestamp; dates are TEXT 'YYYY-MM-DD'; integers are BIGINT.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Administrative units over their periods of validity. A code can name two different
-- units before and after 2025-07-01, so the key is (code, valid_from). valid_from is
-- '0001-01-01' for units whose start predates the reference data; valid_to is exclusive.
CREATE TABLE units (
    code        TEXT NOT NULL,
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    name        TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    kind        TEXT NOT NULL,
    level       TEXT NOT NULL,
    parent_code TEXT,
    PRIMARY KEY (code, valid_from)
);
CREATE INDEX units_by_validity ON units (valid_to, level, kind);
CREATE INDEX units_by_parent ON units (parent_code);

CREATE TABLE agencies (
    code        TEXT PRIMARY KEY,
    name_vi     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    search_text TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('city', 'commune')),
    unit_code   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- The audit chain. Rows are only ever inserted; triggers refuse UPDATE and DELETE so that
-- no code path can change history by mistake. Someone with raw database access can still
-- drop the triggers: the hash chain is what catches that (`sohoa audit verify`).
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    actor_unit  TEXT,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    fields      TEXT NOT NULL,
    purpose     TEXT,
    outcome     TEXT NOT NULL,
    client_addr TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_by_object ON audit_log (object_type, object_id);
CREATE INDEX audit_by_actor ON audit_log (actor);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- One row: the last sequence number and hash. Appenders update it first, which serializes
-- them (a row lock on PostgreSQL, the single writer on SQLite), and `audit verify` compares
-- it with the end of the log to catch entries cut off the end.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
