-- Every certificate the city CA has issued (the agencies', the time-stamping authority's),
-- current or replaced, revoked or not: old signatures name old certificates, and the
-- revocation list is made from here. signing_keys keeps only each owner's current key.
CREATE TABLE certificates (
    serial            TEXT PRIMARY KEY,
    owner             TEXT NOT NULL,
    cert_pem          TEXT NOT NULL,
    public_key        TEXT NOT NULL,
    not_after         TEXT NOT NULL,
    issued_at         TEXT NOT NULL,
    revoked_at        TEXT,
    revocation_reason TEXT,
    revoked_by        TEXT
);
CREATE INDEX certificates_by_owner ON certificates (owner, issued_at);
