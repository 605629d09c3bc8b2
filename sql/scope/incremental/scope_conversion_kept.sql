-- model: scope_conversion_kept
-- depends_on: existing_conversion_daily, scope_session_dates
-- grain: one row per day and device of conversion_daily on the days this build replaces, as counted
-- before: the figures conversion_daily adds the recounted users' differences to. Empty when the
-- plan found the sessions mart changed since conversion_daily was counted (the days are then
-- counted anew).
SELECT
    session_date, device, sessions, users, viewed_sessions, product_viewed_sessions, carted_sessions,
    checked_out_sessions, purchased_sessions, viewed_users, product_viewed_users, carted_users,
    checked_out_users, purchased_users, revenue, unconverted_sessions
FROM existing_conversion_daily
WHERE session_date IN (SELECT day FROM scope_session_dates)
