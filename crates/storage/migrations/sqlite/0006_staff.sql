-- Staff accounts with roles scoped to an agency or unit, and sessions shared by citizens and
-- staff (SQLite). Keep in step with ../postgres/0006_staff.sql.

CREATE TABLE staff (
    staff_id      INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('officer', 'leader', 'auditor', 'agency_admin', 'city_admin', 'digital_team')),
    agency_code   TEXT REFERENCES agencies (code),
    unit_code     TEXT,
    password_hash TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    disabled_at   TEXT
);
CREATE INDEX staff_by_agency ON staff (agency_code, username);

-- SQLite cannot relax NOT NULL in place: rebuild the table, keeping live sessions.
CREATE TABLE sessions_v2 (
    token_sha256 TEXT PRIMARY KEY,
    account_id   BIGINT REFERENCES accounts (account_id),
    staff_id     BIGINT REFERENCES staff (staff_id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    CHECK ((account_id IS NULL) <> (staff_id IS NULL))
);
INSERT INTO sessions_v2 (token_sha256, account_id, created_at, expires_at, revoked_at)
    SELECT token_sha256, account_id, created_at, expires_at, revoked_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;
CREATE INDEX sessions_by_account ON sessions (account_id);
CREATE INDEX sessions_by_staff ON sessions (staff_id);
