-- A resident's account opened with help: the helper starts an activation, a one-time code
-- goes to the phone or e-mail the registry holds for the resident, and the resident sets
-- their own password with it. The helper never holds the resident's credentials. One live
-- activation per citizen; a new one replaces it. The code is kept as its SHA-256 only.
CREATE TABLE account_activations (
    citizen_id TEXT PRIMARY KEY,
    code_hash  TEXT NOT NULL,
    started_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0
);
