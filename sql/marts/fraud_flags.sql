-- model: fraud_flags
-- materialized: delta
-- depends_on: stg_events, sessions, fraud_user_minute, scope_flag_days
-- partition_by: dt
-- scope: scope_flag_days
-- unique_key: flag_id
-- grain: one row per rule hit: per event (cart value, quantity), per session (bot user agent,
-- multiple IPs), per user-minute (events or value per minute), per user and sliding window
-- (multiple IPs). value = the cart/purchase value the flag covers; covered_event_ids names those
-- events, so "fraud value flagged" counts each event once however many rules hit it.
-- parameters: $max_cart_value, $max_quantity, $multi_ip_threshold, $multi_ip_window_minutes
WITH events AS (
    SELECT * FROM stg_events
),

valued AS (
    SELECT * FROM events WHERE event_type IN ('add_to_cart', 'checkout', 'purchase') AND event_value > 0
),

event_rules AS (
    SELECT
        'high_cart_value' AS rule, 'event' AS level, user_id, CAST(NULL AS VARCHAR) AS session_id, event_id,
        event_time AS flagged_at, event_value AS value, [event_id] AS covered_event_ids,
        json_object('cart_value', cart_value, 'threshold', CAST($max_cart_value AS DOUBLE), 'ip', ip) AS evidence
    FROM events
    WHERE cart_value > CAST($max_cart_value AS DECIMAL(18, 2))
    UNION ALL
    SELECT
        'high_quantity', 'event', user_id, NULL, event_id, event_time, event_value,
        CASE WHEN event_value > 0 THEN [event_id] ELSE [] END,
        json_object('quantity', quantity, 'threshold', CAST($max_quantity AS BIGINT), 'product_id', product_id)
    FROM events
    WHERE quantity > CAST($max_quantity AS BIGINT)
),

flagged_sessions AS (
    SELECT * FROM sessions WHERE is_bot OR distinct_ips >= CAST($multi_ip_threshold AS BIGINT)
),

session_values AS (
    SELECT s.session_id, coalesce(sum(v.event_value), 0) AS value, list(v.event_id ORDER BY v.event_id) FILTER (WHERE v.event_id IS NOT NULL) AS ids
    FROM flagged_sessions AS s
    LEFT JOIN valued AS v ON v.user_id = s.user_id AND v.event_time BETWEEN s.start_time AND s.end_time
    GROUP BY s.session_id
),

session_rules AS (
    SELECT
        'bot_user_agent' AS rule, 'session' AS level, s.user_id, s.session_id, CAST(NULL AS VARCHAR) AS event_id,
        s.start_time AS flagged_at, v.value, coalesce(v.ids, []) AS covered_event_ids,
        json_object('device', s.device, 'browser', s.browser, 'events', s.event_count) AS evidence
    FROM flagged_sessions AS s JOIN session_values AS v ON s.session_id = v.session_id
    WHERE s.is_bot
    UNION ALL
    SELECT
        'multiple_ips_session', 'session', s.user_id, s.session_id, NULL, s.start_time, v.value, coalesce(v.ids, []),
        json_object('distinct_ips', s.distinct_ips, 'threshold', CAST($multi_ip_threshold AS BIGINT))
    FROM flagged_sessions AS s JOIN session_values AS v ON s.session_id = v.session_id
    WHERE s.distinct_ips >= CAST($multi_ip_threshold AS BIGINT)
),

flagged_minutes AS (
    SELECT * FROM fraud_user_minute WHERE is_flagged
),

minute_values AS (
    SELECT m.user_id, m.minute, coalesce(sum(v.event_value), 0) AS value,
           coalesce(list(v.event_id ORDER BY v.event_id) FILTER (WHERE v.event_id IS NOT NULL), []) AS ids
    FROM flagged_minutes AS m
    LEFT JOIN valued AS v ON v.user_id = m.user_id AND date_trunc('minute', v.event_time) = m.minute
    GROUP BY m.user_id, m.minute
),

minute_rules AS (
    SELECT
        unnest(m.reasons) AS rule, 'user_minute' AS level, m.user_id, CAST(NULL AS VARCHAR) AS session_id,
        CAST(NULL AS VARCHAR) AS event_id, m.minute AS flagged_at, v.value, v.ids AS covered_event_ids,
        json_object('events', m.events, 'total_value', m.total_value) AS evidence
    FROM flagged_minutes AS m
    JOIN minute_values AS v ON m.user_id = v.user_id AND m.minute = v.minute
),

multi_ip_users AS (
    -- only users with enough distinct IPs in a day can reach the threshold in a window
    SELECT user_id, dt FROM events WHERE ip IS NOT NULL
    GROUP BY user_id, dt HAVING count(DISTINCT ip) >= CAST($multi_ip_threshold AS BIGINT)
),

ip_windows AS (
    SELECT
        e.user_id, e.event_time, e.ip,
        count(DISTINCT e.ip) OVER (
            PARTITION BY e.user_id ORDER BY e.event_time
            RANGE BETWEEN to_minutes(CAST($multi_ip_window_minutes AS BIGINT)) PRECEDING AND CURRENT ROW
        ) AS ips_in_window
    FROM events AS e
    WHERE e.ip IS NOT NULL
      AND e.user_id IN (SELECT user_id FROM multi_ip_users)
),

window_rules AS (
    -- one flag per user and minute in which a sliding window reaches the threshold
    SELECT
        'multiple_ips_window' AS rule, 'user_window' AS level, user_id, CAST(NULL AS VARCHAR) AS session_id,
        CAST(NULL AS VARCHAR) AS event_id, date_trunc('minute', min(event_time)) AS flagged_at,
        CAST(0 AS DECIMAL(18, 2)) AS value, CAST([] AS VARCHAR[]) AS covered_event_ids,
        json_object('max_distinct_ips', max(ips_in_window), 'window_minutes', CAST($multi_ip_window_minutes AS BIGINT)) AS evidence
    FROM ip_windows
    WHERE ips_in_window >= CAST($multi_ip_threshold AS BIGINT)
    GROUP BY user_id, date_trunc('minute', event_time)
),

all_rules AS (
    SELECT * FROM event_rules
    UNION ALL SELECT * FROM session_rules
    UNION ALL SELECT * FROM minute_rules
    UNION ALL SELECT * FROM window_rules
)

SELECT
    'flg_' || left(md5(concat_ws('|', rule, user_id, session_id, event_id, CAST(epoch_us(flagged_at) AS VARCHAR))), 24) AS flag_id,
    rule,
    level,
    user_id,
    session_id,
    event_id,
    flagged_at,
    CAST(value AS DECIMAL(18, 2)) AS value,
    covered_event_ids,
    CAST(evidence AS VARCHAR) AS evidence,
    CAST(flagged_at AS DATE) AS dt
FROM all_rules
WHERE CAST(flagged_at AS DATE) IN (SELECT day FROM scope_flag_days)
