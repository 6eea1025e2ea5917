-- Citizens' consents (SQLite). Keep in step with ../postgres/0005_consents.sql.
-- A citizen lets a named agency read named fields of their record for a purpose, once
-- (one_off = 1; used_at set on the read) or until valid_until, until revoked.
CREATE TABLE consents (
    consent_id  INTEGER PRIMARY KEY,
    citizen_id  TEXT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    purpose     TEXT NOT NULL,
    fields      TEXT NOT NULL,
    one_off     BIGINT NOT NULL CHECK (one_off IN (0, 1)),
    valid_until TEXT,
    created_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
);
CREATE INDEX consents_lookup ON consents (citizen_id, agency_code, purpose);
