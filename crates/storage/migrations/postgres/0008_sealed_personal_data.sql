-- Re-sealing personal data under a new key (`sohoa keys rotate`) rewrites the sealed columns
-- without making a new version of the record: history is kept for new versions only.
DROP TRIGGER citizens_keep_history ON citizens;
CREATE TRIGGER citizens_keep_history BEFORE UPDATE ON citizens
FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
EXECUTE FUNCTION citizens_keep_history();
