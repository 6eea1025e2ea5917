-- Feedback (phản ánh, kiến nghị): residents' reports, who answers them, and the counters
-- of the service evaluation. Categories are Open311 services, kept as their JSON definition.
CREATE TABLE report_categories (
    code       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Who answers a category in a commune; unit_code '*' stands for every commune without a
-- row of its own. With neither, the commune's People's Committee answers.
CREATE TABLE report_routes (
    category_code TEXT NOT NULL REFERENCES report_categories (code),
    unit_code     TEXT NOT NULL,
    agency_code   TEXT NOT NULL REFERENCES agencies (code),
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    PRIMARY KEY (category_code, unit_code)
);

-- The contact of an anonymous reporter is personal data and sealed; the rest is what the
-- public map and Open311 show, or what the queue sorts on.
CREATE TABLE reports (
    id                 TEXT PRIMARY KEY,
    token              TEXT NOT NULL UNIQUE,
    category_code      TEXT NOT NULL REFERENCES report_categories (code),
    status             TEXT NOT NULL,
    agency_code        TEXT NOT NULL REFERENCES agencies (code),
    unit_code          TEXT NOT NULL,
    lat                DOUBLE PRECISION NOT NULL,
    lon                DOUBLE PRECISION NOT NULL,
    address            TEXT,
    description        TEXT NOT NULL,
    attributes         TEXT NOT NULL,
    media_url          TEXT,
    reporter           TEXT,
    contact            TEXT,
    reporter_code_hash TEXT NOT NULL,
    channel            TEXT NOT NULL,
    supporters         BIGINT NOT NULL,
    status_note        TEXT,
    resolution_note    TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    due_on             TEXT NOT NULL,
    resolved_at        TEXT,
    rating             BIGINT,
    rating_comment     TEXT,
    rated_at           TEXT,
    reopened           BIGINT NOT NULL,
    revision           BIGINT NOT NULL
);
-- The public map reads a box from this index alone (it holds every column the map shows).
CREATE INDEX reports_map ON reports (lat, lon, status, category_code, id, unit_code, supporters, created_at);
CREATE INDEX reports_by_category_place ON reports (category_code, lat, lon);
CREATE INDEX reports_queue ON reports (agency_code, status, due_on, id);
CREATE INDEX reports_by_time ON reports (created_at, id);
CREATE INDEX reports_by_reporter ON reports (reporter, created_at);

CREATE TABLE report_events (
    report_id   TEXT NOT NULL REFERENCES reports (id),
    seq         BIGINT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    from_agency TEXT,
    to_agency   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL,
    note        TEXT,
    PRIMARY KEY (report_id, seq)
);

-- Residents who joined a report instead of filing it again: one row each.
CREATE TABLE report_supporters (
    report_id TEXT NOT NULL REFERENCES reports (id),
    supporter TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (report_id, supporter)
);

-- Photos of the problem (kind 'report') and of the fix ('resolution'); bytes by SHA-256.
CREATE TABLE report_photos (
    report_id    TEXT NOT NULL REFERENCES reports (id),
    seq          BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (report_id, seq)
);

-- Commune boundaries as GeoJSON geometries; source says whether they are the shipped
-- approximate ones or imported official ones.
CREATE TABLE unit_boundaries (
    unit_code  TEXT PRIMARY KEY,
    geometry   TEXT NOT NULL,
    source     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- An applicant's rating of a decided application: once.
CREATE TABLE application_ratings (
    number       TEXT PRIMARY KEY REFERENCES applications (number),
    satisfaction BIGINT NOT NULL,
    on_time      BIGINT NOT NULL,
    comment      TEXT,
    rated_at     TEXT NOT NULL
);

-- The evaluation's counters, per month x commune x agency, changed in the transaction that
-- changes what they count. Reports count in the month they were filed, applications in
-- the month they were decided.
CREATE TABLE evaluation_counts (
    month            TEXT NOT NULL,
    unit_code        TEXT NOT NULL,
    agency_code      TEXT NOT NULL,
    apps_decided     BIGINT NOT NULL DEFAULT 0,
    apps_on_time     BIGINT NOT NULL DEFAULT 0,
    app_ratings      BIGINT NOT NULL DEFAULT 0,
    app_score_sum    BIGINT NOT NULL DEFAULT 0,
    reports_received BIGINT NOT NULL DEFAULT 0,
    reports_resolved BIGINT NOT NULL DEFAULT 0,
    report_ratings   BIGINT NOT NULL DEFAULT 0,
    report_score_sum BIGINT NOT NULL DEFAULT 0,
    -- How long resolved reports took, counted in buckets of hours (see the domain's
    -- evaluation): one column per bucket, so a period's cells are one read of one table.
    resolved_b0       BIGINT NOT NULL DEFAULT 0,
    resolved_b1       BIGINT NOT NULL DEFAULT 0,
    resolved_b2       BIGINT NOT NULL DEFAULT 0,
    resolved_b3       BIGINT NOT NULL DEFAULT 0,
    resolved_b4       BIGINT NOT NULL DEFAULT 0,
    resolved_b5       BIGINT NOT NULL DEFAULT 0,
    resolved_b6       BIGINT NOT NULL DEFAULT 0,
    resolved_b7       BIGINT NOT NULL DEFAULT 0,
    resolved_b8       BIGINT NOT NULL DEFAULT 0,
    resolved_b9       BIGINT NOT NULL DEFAULT 0,
    resolved_b10      BIGINT NOT NULL DEFAULT 0,
    resolved_b11      BIGINT NOT NULL DEFAULT 0,
    resolved_b12      BIGINT NOT NULL DEFAULT 0,
    resolved_b13      BIGINT NOT NULL DEFAULT 0,
    resolved_b14      BIGINT NOT NULL DEFAULT 0,
    resolved_b15      BIGINT NOT NULL DEFAULT 0,
    resolved_b16      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month, unit_code, agency_code)
);
