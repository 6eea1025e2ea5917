-- Where a document of a citizen's store came from: their own upload, paper scanned at a
-- counter (and, when the officer compared it with the original, who and when), or a
-- result the administration issued to them (and of which application).
ALTER TABLE documents ADD COLUMN origin TEXT NOT NULL DEFAULT 'upload';
ALTER TABLE documents ADD COLUMN checked_by TEXT;
ALTER TABLE documents ADD COLUMN checked_at TEXT;
ALTER TABLE documents ADD COLUMN result_of TEXT;
