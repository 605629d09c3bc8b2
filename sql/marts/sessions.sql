-- model: sessions
-- materialized: delta
-- depends_on: int_sessions_recomputed, existing_sessions, scope_session_ranges, scope_session_hours
-- partition_by: session_date, start_hour
-- scope: scope_session_hours
-- unique_key: session_id
-- grain: one row per user session (30 minutes of inactivity end one by default), partitioned by the
-- date of its start (and, within it, the hour, so that a build rewrites only the hours it touches).
-- Output: the complete new content of the session hours this build touches: the recomputed
-- sessions plus the existing ones of those hours that no recomputed range replaces.
WITH recomputed AS (
    SELECT * FROM int_sessions_recomputed
),

kept AS (
    SELECT s.*
    FROM existing_sessions AS s
    WHERE utc_hour(s.start_time) IN (SELECT hour_start FROM scope_session_hours)
      AND NOT EXISTS (
        SELECT 1 FROM scope_session_ranges AS r
        WHERE r.user_key = s.user_key AND s.start_time BETWEEN r.lo AND r.hi
    )
)

SELECT * FROM recomputed
UNION ALL BY NAME
SELECT * FROM kept
