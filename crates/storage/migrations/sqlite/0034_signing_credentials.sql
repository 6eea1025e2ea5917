-- sohoa's own remote signing service (the CSC API): a key per person, issued a certificate
-- by the city CA, wrapped under the person's password (Argon2id + AES-GCM) and sealed once
-- more under the server's keyring. Its certificate is in the register like any other.
CREATE TABLE signing_credentials (
    id          TEXT PRIMARY KEY,
    citizen_id  TEXT NOT NULL,
    serial      TEXT NOT NULL REFERENCES certificates (serial),
    key_wrapped TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX signing_credentials_by_citizen ON signing_credentials (citizen_id);

-- Signature activation data (CSC `SAD`): what one authorization with password and one-time
-- code allows, for a few minutes and for the hashes named, spent once. Only its digest is
-- kept; the key it unlocked is sealed under the keyring for that time.
CREATE TABLE csc_authorizations (
    sad_digest    TEXT PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES signing_credentials (id),
    hashes        TEXT NOT NULL,
    key_sealed    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT
);
