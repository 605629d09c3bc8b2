-- model: sessions
-- materialized: delta
-- depends_on: int_sessions_recomputed, existing_sessions, scope_session_ranges
-- partition_by: session_date
-- scope: scope_session_dates
-- unique_key: session_id
-- grain: one row per user session (30 minutes of inactivity end one by default), partitioned by the
-- date of its start. Output: the complete new content of the session dates this build touches:
-- the recomputed sessions plus the existing ones of those dates that no recomputed range replaces.
WITH recomputed AS (
    SELECT * FROM int_sessions_recomputed
),

kept AS (
    SELECT s.*
    FROM existing_sessions AS s
    WHERE NOT EXISTS (
        SELECT 1 FROM scope_session_ranges AS r
        WHERE r.user_id = s.user_id AND s.start_time BETWEEN r.lo AND r.hi
    )
)

SELECT * FROM recomputed
UNION ALL BY NAME
SELECT * FROM kept
