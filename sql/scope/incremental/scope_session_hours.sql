-- model: scope_session_hours
-- depends_on: scope_session_ranges
-- grain: one row per hour partition of sessions this build replaces: every hour a recomputed
-- range covers (a session starting in it may have changed or disappeared).
SELECT DISTINCT h AS hour_start
FROM scope_session_ranges,
     generate_series(date_trunc('hour', lo), date_trunc('hour', hi), INTERVAL 1 HOUR) AS g(h)
