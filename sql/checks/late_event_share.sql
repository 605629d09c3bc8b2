-- check: late_event_share
-- severity: warn
-- tables: metrics_minute
-- Events that arrived later than the configured lateness after their event time.
SELECT coalesce(sum(events), 0) AS checked, coalesce(sum(late_events), 0) AS failing FROM metrics_minute
