-- Procedure monitoring: counters kept in the transaction that changes an application, so a
-- dashboard reads a few rows per unit shown, however many applications there are. What
-- each application contributes is decided in one place (storage/src/monitoring.rs), which
-- also recounts everything from `applications` to check and repair these tables.

-- What arrived and what was decided, per month (receipt month for `received`, decision
-- month for the rest, in the city's time).
CREATE TABLE monitor_flows (
    month           TEXT NOT NULL,
    agency_code     TEXT NOT NULL,
    unit_code       TEXT NOT NULL,
    procedure_code  TEXT NOT NULL,
    received        BIGINT NOT NULL DEFAULT 0,
    decided_on_time BIGINT NOT NULL DEFAULT 0,
    decided_late    BIGINT NOT NULL DEFAULT 0,
    -- Calendar days from receipt to decision, summed over the decided ones (for means).
    days_sum        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month, agency_code, unit_code, procedure_code)
);

-- How many decisions took how many days: the medians' histogram.
CREATE TABLE monitor_durations (
    month          TEXT NOT NULL,
    agency_code    TEXT NOT NULL,
    unit_code      TEXT NOT NULL,
    procedure_code TEXT NOT NULL,
    days           BIGINT NOT NULL,
    n              BIGINT NOT NULL,
    PRIMARY KEY (month, agency_code, unit_code, procedure_code, days)
);

-- Applications not yet decided, by where they wait and when they are due ('' for none).
-- "Overdue now" is the sum over running clocks with a due day before today: right every
-- day with no job moving anything. Rows that fall to zero are deleted.
CREATE TABLE monitor_open (
    agency_code    TEXT NOT NULL,
    unit_code      TEXT NOT NULL,
    procedure_code TEXT NOT NULL,
    status         TEXT NOT NULL,
    running        BIGINT NOT NULL,
    due_on         TEXT NOT NULL,
    n              BIGINT NOT NULL,
    PRIMARY KEY (agency_code, unit_code, procedure_code, status, running, due_on)
);

-- The drill-down from a commune to its overdue applications, in the queue's order.
CREATE INDEX applications_by_unit ON applications (unit_code, status, COALESCE(due_on, '9999-12-31'), number);
