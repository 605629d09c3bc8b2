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
-- fraud_user_minute (just written: one row per user and minute over the same events of the same
-- hours) gives each minute's users and the events of its flagged users, so the events are not
-- joined to the flagged minutes one by one nor counted distinct per minute: anomalous events =
-- the events anomalous by themselves + the events of flagged user-minutes - those counted twice.
WITH event_hours AS (
    -- hours as integers (epoch hours): a join on a computed TIMESTAMPTZ costs several times more
    SELECT epoch_us(hour_start) // 3600000000 AS hour_number FROM scope_event_hours
),

events AS (
    SELECT
        utc_minute(event_time) AS minute,
        user_id,
        is_bot
            OR coalesce(reporting_cart_value > CAST($max_cart_value AS DECIMAL(18, 2)), false)
            OR coalesce(quantity > CAST($max_quantity AS BIGINT), false) AS anomalous_itself,
        epoch(arrived_at) - epoch(event_time) AS latency_s,
        epoch(received_at) - epoch(event_time) AS producer_delay_s
    FROM stg_events
    WHERE epoch_us(event_time) // 3600000000 IN (SELECT hour_number FROM event_hours)
),

per_minute AS (
    SELECT
        minute,
        count(*) AS events,
        count(*) FILTER (WHERE anomalous_itself) AS anomalous_itself,
        -- both quantiles from one sort of the minute's latencies
        quantile_cont(latency_s, [0.5, 0.95]) AS latency_quantiles,
        count(*) FILTER (WHERE producer_delay_s > CAST($late_after_minutes AS BIGINT) * 60) AS late_events
    FROM events
    GROUP BY minute
),

user_minutes AS (
    SELECT minute, user_id, events, is_flagged
    FROM fraud_user_minute_read_hours
    WHERE epoch_us(minute) // 3600000000 IN (SELECT hour_number FROM event_hours) AND user_id IS NOT NULL
),

per_minute_users AS (
    SELECT
        minute,
        count(*) AS unique_users,
        coalesce(sum(events) FILTER (WHERE is_flagged), 0) AS flagged_user_events
    FROM user_minutes
    GROUP BY minute
),

counted_twice AS (
    -- events anomalous by themselves in a flagged user-minute (few: the join reads only those)
    SELECT e.minute, count(*) AS events
    FROM events AS e
    JOIN user_minutes AS m ON e.user_id = m.user_id AND e.minute = m.minute
    WHERE e.anomalous_itself AND m.is_flagged
    GROUP BY e.minute
),

final AS (
    SELECT
        p.minute,
        p.events,
        coalesce(u.unique_users, 0) AS unique_users,
        p.anomalous_itself + coalesce(u.flagged_user_events, 0) - coalesce(c.events, 0) AS anomalous_events,
        p.latency_quantiles,
        p.late_events
    FROM per_minute AS p
    LEFT JOIN per_minute_users AS u USING (minute)
    LEFT JOIN counted_twice AS c USING (minute)
)

SELECT
    minute,
    events,
    unique_users,
    CAST(anomalous_events AS BIGINT) AS anomalous_events,
    CAST(anomalous_events AS DOUBLE) / events AS anomaly_rate,
    latency_quantiles[1] AS ingest_latency_p50_s,
    latency_quantiles[2] AS ingest_latency_p95_s,
    late_events,
    utc_date(minute) AS dt,
    utc_hour_of_day(minute) AS hour
FROM final
