-- model: int_fraud_per_minute
-- materialized: temp
-- depends_on: fraud_user_minute, fraud_user_minute_read_hours, stg_events
-- grain: one row per rule (events_per_minute, value_per_minute) a flagged user-minute of
-- fraud_user_minute breaks; it covers the user's events with money in that minute.
WITH flagged_minutes AS (
    -- the minutes of the hours this build reads (fraud_user_minute_read_hours): the flag hours among them
    SELECT * FROM fraud_user_minute_read_hours WHERE is_flagged
),

minute_values AS (
    SELECT m.user_id, m.minute, coalesce(sum(v.reporting_value), 0) AS value,
           coalesce(list(v.event_id ORDER BY v.event_id) FILTER (WHERE v.event_id IS NOT NULL), []) AS ids,
           coalesce(list(v.reporting_value ORDER BY v.event_id) FILTER (WHERE v.event_id IS NOT NULL), []) AS amounts
    FROM flagged_minutes AS m
    LEFT JOIN (SELECT * FROM stg_events WHERE reporting_value > 0) AS v
        ON v.user_id = m.user_id AND utc_minute(v.event_time) = m.minute
    GROUP BY m.user_id, m.minute
)

SELECT
    unnest(m.reasons) AS rule, 'user_minute' AS level, m.user_id, CAST(NULL AS VARCHAR) AS session_id,
    CAST(NULL AS VARCHAR) AS event_id, m.minute AS flagged_at, v.value, v.ids AS covered_event_ids,
    v.amounts AS covered_event_values,
    json_object('events', m.events, 'total_value', m.total_value) AS evidence
FROM flagged_minutes AS m
JOIN minute_values AS v ON m.user_id = v.user_id AND m.minute = v.minute
