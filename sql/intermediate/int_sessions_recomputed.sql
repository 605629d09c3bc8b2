-- model: int_sessions_recomputed
-- materialized: temp
-- depends_on: int_events_sessionized, fraud_user_minute, fraud_user_minute_read_hours, scope_session_ranges
-- grain: one row per session recomputed by this build (the users and time ranges in scope).
-- Pseudonymized: sessions carry user_key, never user_id; session_id derives from user_key too.
-- parameters: $multi_ip_threshold, $max_cart_value, $max_quantity, $reporting_currency, $convert_currencies
-- Money (README "Money"): a session's money is in its `currency`: the reporting currency when
-- converting with a rates file, else the currency of its first event with money (the reporting
-- currency when it has none). cart_value = the cart total of its last cart event (a state: carts of
-- 10 then 30 give 30), max_cart_value = the largest, revenue = the sum of its purchases,
-- value_at_risk = the sum of its events' value_at_risk (cart increases plus purchases).
-- Events whose money cannot be expressed in the session's currency are never added: they are
-- counted in unconverted_events.
-- int_events_sessionized is read directly by each step (a temp table): a CTE over it would be
-- materialized, one more copy of every event.
WITH busy_minutes AS (
    -- the few user-minutes over the events-per-minute limit
    -- of the hours this build reads, which hold every recomputed session's minutes
    SELECT user_id, minute FROM fraud_user_minute_read_hours WHERE list_contains(reasons, 'events_per_minute')
),

recomputed AS (
    SELECT
        e.user_id,
        e.session_start,
        max(e.event_time) AS end_time,
        CAST(epoch(max(e.event_time)) - epoch(e.session_start) AS BIGINT) AS duration_s,
        count(*) AS event_count,
        count(*) FILTER (WHERE e.event_type = 'page_view') AS page_views,
        count(*) FILTER (WHERE e.event_type = 'product_view') AS product_views,
        count(*) FILTER (WHERE e.event_type = 'add_to_cart') AS add_to_carts,
        count(*) FILTER (WHERE e.event_type = 'checkout') AS checkouts,
        count(*) FILTER (WHERE e.event_type = 'purchase') AS purchases,
        count(DISTINCT e.ip) AS distinct_ips,
        any_value(e.page_url) FILTER (WHERE e.is_session_start) AS first_page,
        any_value(e.page_url) FILTER (WHERE e.is_session_end) AS last_page,
        any_value(e.device) FILTER (WHERE e.is_session_start) AS device,
        any_value(e.browser) FILTER (WHERE e.is_session_start) AS browser,
        bool_or(e.is_bot) AS is_bot,
        max(e.quantity) AS max_quantity
    FROM int_events_sessionized AS e
    GROUP BY e.user_id, e.session_start
),

money_events AS (
    -- the few events with money, each with its session's currency and its factor into it
    SELECT
        user_id, session_start, event_id, event_time, event_type, cart_value, value_at_risk,
        CASE
            WHEN CAST($convert_currencies AS BOOLEAN) THEN reporting_rate
            WHEN currency = first_value(currency) OVER (PARTITION BY user_id, session_start ORDER BY event_time, event_id)
                THEN CAST(1 AS DECIMAL(18, 9))
        END AS factor,
        CASE
            WHEN CAST($convert_currencies AS BOOLEAN) THEN $reporting_currency
            ELSE first_value(currency) OVER (PARTITION BY user_id, session_start ORDER BY event_time, event_id)
        END AS session_currency
    FROM int_events_sessionized
    WHERE value_at_risk > 0 OR cart_value IS NOT NULL
),

