-- model: int_sessions_recomputed
-- materialized: temp
-- depends_on: int_events_sessionized
-- grain: one row per session recomputed by this build (the users and time ranges in scope).
-- parameters: $multi_ip_threshold, $max_cart_value, $max_quantity, $max_events_per_minute
WITH events AS (
    SELECT * FROM int_events_sessionized
),

per_minute AS (
    SELECT session_key, max(n) AS max_events_per_minute
    FROM (
        SELECT session_key, count(*) AS n
        FROM events
        GROUP BY session_key, date_trunc('minute', event_time)
    )
    GROUP BY session_key
),

recomputed AS (
    SELECT
        e.session_key AS session_id,
        e.user_id,
        min(e.event_time) AS start_time,
        max(e.event_time) AS end_time,
        CAST(epoch(max(e.event_time)) - epoch(min(e.event_time)) AS BIGINT) AS duration_s,
        count(*) AS event_count,
        count(*) FILTER (WHERE e.event_type = 'page_view') AS page_views,
        count(*) FILTER (WHERE e.event_type = 'product_view') AS product_views,
        count(*) FILTER (WHERE e.event_type = 'add_to_cart') AS add_to_carts,
        count(*) FILTER (WHERE e.event_type = 'checkout') AS checkouts,
        count(*) FILTER (WHERE e.event_type = 'purchase') AS purchases,
        coalesce(max(e.cart_value), 0) AS max_cart_value,
        coalesce(sum(e.event_value) FILTER (WHERE e.event_type = 'add_to_cart'), 0) AS total_cart_value,
        coalesce(sum(e.event_value) FILTER (WHERE e.event_type = 'purchase'), 0) AS revenue,
        count(DISTINCT e.ip) AS distinct_ips,
        arg_min(e.page_url, (e.event_time, e.event_id)) AS first_page,
        arg_max(e.page_url, (e.event_time, e.event_id)) AS last_page,
        arg_min(e.device, (e.event_time, e.event_id)) AS device,
        arg_min(e.browser, (e.event_time, e.event_id)) AS browser,
        bool_or(e.is_bot) AS is_bot,
        max(e.quantity) AS max_quantity,
        any_value(m.max_events_per_minute) AS max_events_per_minute
    FROM events AS e
    JOIN per_minute AS m ON e.session_key = m.session_key
    GROUP BY e.session_key, e.user_id
),

flagged AS (
    SELECT
        * EXCLUDE (max_quantity),
        list_filter([
            CASE WHEN is_bot THEN 'bot_user_agent' END,
            CASE WHEN max_events_per_minute > CAST($max_events_per_minute AS BIGINT) THEN 'events_per_minute' END,
            CASE WHEN max_quantity > CAST($max_quantity AS BIGINT) THEN 'high_quantity' END,
            CASE WHEN max_cart_value > CAST($max_cart_value AS DECIMAL(18, 2)) THEN 'high_cart_value' END,
            CASE WHEN distinct_ips >= CAST($multi_ip_threshold AS BIGINT) THEN 'multiple_ips' END
        ], reason -> reason IS NOT NULL) AS suspicious_reasons
    FROM recomputed
)

SELECT
    session_id, user_id, start_time, end_time, duration_s, event_count, page_views, product_views,
    add_to_carts, checkouts, purchases, total_cart_value, revenue, max_cart_value, distinct_ips,
    max_events_per_minute, first_page, last_page, device, browser, is_bot,
    len(suspicious_reasons) > 0 AS is_suspicious,
    suspicious_reasons,
    CAST(start_time AS DATE) AS session_date
FROM flagged
