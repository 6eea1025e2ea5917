-- Once-only sharing (SQLite). Keep in step with ../postgres/0003_sharing.sql.

-- Agencies' API keys. The key is `sohoa_<key_id>_<secret>`; only the secret's SHA-256 is
-- stored (the secret is 256 random bits, so a fast hash is enough: nothing to brute-force).
CREATE TABLE agency_keys (
    key_id        TEXT PRIMARY KEY,
    agency_code   TEXT NOT NULL REFERENCES agencies (code),
    secret_sha256 TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX agency_keys_by_agency ON agency_keys (agency_code);

-- What an agency may read: fields of one registry, for one named legal purpose.
CREATE TABLE grants (
    grant_id    INTEGER PRIMARY KEY,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    registry    TEXT NOT NULL CHECK (registry IN ('citizens', 'enterprises', 'parcels')),
    purpose     TEXT NOT NULL,
    fields      TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX grants_lookup ON grants (agency_code, registry, purpose);