money AS (
    SELECT
        user_id,
        session_start,
        any_value(session_currency) AS currency,
        -- arg_max and a sorted list of (id, value) pairs rather than last(... ORDER BY) and two
        -- list(... ORDER BY): DuckDB sorts each ordered aggregate of each session on its own, which
        -- cost more than the rest of the step (the same values: event ids are unique)
        CAST(arg_max(cart_value * factor, (event_time, event_id))
            FILTER (WHERE event_type <> 'purchase' AND cart_value IS NOT NULL AND factor IS NOT NULL) AS DECIMAL(18, 2)) AS cart_value,
        CAST(max(cart_value * factor) FILTER (WHERE event_type <> 'purchase') AS DECIMAL(18, 2)) AS max_cart_value,
        CAST(sum(value_at_risk * factor) FILTER (WHERE event_type = 'purchase') AS DECIMAL(18, 2)) AS revenue,
        CAST(sum(value_at_risk * factor) AS DECIMAL(18, 2)) AS value_at_risk,
        -- the events with money at risk, for fraud flags on the session, in event id order
        list_sort(list({'id': event_id, 'value': CAST(value_at_risk * factor AS DECIMAL(18, 2))})
            FILTER (WHERE value_at_risk > 0 AND factor IS NOT NULL)) AS valued_events,
        count(*) FILTER (WHERE factor IS NULL) AS unconverted_events
    FROM money_events
    GROUP BY user_id, session_start
),

with_money AS (
    SELECT
        s.*,
        coalesce(m.currency, $reporting_currency) AS currency,
        coalesce(m.cart_value, 0) AS cart_value,
        coalesce(m.max_cart_value, 0) AS max_cart_value,
        coalesce(m.revenue, 0) AS revenue,
        coalesce(m.value_at_risk, 0) AS value_at_risk,
        coalesce(list_transform(m.valued_events, v -> v.id), []) AS valued_event_ids,
        coalesce(list_transform(m.valued_events, v -> v.value), CAST([] AS DECIMAL(18, 2)[])) AS valued_event_values,
        coalesce(m.unconverted_events, 0) AS unconverted_events
    FROM recomputed AS s
    LEFT JOIN money AS m USING (user_id, session_start)
),

keyed AS (
    -- the pseudonymized key, hashed once per user in scope (scope_session_ranges), not per event
    SELECT
        -- stable: the same events give the same id on every rebuild
        'ses_' || left(md5(r.user_key || '|' || CAST(epoch_us(s.session_start) AS VARCHAR)), 24) AS session_id,
        r.user_key,
        s.* EXCLUDE (session_start),
        s.session_start AS start_time
    FROM with_money AS s
    JOIN scope_session_ranges AS r USING (user_id)
),

flagged AS (
    SELECT
        * EXCLUDE (max_quantity),
        list_filter([
            CASE WHEN is_bot THEN 'bot_user_agent' END,
            CASE WHEN EXISTS (
                SELECT 1 FROM busy_minutes AS b
                WHERE b.user_id = keyed.user_id AND b.minute BETWEEN utc_minute(keyed.start_time) AND keyed.end_time
            ) THEN 'events_per_minute' END,
            CASE WHEN max_quantity > CAST($max_quantity AS BIGINT) THEN 'high_quantity' END,
            -- the threshold is in the reporting currency: other currencies are not compared
            CASE WHEN currency = $reporting_currency AND max_cart_value > CAST($max_cart_value AS DECIMAL(18, 2)) THEN 'high_cart_value' END,
            CASE WHEN distinct_ips >= CAST($multi_ip_threshold AS BIGINT) THEN 'multiple_ips' END
        ], reason -> reason IS NOT NULL) AS suspicious_reasons
    FROM keyed
)

SELECT
    session_id, user_key, start_time, end_time, duration_s, event_count, page_views, product_views,
    add_to_carts, checkouts, purchases, currency, cart_value, max_cart_value, revenue, value_at_risk,
    valued_event_ids, valued_event_values, unconverted_events, distinct_ips,
    first_page, last_page, device, browser, is_bot,
    len(suspicious_reasons) > 0 AS is_suspicious,
    suspicious_reasons,
    utc_date(start_time) AS session_date,
    utc_hour_of_day(start_time) AS start_hour
FROM flagged
