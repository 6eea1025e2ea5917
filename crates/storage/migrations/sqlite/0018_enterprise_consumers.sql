-- Enterprises as data consumers (SQLite). Keep in step with ../postgres/0018_enterprise_consumers.sql.
--
-- An enterprise holds no grants: the law names agencies, not companies. It reads a citizen's
-- fields only with that citizen's consent, through keys of its own
-- (`sohoe_<key_id>_<secret>`, the secret stored as SHA-256 like agencies' keys). Its tax code
-- is checked against the enterprise registry when a key or a consent names it; there is no
-- foreign key because bulk imports rebuild the registry's unique index.
CREATE TABLE enterprise_keys (
    key_id        TEXT PRIMARY KEY,
    tax_code      TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX enterprise_keys_by_owner ON enterprise_keys (tax_code);

-- A consent names exactly one grantee: an agency or an enterprise. SQLite cannot relax a
-- NOT NULL in place, so the table is rebuilt with its rows and ids.
CREATE TABLE consents_new (
    consent_id          INTEGER PRIMARY KEY,
    citizen_id          TEXT NOT NULL,
    agency_code         TEXT REFERENCES agencies (code),
    enterprise_tax_code TEXT,
    purpose             TEXT NOT NULL,
    fields              TEXT NOT NULL,
    one_off             BIGINT NOT NULL CHECK (one_off IN (0, 1)),
    valid_until         TEXT,
    created_at          TEXT NOT NULL,
    used_at             TEXT,
    revoked_at          TEXT,
    CHECK ((agency_code IS NULL) <> (enterprise_tax_code IS NULL))
);
INSERT INTO consents_new (consent_id, citizen_id, agency_code, purpose, fields, one_off, valid_until, created_at, used_at, revoked_at)
    SELECT consent_id, citizen_id, agency_code, purpose, fields, one_off, valid_until, created_at, used_at, revoked_at FROM consents;
DROP TABLE consents;
ALTER TABLE consents_new RENAME TO consents;
CREATE INDEX consents_lookup ON consents (citizen_id, agency_code, purpose);
CREATE INDEX consents_by_enterprise ON consents (citizen_id, enterprise_tax_code, purpose);
