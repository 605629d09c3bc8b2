-- model: scope_session_dates
-- depends_on: scope_session_hours
-- grain: one row per date whose sessions changed: the conversion_daily partitions this build replaces.
SELECT DISTINCT CAST(hour_start AS DATE) AS day FROM scope_session_hours
