-- Macros of sql/ingest/stage_events.sql (inlined by DuckDB at bind time: no cost per row).

-- The query's shortcuts, each named by one of two macros so that a test can turn them all off and
-- compare (test/unit/stage-events-fast-paths.test.ts): the rules must give the same rows either way.
-- staging_prefilter(cheap): a cheap test that is true wherever an exact, costlier check could find
-- something (the exact check runs only there); turned off, it is true everywhere.
CREATE OR REPLACE MACRO staging_prefilter(cheap) AS cheap;
-- staging_fast_path(cheap): a value in a common shape is converted directly where this is true; every
-- other value takes the exact path. Turned off, it is false everywhere.
CREATE OR REPLACE MACRO staging_fast_path(cheap) AS cheap;

-- json_literal_text(t): could the VARCHAR a field was read as be the text of an object, array,
-- boolean or NaN/Infinity literal rather than a JSON string? Only if it starts with { or [ or is one
-- of those words; NULL for NULL (use it in a CASE WHEN condition, where NULL is false and where DuckDB
-- stops at the first operand of an OR that holds: as a projected boolean, wrapped in coalesce, every
-- comparison of the twelve fields ran on every row, a fifth of the staging query's CPU). An IN list of
-- five or more words would be planned as a join (one mark join per field): the words go in two lists.
CREATE OR REPLACE MACRO json_literal_text(t) AS
    (t >= '{' AND t < '|') OR (t >= '[' AND t < '\') OR t IN ('true', 'false', 'NaN') OR t IN ('Infinity', '-Infinity');
