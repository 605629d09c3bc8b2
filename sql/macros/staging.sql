-- Macros of sql/ingest/stage_events.sql (inlined by DuckDB at bind time: no cost per row).
-- json_literal_text(t): could the VARCHAR a field was read as be the text of an object, array,
-- boolean or NaN/Infinity literal rather than a JSON string? Only if it starts with { or [ or is one
-- of those words; false for NULL. Those rows alone are re-read with types. (Equalities, not IN:
-- DuckDB plans an IN list as a hash join per call, twelve joins over every row.)
CREATE OR REPLACE MACRO json_literal_text(t) AS
    coalesce((t >= '{' AND t < '|') OR (t >= '[' AND t < '\') OR t = 'true' OR t = 'false' OR t = 'NaN' OR t = 'Infinity' OR t = '-Infinity', false);
