-- Procedure monitoring, read in time that grows with what a dashboard shows rather than
-- with the applications or the finest groups: the counters of 0014 are kept at five grains
-- in the same rows' transaction (each: agency x commune x procedure, the finest; agency;
-- commune; procedure; city, where '' stands for a dimension summed over), the processing
-- days are a histogram of columns in the flows' own row (exact to the day up to 30 days,
-- buckets beyond), and "overdue now" is a counter moved once a day instead of a sum over
-- every past due day. The counters are rebuilt from `applications` at the next start
-- (monitoring.built is cleared), so nothing is carried over from the old tables.

DROP TABLE monitor_durations;
DROP TABLE monitor_open;
DROP TABLE monitor_flows;
DELETE FROM settings WHERE key = 'monitoring.built';

-- What arrived and what was decided, per month (receipt month for `received`, decision
-- month for the rest, in the city's time).
CREATE TABLE monitor_flows (
    grain           TEXT NOT NULL,
    month           TEXT NOT NULL,
    agency_code     TEXT NOT NULL,
    unit_code       TEXT NOT NULL,
    procedure_code  TEXT NOT NULL,
    received        BIGINT NOT NULL DEFAULT 0,
    decided_on_time BIGINT NOT NULL DEFAULT 0,
    decided_late    BIGINT NOT NULL DEFAULT 0,
    -- Calendar days from receipt to decision, summed over the decided ones (for means).
    days_sum        BIGINT NOT NULL DEFAULT 0,
    -- Decisions by the days they took (for medians): d0..d30 one day each, then buckets.
    d0              BIGINT NOT NULL DEFAULT 0,
    d1              BIGINT NOT NULL DEFAULT 0,
    d2              BIGINT NOT NULL DEFAULT 0,
    d3              BIGINT NOT NULL DEFAULT 0,
    d4              BIGINT NOT NULL DEFAULT 0,
    d5              BIGINT NOT NULL DEFAULT 0,
    d6              BIGINT NOT NULL DEFAULT 0,
    d7              BIGINT NOT NULL DEFAULT 0,
    d8              BIGINT NOT NULL DEFAULT 0,
    d9              BIGINT NOT NULL DEFAULT 0,
    d10             BIGINT NOT NULL DEFAULT 0,
    d11             BIGINT NOT NULL DEFAULT 0,
    d12             BIGINT NOT NULL DEFAULT 0,
    d13             BIGINT NOT NULL DEFAULT 0,
    d14             BIGINT NOT NULL DEFAULT 0,
    d15             BIGINT NOT NULL DEFAULT 0,
    d16             BIGINT NOT NULL DEFAULT 0,
    d17             BIGINT NOT NULL DEFAULT 0,
    d18             BIGINT NOT NULL DEFAULT 0,
    d19             BIGINT NOT NULL DEFAULT 0,
    d20             BIGINT NOT NULL DEFAULT 0,
    d21             BIGINT NOT NULL DEFAULT 0,
    d22             BIGINT NOT NULL DEFAULT 0,
    d23             BIGINT NOT NULL DEFAULT 0,
    d24             BIGINT NOT NULL DEFAULT 0,
    d25             BIGINT NOT NULL DEFAULT 0,
    d26             BIGINT NOT NULL DEFAULT 0,
    d27             BIGINT NOT NULL DEFAULT 0,
    d28             BIGINT NOT NULL DEFAULT 0,
    d29             BIGINT NOT NULL DEFAULT 0,
    d30             BIGINT NOT NULL DEFAULT 0,
    d31_35          BIGINT NOT NULL DEFAULT 0,
    d36_40          BIGINT NOT NULL DEFAULT 0,
    d41_45          BIGINT NOT NULL DEFAULT 0,
    d46_60          BIGINT NOT NULL DEFAULT 0,
    d61_90          BIGINT NOT NULL DEFAULT 0,
    d91_180         BIGINT NOT NULL DEFAULT 0,
    d181_365        BIGINT NOT NULL DEFAULT 0,
    d366_more       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, month, agency_code, unit_code, procedure_code)
);
-- A commune's or an agency's drill-down at the finest grain.
CREATE INDEX monitor_flows_by_unit ON monitor_flows (grain, unit_code, month);
CREATE INDEX monitor_flows_by_agency ON monitor_flows (grain, agency_code, month);

-- Applications not yet decided, and how many of them are overdue: due before the day in
-- the setting monitoring.overdue_before with their clock running.
CREATE TABLE monitor_open (
    grain          TEXT NOT NULL,
    agency_code    TEXT NOT NULL,
    unit_code      TEXT NOT NULL,
    procedure_code TEXT NOT NULL,
    in_progress    BIGINT NOT NULL DEFAULT 0,
    overdue        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, agency_code, unit_code, procedure_code)
);

-- Undecided applications with a running clock, by due day (finest grain): what the daily
-- roll-over adds to `overdue`, and what a reading adds or takes away for the days between
-- that setting and today. Rows that fall to zero are deleted.
CREATE TABLE monitor_due (
    due_on         TEXT NOT NULL,
    agency_code    TEXT NOT NULL,
    unit_code      TEXT NOT NULL,
    procedure_code TEXT NOT NULL,
    n              BIGINT NOT NULL,
    PRIMARY KEY (due_on, agency_code, unit_code, procedure_code)
);

-- '' (before every day): nothing counted overdue yet; every past due day is added at
-- reading until the first roll-over. The row always exists: writers lock it (PostgreSQL)
-- so a roll-over never runs beside a change to the counters.
INSERT INTO settings (key, value) VALUES ('monitoring.overdue_before', '')
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
