-- Registries (SQLite). Keep in step with ../postgres/0002_registries.sql.

-- The base registries. Each table holds the current version of each record; every update
-- first copies the version it replaces into registry_history (a trigger does it, so no code
-- path can overwrite a record silently). `content_hash` lets a re-import skip unchanged rows.

CREATE TABLE citizens (
    citizen_id       TEXT NOT NULL,
    full_name        TEXT NOT NULL,
    name_folded      TEXT NOT NULL,
    date_of_birth    TEXT NOT NULL,
    birth_year       BIGINT NOT NULL,
    sex              TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    permanent_street TEXT NOT NULL,
    permanent_unit   TEXT NOT NULL,
    temporary_street TEXT,
    temporary_unit   TEXT,
    household_id     TEXT,
    phone            TEXT,
    email            TEXT,
    content_hash     TEXT NOT NULL,
    version          BIGINT NOT NULL,
    changed_at       TEXT NOT NULL,
    source           TEXT NOT NULL,
    actor            TEXT NOT NULL
);
-- The key is a unique index rather than a PRIMARY KEY constraint so that a bulk load into an
-- empty table can drop every index and build it once at the end (see registry::bulk).
CREATE UNIQUE INDEX citizens_id ON citizens (citizen_id);
-- Keyset pagination walks (name_folded, citizen_id); filters by unit and birth year keep the
-- same order.
CREATE INDEX citizens_by_name ON citizens (name_folded, citizen_id);
CREATE INDEX citizens_by_unit ON citizens (permanent_unit, name_folded, citizen_id);

CREATE TABLE enterprises (
    tax_code             TEXT NOT NULL,
    name                 TEXT NOT NULL,
    name_folded          TEXT NOT NULL,
    legal_form           TEXT NOT NULL,
    street               TEXT NOT NULL,
    unit                 TEXT NOT NULL,
    registered_on        TEXT NOT NULL,
    status               TEXT NOT NULL,
    legal_representative TEXT NOT NULL,
    content_hash         TEXT NOT NULL,
    version              BIGINT NOT NULL,
    changed_at           TEXT NOT NULL,
    source               TEXT NOT NULL,
    actor                TEXT NOT NULL
);
CREATE UNIQUE INDEX enterprises_tax_code ON enterprises (tax_code);
CREATE INDEX enterprises_by_name ON enterprises (name_folded, tax_code);
CREATE INDEX enterprises_by_unit ON enterprises (unit, name_folded, tax_code);
CREATE INDEX enterprises_by_representative ON enterprises (legal_representative);

CREATE TABLE land_parcels (
    parcel_key    TEXT PRIMARY KEY,
    unit          TEXT NOT NULL,
    map_sheet     BIGINT NOT NULL,
    parcel_number BIGINT NOT NULL,
    area_m2       REAL NOT NULL,
    land_use      TEXT NOT NULL,
    owners        TEXT NOT NULL,
    geometry      TEXT,
    content_hash  TEXT NOT NULL,
    version       BIGINT NOT NULL,
    changed_at    TEXT NOT NULL,
    source        TEXT NOT NULL,
    actor         TEXT NOT NULL
);
CREATE INDEX land_parcels_by_unit ON land_parcels (unit, map_sheet, parcel_number);

-- Who owns what, for "the parcels of this citizen or enterprise".
CREATE TABLE parcel_owners (
    parcel_key TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    share_bp   BIGINT NOT NULL,
    PRIMARY KEY (parcel_key, owner_id)
);
CREATE INDEX parcel_owners_by_owner ON parcel_owners (owner_id);

CREATE TABLE registry_history (
    registry   TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    version    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    source     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    PRIMARY KEY (registry, record_id, version)
);

CREATE TRIGGER citizens_keep_history BEFORE UPDATE ON citizens
BEGIN
    INSERT INTO registry_history (registry, record_id, version, data, changed_at, source, actor)
    VALUES ('citizen', OLD.citizen_id, OLD.version, json_object('citizen_id', OLD.citizen_id, 'full_name', OLD.full_name, 'name_folded', OLD.name_folded, 'date_of_birth', OLD.date_of_birth, 'birth_year', OLD.birth_year, 'sex', OLD.sex, 'permanent_street', OLD.permanent_street, 'permanent_unit', OLD.permanent_unit, 'temporary_street', OLD.temporary_street, 'temporary_unit', OLD.temporary_unit, 'household_id', OLD.household_id, 'phone', OLD.phone, 'email', OLD.email), OLD.changed_at, OLD.source, OLD.actor);
END;
CREATE TRIGGER citizens_no_delete BEFORE DELETE ON citizens
BEGIN SELECT RAISE(ABORT, 'citizens: records are never deleted, only superseded'); END;

CREATE TRIGGER enterprises_keep_history BEFORE UPDATE ON enterprises
BEGIN
    INSERT INTO registry_history (registry, record_id, version, data, changed_at, source, actor)
    VALUES ('enterprise', OLD.tax_code, OLD.version, json_object('tax_code', OLD.tax_code, 'name', OLD.name, 'name_folded', OLD.name_folded, 'legal_form', OLD.legal_form, 'street', OLD.street, 'unit', OLD.unit, 'registered_on', OLD.registered_on, 'status', OLD.status, 'legal_representative', OLD.legal_representative), OLD.changed_at, OLD.source, OLD.actor);
END;
CREATE TRIGGER enterprises_no_delete BEFORE DELETE ON enterprises
BEGIN SELECT RAISE(ABORT, 'enterprises: records are never deleted, only superseded'); END;

CREATE TRIGGER land_parcels_keep_history BEFORE UPDATE ON land_parcels
BEGIN
    INSERT INTO registry_history (registry, record_id, version, data, changed_at, source, actor)
    VALUES ('parcel', OLD.parcel_key, OLD.version, json_object('parcel_key', OLD.parcel_key, 'unit', OLD.unit, 'map_sheet', OLD.map_sheet, 'parcel_number', OLD.parcel_number, 'area_m2', OLD.area_m2, 'land_use', OLD.land_use, 'owners', OLD.owners, 'geometry', OLD.geometry), OLD.changed_at, OLD.source, OLD.actor);
END;
CREATE TRIGGER land_parcels_no_delete BEFORE DELETE ON land_parcels
BEGIN SELECT RAISE(ABORT, 'land_parcels: records are never deleted, only superseded'); END;
