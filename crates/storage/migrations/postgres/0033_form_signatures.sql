-- Applicants' signatures on their forms, kept only once checked valid (an officer never
-- sees a form as signed when its check failed): who signed (from the certificate), when
-- (the time-stamp's time, or when sohoa checked it), how (uploaded from the applicant's
-- own tool, or made remotely through a CSC provider), and the signed PDF in the file store.
CREATE TABLE form_signatures (
    number       TEXT PRIMARY KEY REFERENCES applications (number),
    method       TEXT NOT NULL CHECK (method IN ('upload', 'remote')),
    signer       TEXT NOT NULL,
    identifier   TEXT,
    serial       TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    cert_pem     TEXT NOT NULL,
    signed_at    TEXT NOT NULL,
    time_stamped BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    checked_at   TEXT NOT NULL
);
