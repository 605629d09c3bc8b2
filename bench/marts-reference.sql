-- bench/marts-reference.sql: the six marts of a full build-marts, hand-written as one DuckDB script,
-- the reference bench/marts.mjs times build-marts --full-refresh against (and checks row for row
-- against the marts build-marts wrote).
-- Inputs, set up by bench/marts.mjs: view raw_events (the live raw_events files), table
-- user_agent_bots(user_agent, is_bot) (the isbot library's verdicts, as build-marts classifies
-- agents in JS), and shopstream's privacy macros pseudonym(v) and truncate_ip(ip) (the lake's HMAC
-- key). Settings: the defaults (30-minute sessions, fraud thresholds 100 events / $50,000 per
-- minute, quantity 50, cart $10,000, 3 IPs in a session or in 10 minutes, late after 60 minutes),
-- USD reporting and default currency, no rates file: money in another currency is not converted.
-- Output: temp tables ref_<mart>, one per mart, with the mart's columns (partition columns too).
-- Written independently of sql/: plain DuckDB, one pass per concern; customer_ltv keeps the
-- formula of sql/intermediate/int_customer_ltv_recomputed.sql as of this script.
SET TimeZone = 'UTC';

-- device and browser once per distinct agent, not once per event
CREATE OR REPLACE TEMP TABLE ref_agents AS
SELECT
    user_agent, is_bot,
    CASE
        WHEN regexp_matches(user_agent, '(?i)ipad|tablet|kindle|silk') THEN 'tablet'
        WHEN regexp_matches(user_agent, '(?i)mobi|iphone|ipod|android') THEN 'mobile'
        ELSE 'desktop'
    END AS device,
    CASE
        WHEN contains(user_agent, 'Edg/') THEN 'Edge'
        WHEN contains(user_agent, 'OPR/') OR contains(user_agent, 'Opera') THEN 'Opera'
        WHEN contains(user_agent, 'Firefox/') THEN 'Firefox'
        WHEN contains(user_agent, 'Chrome/') OR contains(user_agent, 'CriOS/') THEN 'Chrome'
        WHEN contains(user_agent, 'Safari/') THEN 'Safari'
        ELSE 'other'
    END AS browser
FROM user_agent_bots;

