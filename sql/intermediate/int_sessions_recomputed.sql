-- model: int_sessions_recomputed
-- materialized: temp
-- depends_on: int_events_sessionized, fraud_user_minute, scope_session_ranges
-- grain: one row per session recomputed by this build (the users and time ranges in scope).
-- Pseudonymized: sessions carry user_key, never user_id; session_id derives from user_key too.
-- parameters: $multi_ip_threshold, $max_cart_value, $max_quantity
WITH events AS (
    SELECT * FROM int_events_sessionized
),

busy_minutes AS (
    -- the few user-minutes over the events-per-minute limit
    SELECT user_id, minute FROM fraud_user_minute WHERE list_contains(reasons, 'events_per_minute')
),

recomputed AS (
    SELECT
        e.user_id,
        e.session_start AS start_time,
        max(e.event_time) AS end_time,
        CAST(epoch(max(e.event_time)) - epoch(e.session_start) AS BIGINT) AS duration_s,
        count(*) AS event_count,
        count(*) FILTER (WHERE e.event_type = 'page_view') AS page_views,
        count(*) FILTER (WHERE e.event_type = 'product_view') AS product_views,
        count(*) FILTER (WHERE e.event_type = 'add_to_cart') AS add_to_carts,
        count(*) FILTER (WHERE e.event_type = 'checkout') AS checkouts,
        count(*) FILTER (WHERE e.event_type = 'purchase') AS purchases,
        coalesce(max(e.cart_value), 0) AS max_cart_value,
        coalesce(sum(e.event_value) FILTER (WHERE e.event_type = 'add_to_cart'), 0) AS total_cart_value,
        coalesce(sum(e.event_value) FILTER (WHERE e.event_type = 'purchase'), 0) AS revenue,
        -- the carts and purchases of the session, for fraud flags on the session
        coalesce(list(e.event_id ORDER BY e.event_id) FILTER (WHERE e.event_type IN ('add_to_cart', 'checkout', 'purchase') AND e.event_value > 0), []) AS valued_event_ids,
        coalesce(sum(e.event_value) FILTER (WHERE e.event_type IN ('add_to_cart', 'checkout', 'purchase')), 0) AS valued_total,
        count(DISTINCT e.ip) AS distinct_ips,
        any_value(e.page_url) FILTER (WHERE e.is_session_start) AS first_page,
        any_value(e.page_url) FILTER (WHERE e.is_session_end) AS last_page,
        any_value(e.device) FILTER (WHERE e.is_session_start) AS device,
        any_value(e.browser) FILTER (WHERE e.is_session_start) AS browser,
        bool_or(e.is_bot) AS is_bot,
        max(e.quantity) AS max_quantity
    FROM events AS e
    GROUP BY e.user_id, e.session_start
),

keyed AS (
    -- the pseudonymized key, hashed once per user in scope (scope_session_ranges), not per event
    SELECT
        -- stable: the same events give the same id on every rebuild
        'ses_' || left(md5(r.user_key || '|' || CAST(epoch_us(s.start_time) AS VARCHAR)), 24) AS session_id,
        r.user_key,
        s.*
    FROM recomputed AS s
    JOIN scope_session_ranges AS r USING (user_id)
),

flagged AS (
    SELECT
        * EXCLUDE (max_quantity),
        list_filter([
            CASE WHEN is_bot THEN 'bot_user_agent' END,
            CASE WHEN EXISTS (
                SELECT 1 FROM busy_minutes AS b
                WHERE b.user_id = keyed.user_id AND b.minute BETWEEN date_trunc('minute', keyed.start_time) AND keyed.end_time
            ) THEN 'events_per_minute' END,
            CASE WHEN max_quantity > CAST($max_quantity AS BIGINT) THEN 'high_quantity' END,
            CASE WHEN max_cart_value > CAST($max_cart_value AS DECIMAL(18, 2)) THEN 'high_cart_value' END,
            CASE WHEN distinct_ips >= CAST($multi_ip_threshold AS BIGINT) THEN 'multiple_ips' END
        ], reason -> reason IS NOT NULL) AS suspicious_reasons
    FROM keyed
)

SELECT
    session_id, user_key, start_time, end_time, duration_s, event_count, page_views, product_views,
    add_to_carts, checkouts, purchases, total_cart_value, revenue, valued_event_ids, valued_total, max_cart_value, distinct_ips,
    first_page, last_page, device, browser, is_bot,
    len(suspicious_reasons) > 0 AS is_suspicious,
    suspicious_reasons,
    CAST(start_time AS DATE) AS session_date,
    CAST(hour(start_time) AS INTEGER) AS start_hour
FROM flagged
