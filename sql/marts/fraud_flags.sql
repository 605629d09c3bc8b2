-- model: fraud_flags
-- materialized: delta
-- depends_on: stg_events, sessions, fraud_user_minute, scope_flag_hours, scope_session_ranges
-- partition_by: dt, hour
-- scope: scope_flag_hours
-- unique_key: flag_id
-- grain: one row per rule hit: per event (cart value, quantity), per session (bot user agent,
-- multiple IPs; from the sessions mart), per user-minute (events or value per minute), per user and
-- sliding window (multiple IPs). Partitioned by the date and hour of flagged_at.
-- value = the value at risk the flag covers (stg_events.value_at_risk: cart increases plus
-- purchases), in the reporting currency (`currency`); covered_event_ids names those events and
-- covered_event_values their values, so "fraud value flagged" counts each event once however many
-- rules hit it. Thresholds are in the reporting currency: amounts not expressible in it (no rates
-- file, or no rate) are neither compared nor covered.
-- parameters: $max_cart_value, $max_quantity, $multi_ip_threshold, $multi_ip_window_minutes, $reporting_currency
-- stg_events is read directly by each step (a temp table): a CTE over it would be materialized, a
-- copy of every event and column.
WITH valued AS (
    SELECT * FROM stg_events WHERE reporting_value > 0
),

event_rules AS (
    SELECT
        'high_cart_value' AS rule, 'event' AS level, user_id, CAST(NULL AS VARCHAR) AS session_id, event_id,
        event_time AS flagged_at, coalesce(reporting_value, 0) AS value,
        CASE WHEN reporting_value > 0 THEN [event_id] ELSE [] END AS covered_event_ids,
        CASE WHEN reporting_value > 0 THEN [reporting_value] ELSE [] END AS covered_event_values,
        json_object('cart_value', cart_value, 'currency', currency, 'reporting_cart_value', reporting_cart_value,
                    'threshold', CAST($max_cart_value AS DOUBLE), 'ip_prefix', truncate_ip(ip)) AS evidence
    FROM stg_events
    WHERE reporting_cart_value > CAST($max_cart_value AS DECIMAL(18, 2))
    UNION ALL
    SELECT
        'high_quantity', 'event', user_id, NULL, event_id, event_time, coalesce(reporting_value, 0),
        CASE WHEN reporting_value > 0 THEN [event_id] ELSE [] END,
        CASE WHEN reporting_value > 0 THEN [reporting_value] ELSE [] END,
        json_object('quantity', quantity, 'threshold', CAST($max_quantity AS BIGINT), 'product_id', product_id)
    FROM stg_events
    WHERE quantity > CAST($max_quantity AS BIGINT)
),

flagged_sessions AS (
    -- sessions hold only the pseudonymized user_key: the risk team needs the user id back, from
    -- the session's own events (its start hour is always read). A session's money is in its own
    -- currency: it covers value only when that is the reporting currency.
    SELECT
        s.* EXCLUDE (value_at_risk, valued_event_ids, valued_event_values),
        CASE WHEN s.currency = $reporting_currency THEN s.value_at_risk ELSE 0 END AS value_at_risk,
        CASE WHEN s.currency = $reporting_currency THEN s.valued_event_ids ELSE [] END AS valued_event_ids,
        CASE WHEN s.currency = $reporting_currency THEN s.valued_event_values ELSE [] END AS valued_event_values,
        k.user_id
    FROM sessions AS s
    JOIN (
        -- keys hashed once by the plan for the users in scope (every user in a full build); only
        -- the other users of the events read are hashed here
        SELECT user_id, user_key FROM scope_session_ranges
        UNION ALL
        SELECT user_id, pseudonym(user_id)
        FROM (SELECT DISTINCT user_id FROM stg_events WHERE user_id NOT IN (SELECT user_id FROM scope_session_ranges))
    ) AS k USING (user_key)
    WHERE (is_bot OR distinct_ips >= CAST($multi_ip_threshold AS BIGINT))
      AND utc_hour(start_time) IN (SELECT hour_start FROM scope_flag_hours)
),

session_rules AS (
    SELECT
        'bot_user_agent' AS rule, 'session' AS level, user_id, session_id, CAST(NULL AS VARCHAR) AS event_id,
        start_time AS flagged_at, value_at_risk AS value, valued_event_ids AS covered_event_ids,
        valued_event_values AS covered_event_values,
        json_object('device', device, 'browser', browser, 'events', event_count) AS evidence
    FROM flagged_sessions
    WHERE is_bot
    UNION ALL
    SELECT
        'multiple_ips_session', 'session', user_id, session_id, NULL, start_time, value_at_risk, valued_event_ids,
        valued_event_values,
        json_object('distinct_ips', distinct_ips, 'threshold', CAST($multi_ip_threshold AS BIGINT))
    FROM flagged_sessions
    WHERE distinct_ips >= CAST($multi_ip_threshold AS BIGINT)
),

flagged_minutes AS (
    SELECT * FROM fraud_user_minute WHERE is_flagged
),

minute_values AS (
    SELECT m.user_id, m.minute, coalesce(sum(v.reporting_value), 0) AS value,
           coalesce(list(v.event_id ORDER BY v.event_id) FILTER (WHERE v.event_id IS NOT NULL), []) AS ids,
           coalesce(list(v.reporting_value ORDER BY v.event_id) FILTER (WHERE v.event_id IS NOT NULL), []) AS amounts
    FROM flagged_minutes AS m
    LEFT JOIN valued AS v ON v.user_id = m.user_id AND utc_minute(v.event_time) = m.minute
    GROUP BY m.user_id, m.minute
),

