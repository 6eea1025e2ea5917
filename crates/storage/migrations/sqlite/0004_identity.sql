-- Citizens' local accounts and sessions (SQLite). Keep in step with ../postgres/0004_identity.sql.
-- Staff accounts and roles come with the identity capability's policy layer.

CREATE TABLE accounts (
    account_id    INTEGER PRIMARY KEY,
    citizen_id    TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL
);

-- Sessions are bearer tokens; only their SHA-256 is stored.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX sessions_by_account ON sessions (account_id);
