-- Macros of sql/ingest/stage_events.sql (inlined by DuckDB at bind time: no cost per row).
-- json_literal_text(t): could the VARCHAR a field was read as be the text of an object, array,
-- boolean or NaN/Infinity literal rather than a JSON string? Only if it starts with { or [ or is one
-- of those words; false for NULL. Those rows alone are re-read with types.
CREATE OR REPLACE MACRO json_literal_text(t) AS
    coalesce((t >= '{' AND t < '|') OR (t >= '[' AND t < '\') OR t IN ('true', 'false', 'NaN', 'Infinity', '-Infinity'), false);
