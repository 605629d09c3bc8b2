-- model: scope_session_ranges
-- depends_on: all_raw_events
-- grain: one row per user: a full build recomputes every user's sessions, over all their events.
-- user_key is hashed here once per user; the models reuse it rather than hash per event.
SELECT user_id, pseudonym(user_id) AS user_key, min(event_time) AS lo, max(event_time) AS hi
FROM all_raw_events
GROUP BY user_id
