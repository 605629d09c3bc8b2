-- model: int_fraud_multiple_ips_window
-- materialized: temp
-- depends_on: stg_events, int_fraud_thresholds
-- grain: one row per episode of a user's events with at least marts.fraud.multiIpThreshold distinct
-- IPs within a sliding marts.fraud.multiIpWindowMinutes (a new episode after a quiet gap longer
-- than the window), so a long multi-IP spell is one flag, not one per minute.
-- parameters: $multi_ip_threshold
WITH ip_buckets AS (
    -- a sliding window of W minutes lies within two consecutive W-minute buckets, so only users
    -- whose IPs over some bucket pair reach the threshold can trip the rule: few users, few events.
    -- Buckets are numbered by epoch-microsecond division (any alignment works; no ICU calendar).
    SELECT e.user_id, epoch_us(e.event_time) // t.multi_ip_window_us AS bucket, list(DISTINCT e.ip) AS ips
    FROM stg_events AS e, int_fraud_thresholds AS t
    WHERE e.ip IS NOT NULL
    GROUP BY ALL
),

candidate_buckets AS (
    SELECT a.user_id, a.bucket
    FROM ip_buckets AS a
    LEFT JOIN ip_buckets AS b ON a.user_id = b.user_id AND b.bucket = a.bucket - 1
    -- the bound parameter, not int_fraud_thresholds' column: against a joined column DuckDB ran the
    -- test as a nested-loop join over every bucket pair; first the cheap bound (the two buckets'
    -- IPs together), then the exact count only where it can reach the threshold
    WHERE len(a.ips) + len(coalesce(b.ips, [])) >= CAST($multi_ip_threshold AS BIGINT)
      AND len(list_distinct(list_concat(a.ips, coalesce(b.ips, [])))) >= CAST($multi_ip_threshold AS BIGINT)
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
    SELECT e.user_id, e.event_time, e.ip, epoch_us(e.event_time) // t.multi_ip_window_us AS bucket
    FROM stg_events AS e, int_fraud_thresholds AS t
    WHERE e.ip IS NOT NULL AND e.user_id IN (SELECT DISTINCT user_id FROM candidate_buckets)
),

ip_windows AS (
    SELECT
        e.user_id, e.event_time, e.ip, b.in_candidate,
        count(DISTINCT e.ip) OVER (
            PARTITION BY e.user_id ORDER BY e.event_time
            RANGE BETWEEN to_minutes(t.multi_ip_window_minutes) PRECEDING AND CURRENT ROW
        ) AS ips_in_window
    FROM candidate_events AS e
    JOIN window_buckets AS b USING (user_id, bucket)
    CROSS JOIN int_fraud_thresholds AS t
),

window_hits AS (
    -- events at which the window holds too many IPs, grouped into episodes
    SELECT
        user_id, event_time, ips_in_window,
        sum(CASE WHEN previous_hit IS NULL OR epoch_us(event_time) - epoch_us(previous_hit) > multi_ip_window_us
                 THEN 1 ELSE 0 END) OVER (PARTITION BY user_id ORDER BY event_time ROWS UNBOUNDED PRECEDING) AS episode
    FROM (
        SELECT
            w.user_id, w.event_time, w.ips_in_window, t.multi_ip_window_us,
            lag(w.event_time) OVER (PARTITION BY w.user_id ORDER BY w.event_time) AS previous_hit
        FROM ip_windows AS w, int_fraud_thresholds AS t
        WHERE w.in_candidate AND w.ips_in_window >= t.multi_ip_threshold
    )
)

SELECT
    'multiple_ips_window' AS rule, 'user_window' AS level, h.user_id, CAST(NULL AS VARCHAR) AS session_id,
    CAST(NULL AS VARCHAR) AS event_id, utc_minute(min(h.event_time)) AS flagged_at,
    CAST(0 AS DECIMAL(18, 2)) AS value, CAST([] AS VARCHAR[]) AS covered_event_ids,
    CAST([] AS DECIMAL(18, 2)[]) AS covered_event_values,
    json_object('max_distinct_ips', max(h.ips_in_window), 'window_minutes', any_value(t.multi_ip_window_minutes),
                'until', max(h.event_time)) AS evidence
FROM window_hits AS h, int_fraud_thresholds AS t
GROUP BY h.user_id, h.episode
