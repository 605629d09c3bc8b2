-- model: scope_read_hours
-- depends_on: scope_flag_hours, scope_session_hours
-- grain: one row per raw_events hour partition the models read (plan.ts registers scoped_raw_events
-- over their files): the scoped hours and the hour before each (sliding windows), or as many as the
-- session timeout reaches back (cart state).
-- parameters: $session_timeout_minutes
SELECT DISTINCT s.hour_start - to_hours(CAST(t.back AS INTEGER)) AS hour_start
FROM (SELECT hour_start FROM scope_flag_hours UNION SELECT hour_start FROM scope_session_hours) AS s,
     range(0, greatest(CAST(ceil(CAST($session_timeout_minutes AS DOUBLE) / 60) AS INTEGER), 1) + 1) AS t(back)
