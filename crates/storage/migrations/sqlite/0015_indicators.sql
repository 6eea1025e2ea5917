-- Socio-economic indicators: the catalog, every entered value as a revision with its
-- review, and the approved value of each indicator × period × unit for fast reads.
CREATE TABLE indicators (
    code         TEXT PRIMARY KEY,
    -- The whole definition (names, unit, periodicity, formula, rules) as JSON; the columns
    -- below repeat what queries filter on.
    definition   TEXT NOT NULL,
    owner_agency TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE indicator_values (
    indicator_code TEXT NOT NULL REFERENCES indicators (code),
    period         TEXT NOT NULL,
    unit_code      TEXT NOT NULL,
    revision       BIGINT NOT NULL,
    value          REAL NOT NULL,
    status         TEXT NOT NULL,
    -- Beyond the indicator's threshold of change from the previous period: 1, with the
    -- relative change (NULL when the previous value was zero).
    flagged        BIGINT NOT NULL,
    flagged_change REAL,
    -- Fed by an agency's system rather than typed by a person.
    digital        BIGINT NOT NULL,
    entered_by     TEXT NOT NULL,
    entered_at     TEXT NOT NULL,
    reviewed_by    TEXT,
    reviewed_at    TEXT,
    review_note    TEXT,
    PRIMARY KEY (indicator_code, period, unit_code, revision)
);
CREATE INDEX indicator_values_pending ON indicator_values (status, indicator_code);

CREATE TABLE indicator_current (
    indicator_code TEXT NOT NULL,
    period         TEXT NOT NULL,
    unit_code      TEXT NOT NULL,
    value          REAL NOT NULL,
    revision       BIGINT NOT NULL,
    approved_at    TEXT NOT NULL,
    PRIMARY KEY (indicator_code, unit_code, period)
);

-- Strategic tasks assigned by the People's Committee, and every progress report.
CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    target       TEXT NOT NULL,
    agency_code  TEXT NOT NULL REFERENCES agencies (code),
    due_on       TEXT NOT NULL,
    status       TEXT NOT NULL,
    progress     BIGINT NOT NULL,
    assigned_by  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    completed_on TEXT,
    updated_at   TEXT NOT NULL
);
CREATE INDEX tasks_by_agency ON tasks (agency_code, status, due_on);

CREATE TABLE task_updates (
    task_id  TEXT NOT NULL REFERENCES tasks (id),
    seq      BIGINT NOT NULL,
    progress BIGINT NOT NULL,
    status   TEXT NOT NULL,
    note     TEXT,
    actor    TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);
