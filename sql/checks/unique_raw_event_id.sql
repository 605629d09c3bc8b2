-- check: unique_raw_event_id
-- severity: error
-- tables: raw_events
-- Every event id is landed once (ingest drops duplicates, even from concurrent runs); a duplicate would count twice in every mart.
SELECT count(*) AS checked, count(*) - count(DISTINCT event_id) AS failing FROM raw_events
