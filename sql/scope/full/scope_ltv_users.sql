-- model: scope_ltv_users
-- depends_on: scope_session_ranges, all_raw_events
-- grain: one row per customer (a user with a purchase): a full build recomputes them all.
-- Every user is in scope_session_ranges already: its keys are reused rather than hashed again.
SELECT user_id, user_key
FROM scope_session_ranges
WHERE user_id IN (SELECT user_id FROM all_raw_events WHERE event_type = 'purchase')
