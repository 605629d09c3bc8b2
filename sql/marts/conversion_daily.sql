-- model: conversion_daily
-- materialized: delta
-- depends_on: sessions, conversion_sessions_kept, conversion_sessions_added, conversion_sessions_removed, conversion_users, scope_session_dates, scope_conversion_kept
-- partition_by: session_date
-- scope: scope_session_dates
-- unique_key: session_date, device
-- grain: one row per day and device (device 'all' = every device) of non-bot sessions.
-- The funnel: view (page or product view) -> product view -> cart -> checkout -> purchase. A session
-- or user "reaches" a step when it has at least one event of that type; a step rate is the share of
-- the previous step's sessions that reach it (view_to_cart_rate = carted / product-viewed).
-- revenue is in the reporting currency (`currency`): the revenue of the sessions whose money is in
-- it; sessions with money in another currency (no rates file) or with unconverted events are
-- counted in unconverted_sessions, never added.
-- parameters: $reporting_currency
-- Every figure but the rates is a sum over the day's users (per device, and over all devices), so a
-- build recounts only the users whose sessions it recomputed (conversion_users: every user in a full
-- build) and adds to the day's figures as they stood (scope_conversion_kept) the difference between
-- those users' figures now and before: their sessions in the sessions files this build kept count
-- in both, those in the files it added now, those in the files it removed before. In a full build,
-- and when the sessions mart changed since conversion_daily was counted (another writer, an
-- interrupted build), the plan gives no before: every file of the touched days is "added", nothing
-- is kept, and conversion_users is every user of those days.
WITH kept_sessions AS MATERIALIZED (
    -- the recounted users' sessions in the files this build kept: counted now and before
    SELECT user_key, session_date, device, page_views, product_views, add_to_carts, checkouts, purchases,
           revenue, currency, value_at_risk, unconverted_events
    FROM conversion_sessions_kept
    WHERE session_date IN (SELECT day FROM scope_session_dates) AND NOT is_bot
      AND user_key IN (SELECT user_key FROM conversion_users)
),

changed AS (
    -- the recounted users' sessions of the touched days, now (+1) and before (-1)
    SELECT 1 AS sign, * FROM kept_sessions
    UNION ALL
    SELECT 1 AS sign, user_key, session_date, device, page_views, product_views, add_to_carts, checkouts,
           purchases, revenue, currency, value_at_risk, unconverted_events
    FROM conversion_sessions_added
    WHERE session_date IN (SELECT day FROM scope_session_dates) AND NOT is_bot
      AND user_key IN (SELECT user_key FROM conversion_users)
    UNION ALL
    SELECT -1 AS sign, * FROM kept_sessions
    UNION ALL
    SELECT -1 AS sign, user_key, session_date, device, page_views, product_views, add_to_carts, checkouts,
           purchases, revenue, currency, value_at_risk, unconverted_events
    FROM conversion_sessions_removed
    WHERE session_date IN (SELECT day FROM scope_session_dates) AND NOT is_bot
      AND user_key IN (SELECT user_key FROM conversion_users)
),

per_user AS (
    -- distinct users counted in two steps (per day, device and user, then per day and user for
    -- 'all'): a dozen count(DISTINCT) over two grouping sets cost several times more
    SELECT
        sign, session_date, device, user_key,
        count(*) AS sessions,
        count(*) FILTER (WHERE page_views + product_views > 0) AS viewed_sessions,
        count(*) FILTER (WHERE product_views > 0) AS product_viewed_sessions,
        count(*) FILTER (WHERE add_to_carts > 0) AS carted_sessions,
        count(*) FILTER (WHERE checkouts > 0) AS checked_out_sessions,
        count(*) FILTER (WHERE purchases > 0) AS purchased_sessions,
        sum(revenue) FILTER (WHERE currency = $reporting_currency) AS revenue,
        count(*) FILTER (WHERE (currency <> $reporting_currency AND value_at_risk > 0) OR unconverted_events > 0) AS unconverted_sessions
    FROM changed
    GROUP BY sign, session_date, device, user_key
),

