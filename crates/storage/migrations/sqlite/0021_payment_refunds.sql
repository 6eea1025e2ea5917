-- A gateway's confirmation that arrives when nothing is owed any more (the fee paid at the
-- counter meanwhile, or the application withdrawn) is a real charge to give back: the
-- payment is kept as `refund_due` instead of paying the fee twice. SQLite cannot change a
-- CHECK constraint in place, so the table is rebuilt (nothing references it).
CREATE TABLE payments_new (
    id           TEXT PRIMARY KEY,
    number       TEXT NOT NULL REFERENCES applications (number),
    amount       BIGINT NOT NULL,
    provider     TEXT NOT NULL,
    provider_txn TEXT,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'refund_due')),
    created_at   TEXT NOT NULL,
    paid_at      TEXT,
    recorded_by  TEXT,
    UNIQUE (provider, provider_txn)
);
INSERT INTO payments_new (id, number, amount, provider, provider_txn, status, created_at, paid_at, recorded_by)
    SELECT id, number, amount, provider, provider_txn, status, created_at, paid_at, recorded_by FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE INDEX payments_by_application ON payments (number);
