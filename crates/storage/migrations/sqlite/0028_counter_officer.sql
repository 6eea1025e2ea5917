-- Counter officers work the one-stop counters. SQLite cannot change a CHECK in place: the
-- staff table is rebuilt under the same name (sessions refer to it by name; deferred
-- foreign keys let the rows come back before the check at commit).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE staff_copy AS SELECT * FROM staff;
DROP TABLE staff;
CREATE TABLE staff (
    staff_id       INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('officer', 'leader', 'auditor', 'agency_admin', 'city_admin', 'digital_team', 'counter_officer')),
    agency_code    TEXT REFERENCES agencies (code),
    unit_code      TEXT,
    password_hash  TEXT NOT NULL,
    failed_logins  BIGINT NOT NULL DEFAULT 0,
    locked_until   TEXT,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    disabled_at    TEXT,
    totp_secret    TEXT,
    totp_pending   TEXT,
    totp_last_step BIGINT
);
INSERT INTO staff (staff_id, username, display_name, role, agency_code, unit_code, password_hash,
                   failed_logins, locked_until, created_at, created_by, disabled_at, totp_secret,
                   totp_pending, totp_last_step)
    SELECT staff_id, username, display_name, role, agency_code, unit_code, password_hash,
           failed_logins, locked_until, created_at, created_by, disabled_at, totp_secret,
           totp_pending, totp_last_step
    FROM staff_copy;
DROP TABLE staff_copy;
CREATE INDEX staff_by_agency ON staff (agency_code, username);
