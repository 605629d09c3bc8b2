-- model: scope_session_hours
-- depends_on: changed_event_hours
-- grain: one row per hour partition: a full build replaces every hour that has events.
SELECT hour_start FROM changed_event_hours
