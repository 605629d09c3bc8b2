-- model: scope_flag_hours
-- depends_on: scope_event_hours, scope_session_hours
-- grain: one row per hour partition of fraud_flags this build replaces.
-- A flag of hour h can change when its events, the sliding window reaching into h from the hour
-- before, or a session starting in h changed.
SELECT hour_start FROM scope_event_hours
UNION SELECT hour_start + INTERVAL 1 HOUR FROM scope_event_hours
UNION SELECT hour_start FROM scope_session_hours
