-- The one-stop counter. Every application keeps how it was filed (the national index
-- counts the share filed online) and, when a counter took it in, whose counter.
ALTER TABLE applications ADD COLUMN channel TEXT NOT NULL DEFAULT 'online';
ALTER TABLE applications ADD COLUMN intake_agency TEXT;
UPDATE applications SET channel = 'assisted' WHERE assisted_by IS NOT NULL;
UPDATE applications SET channel = 'enterprise' WHERE enterprise IS NOT NULL AND assisted_by IS NULL;

-- The one-time code sent to the applicant of a counter filing, which they read back to
-- the officer to confirm it (only its SHA-256 is kept; five wrong codes void it).
CREATE TABLE counter_confirmations (
    number     TEXT PRIMARY KEY REFERENCES applications (number),
    code_hash  TEXT NOT NULL,
    started_by TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0
);

-- A paper result handed over at the counter: to whom (sealed: it names a person), with
-- which identity document checked, by whom and when. Once per application.
CREATE TABLE result_handovers (
    number    TEXT PRIMARY KEY REFERENCES applications (number),
    recipient TEXT NOT NULL,
    handed_by TEXT NOT NULL,
    agency    TEXT NOT NULL,
    handed_at TEXT NOT NULL
);
