-- Kept in step with ../postgres/0017_reports_map_text.sql, which checks the characters of
-- the values PostgreSQL joins into the map's GeoJSON as text. SQLite builds the same
-- document with json_object, which escapes every value: nothing to check here.
SELECT 1;