-- every event once, with its agent's flags and its money (value at risk = purchases' amount, cart
-- increases over the previous cart state within 30 minutes, price x quantity for carts without a
-- total)
CREATE OR REPLACE TEMP TABLE ref_events AS
WITH src AS (
    SELECT
        r.event_id, r.event_type, r.user_id, r.event_time, r.received_at, r.ip, r.page_url, r.product_id,
        r.quantity, r.price, r.cart_value, r.amount, coalesce(r.currency, 'USD') AS currency,
        coalesce(r.received_at, r.ingested_at) AS arrived_at,
        coalesce(a.is_bot, false) AS is_bot,
        coalesce(a.device, 'unknown') AS device,
        coalesce(a.browser, 'unknown') AS browser,
        r.event_type = 'purchase' OR r.cart_value IS NOT NULL AS sets_cart
    FROM raw_events AS r
    LEFT JOIN ref_agents AS a ON r.user_agent = a.user_agent
),
cart_state AS (
    SELECT
        event_id,
        lag(CASE WHEN event_type = 'purchase' THEN 0 ELSE cart_value END) OVER w AS previous_cart,
        epoch_us(event_time) - epoch_us(lag(event_time) OVER w) AS since_previous_us
    FROM src
    WHERE sets_cart
    WINDOW w AS (PARTITION BY user_id, currency ORDER BY event_time, event_id)
),
valued AS (
    SELECT
        s.*,
        CAST(coalesce(CASE
            WHEN s.event_type = 'purchase' THEN coalesce(s.amount, s.cart_value, s.price * coalesce(s.quantity, 1))
            WHEN s.cart_value IS NOT NULL
                THEN greatest(s.cart_value - CASE WHEN c.since_previous_us <= 1800000000 THEN c.previous_cart ELSE 0 END, 0)
            WHEN s.event_type = 'add_to_cart' THEN s.price * coalesce(s.quantity, 1)
            ELSE 0
        END, 0) AS DECIMAL(18, 2)) AS value_at_risk,
        s.sets_cart OR s.event_type = 'add_to_cart' AS has_money
    FROM src AS s
    LEFT JOIN cart_state AS c ON s.event_id = c.event_id  -- event ids are unique in raw_events
)
SELECT
    * EXCLUDE (sets_cart, has_money),
    CASE WHEN has_money AND currency = 'USD' THEN value_at_risk END AS reporting_value,
    CASE WHEN has_money AND currency = 'USD' THEN CAST(cart_value AS DECIMAL(18, 2)) END AS reporting_cart_value,
    to_timestamp(epoch_us(event_time) // 60000000 * 60) AS minute
FROM valued;

CREATE OR REPLACE TEMP TABLE ref_users AS
SELECT user_id, pseudonym(user_id) AS user_key FROM (SELECT DISTINCT user_id FROM ref_events);

CREATE OR REPLACE TEMP TABLE ref_fraud_user_minute AS
SELECT
    *,
    events > 100 OR total_value > 50000 AS is_flagged,
    list_filter([
        CASE WHEN events > 100 THEN 'events_per_minute' END,
        CASE WHEN total_value > 50000 THEN 'value_per_minute' END
    ], x -> x IS NOT NULL) AS reasons,
    CAST(CAST(minute AS DATE) AS VARCHAR) AS dt,
    CAST(hour(minute) AS VARCHAR) AS hour
FROM (
    SELECT
        user_id, minute, count(*) AS events,
        CAST(coalesce(sum(reporting_value), 0) AS DECIMAL(18, 2)) AS total_value,
        'USD' AS currency,
        count(*) FILTER (WHERE value_at_risk > 0 AND reporting_value IS NULL) AS unconverted_events,
        count(DISTINCT ip) AS distinct_ips,
        bool_or(is_bot) AS is_bot
    FROM ref_events
    GROUP BY user_id, minute
);

CREATE OR REPLACE TEMP TABLE ref_metrics_minute AS
SELECT
    minute,
    count(*) AS events,
    count(DISTINCT user_id) AS unique_users,
    count(*) FILTER (WHERE anomalous) AS anomalous_events,
    CAST(count(*) FILTER (WHERE anomalous) AS DOUBLE) / count(*) AS anomaly_rate,
    quantile_cont(epoch(arrived_at) - epoch(event_time), 0.5) AS ingest_latency_p50_s,
    quantile_cont(epoch(arrived_at) - epoch(event_time), 0.95) AS ingest_latency_p95_s,
    count(*) FILTER (WHERE epoch(received_at) - epoch(event_time) > 3600) AS late_events,
    CAST(CAST(minute AS DATE) AS VARCHAR) AS dt,
    CAST(hour(minute) AS VARCHAR) AS hour
FROM (
    SELECT
        e.*,
        e.is_bot OR f.user_id IS NOT NULL OR coalesce(e.reporting_cart_value > 10000, false)
            OR coalesce(e.quantity > 50, false) AS anomalous
    FROM ref_events AS e
    LEFT JOIN (SELECT user_id, minute FROM ref_fraud_user_minute WHERE is_flagged) AS f USING (user_id, minute)
)
GROUP BY minute;

-- sessions: a new one at a user's first event and after more than 30 minutes without events
CREATE OR REPLACE TEMP TABLE ref_session_events AS
WITH gaps AS (
    SELECT
        user_id, event_id, event_time, event_type, ip, page_url, device, browser, is_bot, quantity,
        cart_value, currency, value_at_risk,
        coalesce(epoch_us(event_time) - epoch_us(lag(event_time) OVER w) > 1800000000, true) AS starts
    FROM ref_events
    WINDOW w AS (PARTITION BY user_id ORDER BY event_time, event_id)
)
SELECT
    *,
    max(CASE WHEN starts THEN event_time END) OVER (
        PARTITION BY user_id ORDER BY event_time, event_id ROWS UNBOUNDED PRECEDING
    ) AS start_time
FROM gaps;

CREATE OR REPLACE TEMP TABLE ref_sessions AS
WITH money_events AS (
    SELECT
        *,
        first_value(currency) OVER (PARTITION BY user_id, start_time ORDER BY event_time, event_id) AS session_currency
    FROM ref_session_events
    WHERE value_at_risk > 0 OR cart_value IS NOT NULL
),
money AS (
    SELECT
        user_id, start_time,
        any_value(session_currency) AS currency,
        CAST(last(cart_value ORDER BY event_time, event_id)
            FILTER (WHERE event_type <> 'purchase' AND cart_value IS NOT NULL AND currency = session_currency) AS DECIMAL(18, 2)) AS cart_value,
        CAST(max(cart_value) FILTER (WHERE event_type <> 'purchase' AND currency = session_currency) AS DECIMAL(18, 2)) AS max_cart_value,
        CAST(sum(value_at_risk) FILTER (WHERE event_type = 'purchase' AND currency = session_currency) AS DECIMAL(18, 2)) AS revenue,
        CAST(sum(value_at_risk) FILTER (WHERE currency = session_currency) AS DECIMAL(18, 2)) AS value_at_risk,
        list(event_id ORDER BY event_id) FILTER (WHERE value_at_risk > 0 AND currency = session_currency) AS ids,
        list(value_at_risk ORDER BY event_id) FILTER (WHERE value_at_risk > 0 AND currency = session_currency) AS amounts,
        count(*) FILTER (WHERE currency <> session_currency) AS unconverted_events
    FROM money_events
    GROUP BY user_id, start_time
),
per_session AS (
    SELECT
        user_id, start_time,
        max(event_time) AS end_time,
        count(*) AS event_count,
        count(*) FILTER (WHERE event_type = 'page_view') AS page_views,
        count(*) FILTER (WHERE event_type = 'product_view') AS product_views,
        count(*) FILTER (WHERE event_type = 'add_to_cart') AS add_to_carts,
        count(*) FILTER (WHERE event_type = 'checkout') AS checkouts,
        count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
        count(DISTINCT ip) AS distinct_ips,
        first(page_url ORDER BY event_time, event_id) AS first_page,
        last(page_url ORDER BY event_time, event_id) AS last_page,
        first(device ORDER BY event_time, event_id) AS device,
        first(browser ORDER BY event_time, event_id) AS browser,
        bool_or(is_bot) AS is_bot,
        max(quantity) AS max_quantity
    FROM ref_session_events
    GROUP BY user_id, start_time
),
joined AS (
    SELECT
        p.*, u.user_key,
        coalesce(m.currency, 'USD') AS currency,
        coalesce(m.cart_value, 0) AS cart_value,
        coalesce(m.max_cart_value, 0) AS max_cart_value,
        coalesce(m.revenue, 0) AS revenue,
        coalesce(m.value_at_risk, 0) AS value_at_risk,
        coalesce(m.ids, []) AS valued_event_ids,
        coalesce(m.amounts, CAST([] AS DECIMAL(18, 2)[])) AS valued_event_values,
        coalesce(m.unconverted_events, 0) AS unconverted_events,
        EXISTS (
            SELECT 1 FROM ref_fraud_user_minute AS f
            WHERE f.user_id = p.user_id AND list_contains(f.reasons, 'events_per_minute')
              AND f.minute BETWEEN to_timestamp(epoch_us(p.start_time) // 60000000 * 60) AND p.end_time
        ) AS busy
    FROM per_session AS p
    JOIN ref_users AS u USING (user_id)
    LEFT JOIN money AS m USING (user_id, start_time)
),
flagged AS (
    SELECT
        *,
        list_filter([
            CASE WHEN is_bot THEN 'bot_user_agent' END,
            CASE WHEN busy THEN 'events_per_minute' END,
            CASE WHEN max_quantity > 50 THEN 'high_quantity' END,
            CASE WHEN currency = 'USD' AND max_cart_value > 10000 THEN 'high_cart_value' END,
            CASE WHEN distinct_ips >= 3 THEN 'multiple_ips' END
        ], x -> x IS NOT NULL) AS suspicious_reasons
    FROM joined
)
SELECT
    'ses_' || left(md5(user_key || '|' || CAST(epoch_us(start_time) AS VARCHAR)), 24) AS session_id,
    user_key, start_time, end_time,
    CAST(epoch(end_time) - epoch(start_time) AS BIGINT) AS duration_s,
    event_count, page_views, product_views, add_to_carts, checkouts, purchases, currency, cart_value,
    max_cart_value, revenue, value_at_risk, valued_event_ids, valued_event_values, unconverted_events,
    distinct_ips, first_page, last_page, device, browser, is_bot,
    len(suspicious_reasons) > 0 AS is_suspicious, suspicious_reasons,
    CAST(CAST(start_time AS DATE) AS VARCHAR) AS session_date,
    CAST(hour(start_time) AS VARCHAR) AS start_hour,
    user_id
FROM flagged;

CREATE OR REPLACE TEMP TABLE ref_conversion_daily AS
SELECT
    *,
    CAST(product_viewed_sessions AS DOUBLE) / nullif(viewed_sessions, 0) AS product_view_rate,
    CAST(carted_sessions AS DOUBLE) / nullif(product_viewed_sessions, 0) AS view_to_cart_rate,
    CAST(checked_out_sessions AS DOUBLE) / nullif(carted_sessions, 0) AS cart_to_checkout_rate,
    CAST(purchased_sessions AS DOUBLE) / nullif(checked_out_sessions, 0) AS checkout_to_purchase_rate,
    CAST(purchased_sessions AS DOUBLE) / nullif(viewed_sessions, 0) AS conversion_rate,
    CAST(carted_users AS DOUBLE) / nullif(product_viewed_users, 0) AS users_view_to_cart_rate
FROM (
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
        CAST(coalesce(sum(revenue) FILTER (WHERE currency = 'USD'), 0) AS DECIMAL(18, 2)) AS revenue,
        'USD' AS currency,
        count(*) FILTER (WHERE (currency <> 'USD' AND value_at_risk > 0) OR unconverted_events > 0) AS unconverted_sessions
    FROM ref_sessions
    WHERE NOT is_bot
    GROUP BY GROUPING SETS ((session_date), (session_date, device))
);

-- customer_ltv: the historic columns as sql/intermediate/int_customer_ltv_recomputed.sql computes them
CREATE OR REPLACE TEMP TABLE ref_customer_ltv AS
WITH orders AS (
    SELECT
        u.user_key, coalesce(r.order_id, r.event_id) AS order_key, min(r.event_time) AS ordered_at,
        max(CAST(coalesce(r.amount, r.cart_value, r.price * coalesce(r.quantity, 1)) AS DECIMAL(18, 2))) AS order_value,
        coalesce(max(r.currency), 'USD') AS currency
    FROM raw_events AS r
    JOIN ref_users AS u USING (user_id)
    WHERE r.event_type = 'purchase'
    GROUP BY ALL
),
customers AS (
    SELECT
        user_key, min(ordered_at) AS first_order_at, max(ordered_at) AS last_order_at, count(*) AS orders,
        CAST(sum(order_value) AS DECIMAL(18, 2)) AS revenue,
        min(currency) AS currency
    FROM orders
    GROUP BY user_key
),
measured AS (
    SELECT
        *,
        CAST(revenue / orders AS DECIMAL(18, 2)) AS average_order_value,
        CASE WHEN orders > 1 THEN (epoch(last_order_at) - epoch(first_order_at)) / 86400.0 / (orders - 1) END AS avg_days_between_orders,
        CAST(date_diff('day', CAST(first_order_at AS DATE), CAST(last_order_at AS DATE)) AS BIGINT) AS tenure_days,
        revenue AS historic_clv
    FROM customers
)
-- the historic columns only: the BG/NBD + Gamma-Gamma predictions are fitted in TypeScript, not SQL
-- (single-currency data: the bench's generated events are all USD)
SELECT * FROM measured;

-- fraud_flags: one row per rule hit
CREATE OR REPLACE TEMP TABLE ref_ip_hits AS
-- distinct IPs of a user within 10 minutes up to each event, for the users who reach 3 IPs at all
WITH multi_ip_users AS (
    SELECT user_id FROM ref_events WHERE ip IS NOT NULL GROUP BY user_id HAVING count(DISTINCT ip) >= 3
),
windows AS (
    SELECT
        user_id, event_time,
        count(DISTINCT ip) OVER (
            PARTITION BY user_id ORDER BY event_time RANGE BETWEEN INTERVAL 10 MINUTE PRECEDING AND CURRENT ROW
        ) AS ips
    FROM ref_events
    WHERE ip IS NOT NULL AND user_id IN (SELECT user_id FROM multi_ip_users)
)
SELECT * FROM windows WHERE ips >= 3;

CREATE OR REPLACE TEMP TABLE ref_fraud_flags AS
WITH rules AS (
    SELECT
        'high_cart_value' AS rule, 'event' AS level, user_id, CAST(NULL AS VARCHAR) AS session_id, event_id,
        event_time AS flagged_at, coalesce(reporting_value, 0) AS value,
        CASE WHEN reporting_value > 0 THEN [event_id] ELSE [] END AS covered_event_ids,
        CASE WHEN reporting_value > 0 THEN [reporting_value] ELSE [] END AS covered_event_values,
        json_object('cart_value', cart_value, 'currency', currency, 'reporting_cart_value', reporting_cart_value,
                    'threshold', CAST(10000 AS DOUBLE), 'ip_prefix', truncate_ip(ip)) AS evidence
    FROM ref_events
    WHERE reporting_cart_value > 10000
    UNION ALL
    SELECT
        'high_quantity', 'event', user_id, NULL, event_id, event_time, coalesce(reporting_value, 0),
        CASE WHEN reporting_value > 0 THEN [event_id] ELSE [] END,
        CASE WHEN reporting_value > 0 THEN [reporting_value] ELSE [] END,
        json_object('quantity', quantity, 'threshold', CAST(50 AS BIGINT), 'product_id', product_id)
    FROM ref_events
    WHERE quantity > 50
    UNION ALL
    SELECT
        'bot_user_agent', 'session', user_id, session_id, NULL, start_time,
        CASE WHEN currency = 'USD' THEN value_at_risk ELSE 0 END,
        CASE WHEN currency = 'USD' THEN valued_event_ids ELSE [] END,
        CASE WHEN currency = 'USD' THEN valued_event_values ELSE [] END,
        json_object('device', device, 'browser', browser, 'events', event_count)
    FROM ref_sessions
    WHERE is_bot
    UNION ALL
    SELECT
        'multiple_ips_session', 'session', user_id, session_id, NULL, start_time,
        CASE WHEN currency = 'USD' THEN value_at_risk ELSE 0 END,
        CASE WHEN currency = 'USD' THEN valued_event_ids ELSE [] END,
        CASE WHEN currency = 'USD' THEN valued_event_values ELSE [] END,
        json_object('distinct_ips', distinct_ips, 'threshold', CAST(3 AS BIGINT))
    FROM ref_sessions
    WHERE distinct_ips >= 3
    UNION ALL
    SELECT
        unnest(m.reasons), 'user_minute', m.user_id, NULL, NULL, m.minute,
        coalesce(v.value, 0), coalesce(v.ids, []), coalesce(v.amounts, []),
        json_object('events', m.events, 'total_value', m.total_value)
    FROM ref_fraud_user_minute AS m
    LEFT JOIN (
        SELECT user_id, minute, sum(reporting_value) AS value, list(event_id ORDER BY event_id) AS ids,
               list(reporting_value ORDER BY event_id) AS amounts
        FROM ref_events
        WHERE reporting_value > 0
        GROUP BY user_id, minute
    ) AS v USING (user_id, minute)
    WHERE m.is_flagged
    UNION ALL
    -- one flag per episode of hits (a new episode after more than 10 minutes without a hit)
    SELECT
        'multiple_ips_window', 'user_window', user_id, NULL, NULL,
        to_timestamp(epoch_us(min(event_time)) // 60000000 * 60), 0, [], [],
        json_object('max_distinct_ips', max(ips), 'window_minutes', CAST(10 AS BIGINT), 'until', max(event_time))
    FROM (
        SELECT
            *,
            sum(CASE WHEN coalesce(epoch_us(event_time) - epoch_us(previous) > 600000000, true) THEN 1 ELSE 0 END)
                OVER (PARTITION BY user_id ORDER BY event_time ROWS UNBOUNDED PRECEDING) AS episode
        FROM (SELECT *, lag(event_time) OVER (PARTITION BY user_id ORDER BY event_time) AS previous FROM ref_ip_hits)
    )
    GROUP BY user_id, episode
)
SELECT
    'flg_' || left(md5(concat_ws('|', rule, user_id, session_id, event_id, CAST(epoch_us(flagged_at) AS VARCHAR))), 24) AS flag_id,
    rule, level, user_id, session_id, event_id, flagged_at,
    CAST(value AS DECIMAL(18, 2)) AS value,
    'USD' AS currency,
    covered_event_ids,
    CAST(covered_event_values AS DECIMAL(18, 2)[]) AS covered_event_values,
    CAST(evidence AS VARCHAR) AS evidence,
    CAST(CAST(flagged_at AS DATE) AS VARCHAR) AS dt,
    CAST(hour(flagged_at) AS VARCHAR) AS hour
FROM rules;

ALTER TABLE ref_sessions DROP COLUMN user_id;
