-- Durable background jobs (issue 30): everything that sends or schedules is a row here,
-- written in the transaction of the change that causes it. A job is `ready` (to run at
-- `run_at`), `running` (leased by `lease_owner` until `lease_until`; a lease that ran out is
-- taken again), `done`, `dead` (out of attempts, or its payload no longer parses: the last
-- error says why) or `cancelled`. Times are the stored RFC 3339 form, which sorts as time.
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    run_at          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    max_attempts    BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    last_error      TEXT,
    -- A job enqueued twice with one key is one job: a retried request, or every server's
    -- scheduler asking for this period's run of a recurring job.
    idempotency_key TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT
);
-- Keys may be null (most jobs have none): nulls are distinct in a unique index, on both
-- backends.
CREATE UNIQUE INDEX jobs_idempotency ON jobs (kind, idempotency_key);
-- What a worker asks: the due jobs of a kind, oldest first; and leases that ran out.
CREATE INDEX jobs_due ON jobs (kind, state, run_at);
CREATE INDEX jobs_state ON jobs (state, kind);
