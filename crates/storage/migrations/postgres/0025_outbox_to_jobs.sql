-- The outbox's unsent messages become jobs of kind notification.send (issue 30): the job
-- keeps the message's id, which its sealed body names in its sealing context. Sent
-- messages stay in the outbox as the record of what was sent before jobs; nothing writes
-- to it any more.
INSERT INTO jobs (id, kind, payload, state, run_at, attempts, max_attempts, created_at, updated_at)
SELECT id, 'notification.send',
       json_build_object('recipient', recipient, 'subject', subject, 'body', body)::text,
       'ready', created_at, 0, 12, created_at, created_at
FROM outbox WHERE sent_at IS NULL;
DELETE FROM outbox WHERE sent_at IS NULL;