minute_rules AS (
    SELECT
        unnest(m.reasons) AS rule, 'user_minute' AS level, m.user_id, CAST(NULL AS VARCHAR) AS session_id,
        CAST(NULL AS VARCHAR) AS event_id, m.minute AS flagged_at, v.value, v.ids AS covered_event_ids,
        v.amounts AS covered_event_values,
        json_object('events', m.events, 'total_value', m.total_value) AS evidence
    FROM flagged_minutes AS m
    JOIN minute_values AS v ON m.user_id = v.user_id AND m.minute = v.minute
),

ip_buckets AS (
    -- a sliding window of W minutes lies within two consecutive W-minute buckets, so only users
    -- whose IPs over some bucket pair reach the threshold can trip the rule: few users, few events.
    -- Buckets are numbered by epoch-microsecond division (any alignment works; no ICU calendar).
    SELECT user_id, epoch_us(event_time) // window_us AS bucket, list(DISTINCT ip) AS ips
    FROM stg_events, (SELECT CAST($multi_ip_window_minutes AS BIGINT) * 60000000 AS window_us)
    WHERE ip IS NOT NULL
    GROUP BY ALL
),

candidate_buckets AS (
    SELECT a.user_id, a.bucket
    FROM ip_buckets AS a
    LEFT JOIN ip_buckets AS b ON a.user_id = b.user_id AND b.bucket = a.bucket - 1
    WHERE len(list_distinct(list_concat(a.ips, coalesce(b.ips, [])))) >= CAST($multi_ip_threshold AS BIGINT)
),

window_buckets AS (
    -- the buckets whose events a candidate bucket's windows read: itself and the one before
    SELECT user_id, bucket, bool_or(in_candidate) AS in_candidate
    FROM (
        SELECT user_id, bucket, true AS in_candidate FROM candidate_buckets
        UNION ALL
        SELECT user_id, bucket - 1, false FROM candidate_buckets
    )
    GROUP BY user_id, bucket
),

candidate_events AS (
    -- the events of candidate users only, then of their window buckets (an equi-join on a few rows)
    SELECT e.user_id, e.event_time, e.ip, epoch_us(e.event_time) // w.window_us AS bucket
    FROM stg_events AS e, (SELECT CAST($multi_ip_window_minutes AS BIGINT) * 60000000 AS window_us) AS w
    WHERE e.ip IS NOT NULL AND e.user_id IN (SELECT DISTINCT user_id FROM candidate_buckets)
),

ip_windows AS (
    SELECT
        e.user_id, e.event_time, e.ip, b.in_candidate,
        count(DISTINCT e.ip) OVER (
            PARTITION BY e.user_id ORDER BY e.event_time
            RANGE BETWEEN to_minutes(CAST($multi_ip_window_minutes AS BIGINT)) PRECEDING AND CURRENT ROW
        ) AS ips_in_window
    FROM candidate_events AS e
    JOIN window_buckets AS b USING (user_id, bucket)
),

window_hits AS (
    -- events at which the window holds too many IPs, grouped into episodes (a new episode after a
    -- quiet gap longer than the window), so a long multi-IP spell is one flag, not one per minute
    SELECT
        user_id, event_time, ips_in_window,
        sum(CASE WHEN previous_hit IS NULL
                   OR epoch_us(event_time) - epoch_us(previous_hit) > CAST($multi_ip_window_minutes AS BIGINT) * 60000000
                 THEN 1 ELSE 0 END) OVER (PARTITION BY user_id ORDER BY event_time ROWS UNBOUNDED PRECEDING) AS episode
    FROM (
        SELECT user_id, event_time, ips_in_window, lag(event_time) OVER (PARTITION BY user_id ORDER BY event_time) AS previous_hit
        FROM ip_windows
        WHERE in_candidate AND ips_in_window >= CAST($multi_ip_threshold AS BIGINT)
    )
),

window_rules AS (
    SELECT
        'multiple_ips_window' AS rule, 'user_window' AS level, user_id, CAST(NULL AS VARCHAR) AS session_id,
        CAST(NULL AS VARCHAR) AS event_id, utc_minute(min(event_time)) AS flagged_at,
        CAST(0 AS DECIMAL(18, 2)) AS value, CAST([] AS VARCHAR[]) AS covered_event_ids,
        CAST([] AS DECIMAL(18, 2)[]) AS covered_event_values,
        json_object('max_distinct_ips', max(ips_in_window), 'window_minutes', CAST($multi_ip_window_minutes AS BIGINT),
                    'until', max(event_time)) AS evidence
    FROM window_hits
    GROUP BY user_id, episode
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
    CAST($reporting_currency AS VARCHAR) AS currency,
    covered_event_ids,
    CAST(covered_event_values AS DECIMAL(18, 2)[]) AS covered_event_values,
    CAST(evidence AS VARCHAR) AS evidence,
    utc_date(flagged_at) AS dt,
    utc_hour_of_day(flagged_at) AS hour
FROM all_rules
WHERE utc_hour(flagged_at) IN (SELECT hour_start FROM scope_flag_hours)
