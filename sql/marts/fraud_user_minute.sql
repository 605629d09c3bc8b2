-- model: fraud_user_minute
-- materialized: delta
-- depends_on: stg_events, scope_event_hours
-- partition_by: dt, hour
-- scope: scope_event_hours
-- unique_key: user_id, minute
-- grain: one row per user per event-time minute: the seed's real-time fraud query as a batch mart.
-- parameters: $max_events_per_minute, $max_value_per_minute, $reporting_currency
-- total_value = the user's value at risk in the minute, in the reporting currency (`currency`): the
-- increase of their cart state plus their purchases (stg_events.value_at_risk), never the sum of
-- running cart totals. Amounts that cannot be expressed in the reporting currency (no rates file,
-- or no rate) are not added nor compared with the threshold: unconverted_events counts them.
WITH scoped AS (
    -- hours as integers (epoch hours): a join on a computed TIMESTAMPTZ costs more per event
    SELECT * FROM stg_events
    WHERE epoch_us(event_time) // 3600000000 IN (SELECT epoch_us(hour_start) // 3600000000 FROM scope_event_hours)
),

per_minute AS (
    SELECT
        user_id,
        utc_minute(event_time) AS minute,
        count(*) AS events,
        CAST(coalesce(sum(reporting_value), 0) AS DECIMAL(18, 2)) AS total_value,
        count(*) FILTER (WHERE value_at_risk > 0 AND reporting_value IS NULL) AS unconverted_events,
        -- = count(DISTINCT ip) (list_distinct drops NULLs), cheaper over millions of small groups
        len(list_distinct(list(ip))) AS distinct_ips,
        bool_or(is_bot) AS is_bot
    FROM scoped
    GROUP BY user_id, utc_minute(event_time)
)

SELECT
    user_id,
    minute,
    events,
    total_value,
    CAST($reporting_currency AS VARCHAR) AS currency,
    unconverted_events,
    distinct_ips,
    is_bot,
    events > CAST($max_events_per_minute AS BIGINT) OR total_value > CAST($max_value_per_minute AS DECIMAL(18, 2)) AS is_flagged,
    list_filter([
        CASE WHEN events > CAST($max_events_per_minute AS BIGINT) THEN 'events_per_minute' END,
        CASE WHEN total_value > CAST($max_value_per_minute AS DECIMAL(18, 2)) THEN 'value_per_minute' END
    ], reason -> reason IS NOT NULL) AS reasons,
    utc_date(minute) AS dt,
    utc_hour_of_day(minute) AS hour
FROM per_minute
