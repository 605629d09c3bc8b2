-- model: scope_session_ranges
-- depends_on: changed_raw_events, all_sessions
-- grain: one row per user with a changed event: the time range whose sessions this build recomputes.
-- parameters: $session_timeout_minutes
-- From the user's earliest to latest changed event, widened to every existing session of theirs
-- within the timeout of one, so that the range's edges fall in gaps longer than the timeout and the
-- recomputed sessions equal a full rebuild's. user_key is hashed here once per touched user.
-- Only the sessions within the timeout of the earliest or the latest changed event can widen the
-- range: a session within the timeout of a changed event in between that started before the
-- earliest (or ended after the latest) is within the timeout of the earliest (the latest) too, as
-- a session is one interval; the others lie inside the range already.
WITH touched AS (
    SELECT user_id, pseudonym(user_id) AS user_key, min(event_time) AS lo, max(event_time) AS hi
    FROM changed_raw_events
    GROUP BY user_id
),

hit AS (
    SELECT s.user_key, min(s.start_time) AS lo, max(s.end_time) AS hi
    FROM all_sessions AS s
    JOIN touched AS t
      ON s.user_key = t.user_key
     AND (t.lo BETWEEN s.start_time - to_minutes(CAST($session_timeout_minutes AS BIGINT))
                   AND s.end_time + to_minutes(CAST($session_timeout_minutes AS BIGINT))
          OR t.hi BETWEEN s.start_time - to_minutes(CAST($session_timeout_minutes AS BIGINT))
                      AND s.end_time + to_minutes(CAST($session_timeout_minutes AS BIGINT)))
    GROUP BY s.user_key
)

SELECT t.user_id, t.user_key, least(t.lo, coalesce(h.lo, t.lo)) AS lo, greatest(t.hi, coalesce(h.hi, t.hi)) AS hi
FROM touched AS t
LEFT JOIN hit AS h ON t.user_key = h.user_key
