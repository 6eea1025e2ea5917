-- Foundation schema (PostgreSQL). Keep in step with ../sqlite/0001_foundation.sql: the same
-- tables, columns and meaning; only the dialect differs. Times are TEXT in the fixed UTC
-- form of sohoa_domain::Timestamp; dates are TEXT 'YYYY-MM-DD'; integers are BIGINT. (The
-- portable subset is what lets one repository code serve both backends: see ARCHITECTURE.md.)

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

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

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
