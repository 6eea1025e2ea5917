-- The audit log's index by record, as sorted runs (`audit_index.rs`): a B-tree keyed by a
-- random CCCD made every audited read write a whole random 4 KiB page to the WAL. Runs are
-- written in key order, a page at a time, and merged in the background.
CREATE TABLE audit_index_runs (
    run          INTEGER PRIMARY KEY,
    level        INTEGER NOT NULL,
    first_seq    BIGINT NOT NULL,
    last_seq     BIGINT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('building', 'live', 'retired')),
    -- The merge this live run is a source of, if any.
    merging_into INTEGER
);

CREATE TABLE audit_index (
    run         INTEGER NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (run, object_type, object_id, seq)
) WITHOUT ROWID;

-- The log written so far becomes one run, at a level no merge reaches (15: sixteen runs of
-- that level would be 8192 * 16^15 entries).
INSERT INTO audit_index_runs (run, level, first_seq, last_seq, state)
SELECT 1, 15, 1, seq, 'live' FROM audit_head WHERE seq > 0;
INSERT INTO audit_index (run, object_type, object_id, seq)
SELECT 1, object_type, object_id, seq FROM audit_log ORDER BY object_type, object_id, seq;

DROP INDEX IF EXISTS audit_by_object;
