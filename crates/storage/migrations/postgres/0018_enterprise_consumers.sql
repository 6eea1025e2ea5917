-- Enterprises as data consumers (PostgreSQL). Keep in step with ../sqlite/0018_enterprise_consumers.sql,
-- which says why enterprises hold keys and consents but no grants.
CREATE TABLE enterprise_keys (
    key_id        TEXT PRIMARY KEY,
    tax_code      TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX enterprise_keys_by_owner ON enterprise_keys (tax_code);

-- A consent names exactly one grantee: an agency or an enterprise.
ALTER TABLE consents ALTER COLUMN agency_code DROP NOT NULL;
ALTER TABLE consents ADD COLUMN enterprise_tax_code TEXT;
ALTER TABLE consents ADD CONSTRAINT consents_one_grantee
    CHECK ((agency_code IS NULL) <> (enterprise_tax_code IS NULL));
CREATE INDEX consents_by_enterprise ON consents (citizen_id, enterprise_tax_code, purpose);