per_user_all AS (
    SELECT
        sign, session_date, 'all' AS device, user_key,
        sum(sessions) AS sessions, sum(viewed_sessions) AS viewed_sessions,
        sum(product_viewed_sessions) AS product_viewed_sessions, sum(carted_sessions) AS carted_sessions,
        sum(checked_out_sessions) AS checked_out_sessions, sum(purchased_sessions) AS purchased_sessions,
        sum(revenue) AS revenue, sum(unconverted_sessions) AS unconverted_sessions
    FROM per_user
    GROUP BY sign, session_date, user_key
),

differences AS (
    -- per day and device: the recounted users' figures now minus before
    SELECT
        session_date,
        device,
        sum(sign * sessions) AS sessions,
        sum(sign) AS users,
        sum(sign * viewed_sessions) AS viewed_sessions,
        sum(sign * product_viewed_sessions) AS product_viewed_sessions,
        sum(sign * carted_sessions) AS carted_sessions,
        sum(sign * checked_out_sessions) AS checked_out_sessions,
        sum(sign * purchased_sessions) AS purchased_sessions,
        sum(sign) FILTER (WHERE viewed_sessions > 0) AS viewed_users,
        sum(sign) FILTER (WHERE product_viewed_sessions > 0) AS product_viewed_users,
        sum(sign) FILTER (WHERE carted_sessions > 0) AS carted_users,
        sum(sign) FILTER (WHERE checked_out_sessions > 0) AS checked_out_users,
        sum(sign) FILTER (WHERE purchased_sessions > 0) AS purchased_users,
        sum(sign * revenue) AS revenue,
        sum(sign * unconverted_sessions) AS unconverted_sessions
    FROM (
        SELECT * FROM per_user
        UNION ALL BY NAME
        SELECT * FROM per_user_all
    )
    GROUP BY session_date, device
),

counted AS (
    SELECT
        session_date,
        device,
        CAST(sum(sessions) AS BIGINT) AS sessions,
        CAST(sum(users) AS BIGINT) AS users,
        CAST(sum(viewed_sessions) AS BIGINT) AS viewed_sessions,
        CAST(sum(product_viewed_sessions) AS BIGINT) AS product_viewed_sessions,
        CAST(sum(carted_sessions) AS BIGINT) AS carted_sessions,
        CAST(sum(checked_out_sessions) AS BIGINT) AS checked_out_sessions,
        CAST(sum(purchased_sessions) AS BIGINT) AS purchased_sessions,
        CAST(coalesce(sum(viewed_users), 0) AS BIGINT) AS viewed_users,
        CAST(coalesce(sum(product_viewed_users), 0) AS BIGINT) AS product_viewed_users,
        CAST(coalesce(sum(carted_users), 0) AS BIGINT) AS carted_users,
        CAST(coalesce(sum(checked_out_users), 0) AS BIGINT) AS checked_out_users,
        CAST(coalesce(sum(purchased_users), 0) AS BIGINT) AS purchased_users,
        CAST(coalesce(sum(revenue), 0) AS DECIMAL(18, 2)) AS revenue,
        CAST($reporting_currency AS VARCHAR) AS currency,
        CAST(sum(unconverted_sessions) AS BIGINT) AS unconverted_sessions
    FROM (
        SELECT * FROM differences
        UNION ALL BY NAME
        SELECT * FROM scope_conversion_kept
    )
    GROUP BY session_date, device
    -- a day and device whose last user left (their sessions now bots, or gone)
    HAVING sum(users) > 0
),

final AS (
    SELECT
        *,
        CAST(product_viewed_sessions AS DOUBLE) / nullif(viewed_sessions, 0) AS product_view_rate,
        CAST(carted_sessions AS DOUBLE) / nullif(product_viewed_sessions, 0) AS view_to_cart_rate,
        CAST(checked_out_sessions AS DOUBLE) / nullif(carted_sessions, 0) AS cart_to_checkout_rate,
        CAST(purchased_sessions AS DOUBLE) / nullif(checked_out_sessions, 0) AS checkout_to_purchase_rate,
        CAST(purchased_sessions AS DOUBLE) / nullif(viewed_sessions, 0) AS conversion_rate,
        CAST(carted_users AS DOUBLE) / nullif(product_viewed_users, 0) AS users_view_to_cart_rate
    FROM counted
)

SELECT * FROM final
