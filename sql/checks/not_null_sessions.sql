-- check: not_null_sessions
-- severity: error
-- tables: sessions
-- Keys and times of a session are never NULL.
SELECT count(*) AS checked,
       count(*) FILTER (WHERE session_id IS NULL OR user_key IS NULL OR start_time IS NULL OR end_time IS NULL) AS failing
FROM sessions
