-- The public map's GeoJSON is joined as text on PostgreSQL (storage/src/feedback.rs,
-- `in_box_geojson`): the values it writes unquoted must never hold a character JSON would
-- escape. sohoa generates them all; these checks keep any other writer to that rule too.
ALTER TABLE reports ADD CONSTRAINT reports_map_text CHECK (
    id ~ '^[A-Za-z0-9-]+$'
    AND status ~ '^[a-z_]+$'
    AND unit_code ~ '^[0-9]+$'
    AND created_at ~ '^[0-9T:.Z+-]+$'
);
