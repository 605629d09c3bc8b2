-- model: int_events_sessionized
-- materialized: temp
-- depends_on: stg_events, scope_session_ranges
-- grain: one row per event of the users and time ranges whose sessions this build recomputes.
-- parameters: $session_timeout_minutes
-- A new session starts at a user's first event and after every gap longer than the timeout. The
-- windows run over the keys only (user, event time, event id: what they order by) and the other
-- columns join back once, by stg_events' rowid (one integer: a join on event id and time cost more):
-- a window sorts every column it carries, and there are two windows.
WITH scoped AS (
    SELECT e.user_id, e.event_time, e.event_id, e.rowid AS event_row
    FROM stg_events AS e
    SEMI JOIN scope_session_ranges AS r
        ON e.user_id = r.user_id AND e.event_time BETWEEN r.lo AND r.hi
),

neighbours AS (
    SELECT
        *,
        lag(event_time) OVER by_user AS previous_time,
        lead(event_time) OVER by_user AS next_time
    FROM scoped
    WINDOW by_user AS (PARTITION BY user_id ORDER BY event_time, event_id)
),

bounds AS (
    SELECT
        user_id, event_time, event_id, event_row,
        -- microsecond arithmetic: comparing INTERVALs row by row is several times slower
        previous_time IS NULL OR epoch_us(event_time) - epoch_us(previous_time) > timeout_us AS is_session_start,
        next_time IS NULL OR epoch_us(next_time) - epoch_us(event_time) > timeout_us AS is_session_end
    FROM neighbours, (SELECT CAST($session_timeout_minutes AS BIGINT) * 60000000 AS timeout_us)
),

sessionized AS (
    SELECT
        event_row, is_session_start, is_session_end,
        max(CASE WHEN is_session_start THEN event_time END) OVER (
            PARTITION BY user_id ORDER BY event_time, event_id ROWS UNBOUNDED PRECEDING
        ) AS session_start
    FROM bounds
)

SELECT
    e.user_id, e.event_time, e.event_id, e.event_type, e.ip, e.page_url, e.device, e.browser, e.is_bot,
    e.quantity, e.cart_value, e.currency, e.value_at_risk, e.reporting_rate,
    s.is_session_start, s.is_session_end, s.session_start
FROM stg_events AS e
JOIN sessionized AS s ON e.rowid = s.event_row
