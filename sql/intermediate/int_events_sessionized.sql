-- model: int_events_sessionized
-- materialized: temp
-- depends_on: stg_events, scope_session_ranges
-- grain: one row per event of the users and time ranges whose sessions this build recomputes.
-- parameters: $session_timeout_minutes
-- A new session starts at a user's first event and after every gap longer than the timeout. Every
-- window here shares one ordering (user, event time, event id), so DuckDB sorts once.
WITH scoped AS (
    SELECT
        e.user_id, e.event_time, e.event_id, e.event_type, e.ip, e.page_url, e.device, e.browser, e.is_bot,
        e.quantity, e.cart_value, e.currency, e.value_at_risk, e.reporting_rate
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
        * EXCLUDE (previous_time, next_time),
        -- microsecond arithmetic: comparing INTERVALs row by row is several times slower
        previous_time IS NULL OR epoch_us(event_time) - epoch_us(previous_time) > timeout_us AS is_session_start,
        next_time IS NULL OR epoch_us(next_time) - epoch_us(event_time) > timeout_us AS is_session_end
    FROM neighbours, (SELECT CAST($session_timeout_minutes AS BIGINT) * 60000000 AS timeout_us)
)

SELECT
    * EXCLUDE (timeout_us),
    max(CASE WHEN is_session_start THEN event_time END) OVER (
        PARTITION BY user_id ORDER BY event_time, event_id ROWS UNBOUNDED PRECEDING
    ) AS session_start
FROM bounds
