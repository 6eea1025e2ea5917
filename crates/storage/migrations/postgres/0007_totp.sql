-- Optional second factor (TOTP, RFC 6238) for local accounts of citizens and staff.
-- `totp_pending` holds a secret being enrolled until a first code confirms it;
-- `totp_last_step` is the time step of the last code accepted, so no code works twice.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_pending TEXT;
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT;
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_pending TEXT;
ALTER TABLE staff ADD COLUMN totp_last_step BIGINT;
