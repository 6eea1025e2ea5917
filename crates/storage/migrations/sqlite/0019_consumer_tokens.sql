-- OAuth 2.0 access tokens of data consumers (sqlite). Keep in step with ../postgres/0019_consumer_tokens.sql.
-- An agency's or enterprise's system trades its key for a short-lived bearer token at
-- POST /oauth/token (client credentials, RFC 6749 §4.4). Only the token's SHA-256 is stored;
-- the token is as good as its key: revoking the key ends its tokens too.
CREATE TABLE consumer_tokens (
    token_sha256 TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('agency', 'enterprise')),
    key_id       TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX consumer_tokens_by_expiry ON consumer_tokens (expires_at);
