-- Applications (hồ sơ). The answers and the applicant's flags hold personal data and are
-- sealed (`content`); what the officers' queue filters and sorts on is in plain columns.
-- `revision` counts changes: an update names the revision it read, so two officers acting
-- at once cannot both win.
CREATE TABLE applications (
    number            TEXT PRIMARY KEY,
    procedure_code    TEXT NOT NULL,
    procedure_version BIGINT NOT NULL,
    applicant         TEXT NOT NULL,
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
