-- check: unique_raw_event_id
-- severity: error
-- tables: raw_events
-- neighbours: raw_events(dt)
-- Every event id is landed once (ingest drops duplicates, even from concurrent runs); a duplicate would count twice in every mart.
-- Counts extra copies among the checked rows and, after an incremental build, copies of them in the rest of their days.
SELECT count(*) AS checked,
       count(*) - count(DISTINCT event_id)
       + (SELECT count(*) FROM raw_events_neighbours WHERE event_id IN (SELECT event_id FROM raw_events)) AS failing
FROM raw_events
