-- model: scope_event_hours
-- depends_on: changed_event_hours
-- grain: one row per hour partition whose per-event figures can change: fraud_user_minute and
-- metrics_minute replace these hours.
-- parameters: $session_timeout_minutes
-- An event's value at risk is its cart's increase over the state up to the session timeout earlier:
-- a changed event changes the values of the hours the timeout reaches after it.
SELECT DISTINCT c.hour_start + to_hours(CAST(t.ahead AS INTEGER)) AS hour_start
FROM changed_event_hours AS c,
     range(0, CAST(ceil(CAST($session_timeout_minutes AS DOUBLE) / 60) AS INTEGER) + 1) AS t(ahead)
