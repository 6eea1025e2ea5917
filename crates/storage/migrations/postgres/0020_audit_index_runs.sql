-- Nothing to do: SQLite's index by record moved to sorted runs (`audit_index.rs`) because
-- its WAL logs whole pages; PostgreSQL logs an index insertion as a small record and keeps
-- its B-tree `audit_by_object`. The number is kept so both backends count the same.
SELECT 1;
