-- model: int_events_sessionized
-- materialized: temp
-- depends_on: stg_events, scope_session_ranges
-- grain: one row per event of the users and time ranges whose sessions this build recomputes.
-- parameters: $session_timeout_minutes
-- A new session starts at a user's first event and after every gap longer than the timeout.
-- session_id is a hash of user and start time: the same events give the same id on every rebuild.
WITH scoped AS (
    SELECT e.*
    FROM stg_events AS e
    JOIN scope_session_ranges AS r
        ON e.user_id = r.user_id AND e.event_time BETWEEN r.lo AND r.hi
),

gaps AS (
    SELECT
        *,
        lag(event_time) OVER (PARTITION BY user_id ORDER BY event_time, event_id) AS previous_time
    FROM scoped
),

starts AS (
    SELECT
        *,
        CASE
            WHEN previous_time IS NULL
                OR event_time - previous_time > to_minutes(CAST($session_timeout_minutes AS BIGINT))
                THEN 1
            ELSE 0
        END AS is_session_start
    FROM gaps
),

numbered AS (
    SELECT
        *,
        sum(is_session_start) OVER (
            PARTITION BY user_id ORDER BY event_time, event_id ROWS UNBOUNDED PRECEDING
        ) AS session_number
    FROM starts
),

final AS (
    SELECT
        * EXCLUDE (previous_time, is_session_start, session_number),
        min(event_time) OVER (PARTITION BY user_id, session_number) AS session_start
    FROM numbered
)

SELECT
    *,
    'ses_' || left(md5(user_id || '|' || CAST(epoch_us(session_start) AS VARCHAR)), 24) AS session_key
FROM final
