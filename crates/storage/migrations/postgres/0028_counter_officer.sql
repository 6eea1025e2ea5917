-- Counter officers work the one-stop counters.
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check
    CHECK (role IN ('officer', 'leader', 'auditor', 'agency_admin', 'city_admin', 'digital_team', 'counter_officer'));
