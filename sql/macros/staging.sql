-- Macros of sql/ingest/stage_events.sql (inlined by DuckDB at bind time: no cost per row).
-- json_literal_text(t): could the VARCHAR a field was read as be the text of an object, array,
-- boolean or NaN/Infinity literal rather than a JSON string? Only if it starts with { or [ or is one
-- of those words; false for NULL. Those rows alone are re-read with types. The words are compared one
-- by one: DuckDB plans an IN list of five or more as a join, and twelve fields made twelve mark joins
-- (about a fifth of the staging query's CPU per event).
CREATE OR REPLACE MACRO json_literal_text(t) AS
    (t >= '{' AND t < '|') OR (t >= '[' AND t < '\') OR t IN ('true', 'false', 'NaN') OR t IN ('Infinity', '-Infinity');
