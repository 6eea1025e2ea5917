-- Applications (hồ sơ). The answers and the applicant's flags hold personal data and are
-- sealed (`content`); what the officers' queue filters and sorts on is in plain columns.
-- `revision` counts changes: an update names the revision it read, so two officers acting
-- at once cannot both win.
CREATE TABLE applications (
    number            TEXT PRIMARY KEY,
    procedure_code    TEXT NOT NULL,
    procedure_version BIGINT NOT NULL,
    applicant         TEXT NOT NULL,
    -- The enterprise (tax code) the applicant acts for as its legal representative.
    enterprise        TEXT,
    agency_code       TEXT NOT NULL REFERENCES agencies (code),
    unit_code         TEXT NOT NULL,
    status            TEXT NOT NULL,
    content           TEXT NOT NULL,
    fee               BIGINT,
    fee_payable       BIGINT,
    waiver_basis      TEXT,
    assigned_to       TEXT,
    created_at        TEXT NOT NULL,
    submitted_at      TEXT,
    received_on       TEXT,
    due_on            TEXT,
    paused_on         TEXT,
    decided_at        TEXT,
    updated_at        TEXT NOT NULL,
    revision          BIGINT NOT NULL,
    -- When the fee was paid in full (online or at the counter).
    fee_paid_at       TEXT,
    -- SHA-256 of the code that, with the number, lets anyone see the status.
    lookup_hash       TEXT NOT NULL,
    -- The community digital team member who filed it for the applicant, with consent.
    assisted_by       TEXT,
    FOREIGN KEY (procedure_code, procedure_version) REFERENCES procedure_versions (code, version)
);
CREATE INDEX applications_by_applicant ON applications (applicant, created_at);
CREATE INDEX applications_queue ON applications (agency_code, status, due_on, number);

-- Every move of every application: who, when, from what to what, and why.
CREATE TABLE application_events (
    number      TEXT NOT NULL REFERENCES applications (number),
    seq         BIGINT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL,
    comment     TEXT,
    PRIMARY KEY (number, seq)
);

-- Idempotency keys of submissions: a retried request with the same key answers with the
-- application the first one created.
CREATE TABLE idempotency_keys (
    owner        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    number       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (owner, key)
);

-- One-time codes a citizen gives a community digital team member to file one application
-- for them. Stored hashed; spent by the application they let file.
CREATE TABLE assist_codes (
    code_hash  TEXT PRIMARY KEY,
    citizen    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    used_by    TEXT,
    number     TEXT
);
CREATE INDEX assist_codes_by_citizen ON assist_codes (citizen, created_at);

-- Citizens' personal document store: what they uploaded once is offered again. The bytes
-- are kept by SHA-256 outside the database (see files.rs); one owner holds one document
-- per content.
CREATE TABLE documents (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (owner, sha256)
);
CREATE INDEX documents_by_owner ON documents (owner, created_at);

-- Which documents answer which of a procedure's required documents, per application.
CREATE TABLE application_documents (
    number      TEXT NOT NULL REFERENCES applications (number),
    code        TEXT NOT NULL,
    document_id TEXT NOT NULL REFERENCES documents (id),
    PRIMARY KEY (number, code, document_id)
);

-- Payments of fees: online through a gateway (confirmed by its signed webhook, once per
-- provider transaction) or at the counter (recorded by an officer, once per receipt).
CREATE TABLE payments (
    id           TEXT PRIMARY KEY,
    number       TEXT NOT NULL REFERENCES applications (number),
    amount       BIGINT NOT NULL,
    provider     TEXT NOT NULL,
    provider_txn TEXT,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'paid')),
    created_at   TEXT NOT NULL,
    paid_at      TEXT,
    recorded_by  TEXT,
    UNIQUE (provider, provider_txn)
);
CREATE INDEX payments_by_application ON payments (number);

-- The city's signing CA and the agencies' result-signing keys: certificates open, private
-- keys sealed under the data keys.
CREATE TABLE signing_keys (
    owner      TEXT PRIMARY KEY,
    cert_pem   TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_sealed TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Issued results: the exact bytes signed and the signature, kept as issued.
CREATE TABLE results (
    number    TEXT PRIMARY KEY REFERENCES applications (number),
    document  TEXT NOT NULL,
    signature TEXT NOT NULL,
    signer    TEXT NOT NULL,
    issued_at TEXT NOT NULL
);

-- The applicant's in-app inbox, one row per status change.
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    recipient  TEXT NOT NULL,
    number     TEXT NOT NULL REFERENCES applications (number),
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at    TEXT
);
CREATE INDEX notifications_by_recipient ON notifications (recipient, created_at);

-- Messages for an email or SMS sender to drain; the address is looked up when sending.
CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT,
    channel    TEXT,
    attempts   BIGINT NOT NULL
);
CREATE INDEX outbox_unsent ON outbox (sent_at, created_at);
