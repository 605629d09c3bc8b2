-- model: conversion_daily
-- materialized: delta
-- depends_on: sessions, scope_session_dates
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
WITH scoped AS (
    SELECT s.*
    FROM sessions AS s
    WHERE s.session_date IN (SELECT day FROM scope_session_dates) AND NOT s.is_bot
),

counted AS (
    SELECT
        session_date,
        coalesce(device, 'all') AS device,
        count(*) AS sessions,
        count(DISTINCT user_key) AS users,
        count(*) FILTER (WHERE page_views + product_views > 0) AS viewed_sessions,
        count(*) FILTER (WHERE product_views > 0) AS product_viewed_sessions,
        count(*) FILTER (WHERE add_to_carts > 0) AS carted_sessions,
        count(*) FILTER (WHERE checkouts > 0) AS checked_out_sessions,
        count(*) FILTER (WHERE purchases > 0) AS purchased_sessions,
        count(DISTINCT user_key) FILTER (WHERE page_views + product_views > 0) AS viewed_users,
        count(DISTINCT user_key) FILTER (WHERE product_views > 0) AS product_viewed_users,
        count(DISTINCT user_key) FILTER (WHERE add_to_carts > 0) AS carted_users,
        count(DISTINCT user_key) FILTER (WHERE checkouts > 0) AS checked_out_users,
        count(DISTINCT user_key) FILTER (WHERE purchases > 0) AS purchased_users,
        CAST(coalesce(sum(revenue) FILTER (WHERE currency = $reporting_currency), 0) AS DECIMAL(18, 2)) AS revenue,
        CAST($reporting_currency AS VARCHAR) AS currency,
        count(*) FILTER (WHERE (currency <> $reporting_currency AND value_at_risk > 0) OR unconverted_events > 0) AS unconverted_sessions
    FROM scoped
    GROUP BY GROUPING SETS ((session_date), (session_date, device))
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
