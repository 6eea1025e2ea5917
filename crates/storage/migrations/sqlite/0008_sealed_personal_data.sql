-- Re-sealing personal data under a new key (`sohoa keys rotate`) rewrites the sealed columns
-- without making a new version of the record: history is kept for new versions only.
DROP TRIGGER citizens_keep_history;
CREATE TRIGGER citizens_keep_history BEFORE UPDATE ON citizens
WHEN OLD.version IS NOT NEW.version
BEGIN
    INSERT INTO registry_history (registry, record_id, version, data, changed_at, source, actor)
    VALUES ('citizen', OLD.citizen_id, OLD.version, json_object('citizen_id', OLD.citizen_id, 'full_name', OLD.full_name, 'name_folded', OLD.name_folded, 'date_of_birth', OLD.date_of_birth, 'birth_year', OLD.birth_year, 'sex', OLD.sex, 'permanent_street', OLD.permanent_street, 'permanent_unit', OLD.permanent_unit, 'temporary_street', OLD.temporary_street, 'temporary_unit', OLD.temporary_unit, 'household_id', OLD.household_id, 'phone', OLD.phone, 'email', OLD.email), OLD.changed_at, OLD.source, OLD.actor);
END;
