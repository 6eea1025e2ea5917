-- The procedure catalog. `procedures` holds each procedure's current version (with what
-- the list and search need as columns); `procedure_versions` holds every version ever
-- saved, so an application keeps the version it was filed under.
CREATE TABLE procedures (
    code        TEXT PRIMARY KEY,
    version     BIGINT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('city', 'commune')),
    agency_code TEXT REFERENCES agencies (code),
    name_vi     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    search_text TEXT NOT NULL,
    data        TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    actor       TEXT NOT NULL
);
CREATE INDEX procedures_by_agency ON procedures (agency_code, code);

CREATE TABLE procedure_versions (
    code       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    actor      TEXT NOT NULL,
    PRIMARY KEY (code, version)
);
