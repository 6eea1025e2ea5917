-- The officers' queue is read soonest due first, applications without a due day (not yet
-- received) last, then by number, and paged by a cursor on that order. The two backends
-- sort NULLs differently, so the order is spelled as one expression both index alike;
-- with and without a status filter, each of these indexes walks a page in order and stops.
DROP INDEX applications_queue;
CREATE INDEX applications_queue ON applications (agency_code, COALESCE(due_on, '9999-12-31'), number);
CREATE INDEX applications_queue_by_status ON applications (agency_code, status, COALESCE(due_on, '9999-12-31'), number);
