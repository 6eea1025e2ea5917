-- Sign-ins through an OpenID Connect provider in progress: the state (as a digest), the
-- nonce and PKCE verifier to check the answer against, and where to go afterwards. A row is
-- taken (deleted) by the callback that uses it, and is no good after ten minutes.
CREATE TABLE oidc_logins (
    state_sha256 TEXT PRIMARY KEY,
    nonce        TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    next_path    TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX oidc_logins_by_age ON oidc_logins (created_at);
