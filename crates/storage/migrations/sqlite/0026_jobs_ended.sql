-- What the hourly purge deletes: jobs that ended, oldest first. Without this index the
-- purge reads every job that ever ended to find the oldest; with it, a range of the index.
CREATE INDEX jobs_ended ON jobs (finished_at) WHERE state IN ('done', 'cancelled');
