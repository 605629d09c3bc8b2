-- The demo's PIPELINE RESULTS, read from the marts.
-- grain: one row.
-- anomalies: users with at least one fraud flag; fraud value: the value at risk (reporting currency)
-- of the distinct cart and purchase events the flags cover (an event hit by several rules counts once); conversion: sessions that
-- added to cart / sessions that viewed a product, over all days, all devices, bots excluded.
WITH flagged_events AS (
    -- an event's value at risk is the same in every flag that covers it
    SELECT DISTINCT unnest(covered_event_ids) AS event_id, unnest(covered_event_values) AS value FROM fraud_flags
),

flagged_value AS (
    SELECT coalesce(sum(value), 0) AS value FROM flagged_events
),

funnel AS (
    SELECT sum(carted_sessions) AS carted, sum(product_viewed_sessions) AS viewed
    FROM conversion_daily
    WHERE device = 'all'
),

final AS (
    SELECT
        (SELECT count(*) FROM raw_events) AS events_processed,
        (SELECT count(DISTINCT user_id) FROM fraud_flags) AS anomalies_detected,
        (SELECT coalesce(list(DISTINCT user_id ORDER BY user_id), []) FROM fraud_flags) AS anomalous_users,
        (SELECT value FROM flagged_value) AS fraud_value_flagged,
        (SELECT CASE WHEN viewed = 0 THEN NULL ELSE round(carted / viewed, 4) END FROM funnel) AS view_to_cart_rate,
        (SELECT count(*) FROM fraud_flags) AS flags
)

SELECT * FROM final;
