-- model: metrics_minute
-- materialized: delta
-- depends_on: stg_events, fraud_user_minute, fraud_user_minute_read_hours, scope_event_hours
-- partition_by: dt, hour
-- scope: scope_event_hours
-- unique_key: minute
-- grain: one row per event-time minute with events.
-- An anomalous event is one from a bot user agent, with a cart over the limit or a quantity over the
-- limit (in the reporting currency), or by a user whose minute is flagged. Ingest latency = arrival (received_at, else the
-- time shopstream landed it) minus event time, in seconds. A late event is one whose producer
-- arrival time (received_at) is more than the allowed lateness after its event time; events without
-- received_at are not judged.
-- parameters: $max_cart_value, $max_quantity, $late_after_minutes
WITH events AS (
    SELECT e.*, m.user_id IS NOT NULL AS minute_flagged
    FROM stg_events AS e
    LEFT JOIN (SELECT user_id, minute FROM fraud_user_minute_read_hours WHERE is_flagged) AS m
        ON e.user_id = m.user_id AND utc_minute(e.event_time) = m.minute
    WHERE utc_hour(e.event_time) IN (SELECT hour_start FROM scope_event_hours)
),

marked AS (
    SELECT
        *,
        is_bot OR minute_flagged
            OR coalesce(reporting_cart_value > CAST($max_cart_value AS DECIMAL(18, 2)), false)
            OR coalesce(quantity > CAST($max_quantity AS BIGINT), false) AS is_anomalous,
        epoch(arrived_at) - epoch(event_time) AS latency_s,
        epoch(received_at) - epoch(event_time) AS producer_delay_s
    FROM events
)

SELECT
    utc_minute(event_time) AS minute,
    count(*) AS events,
    count(DISTINCT user_id) AS unique_users,
    count(*) FILTER (WHERE is_anomalous) AS anomalous_events,
    CAST(count(*) FILTER (WHERE is_anomalous) AS DOUBLE) / count(*) AS anomaly_rate,
    quantile_cont(latency_s, 0.5) AS ingest_latency_p50_s,
    quantile_cont(latency_s, 0.95) AS ingest_latency_p95_s,
    count(*) FILTER (WHERE producer_delay_s > CAST($late_after_minutes AS BIGINT) * 60) AS late_events,
    utc_date(utc_minute(event_time)) AS dt,
    utc_hour_of_day(utc_minute(event_time)) AS hour
FROM marked
GROUP BY utc_minute(event_time)
