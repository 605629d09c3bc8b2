-- The demo's PIPELINE RESULTS, read from the marts.
-- grain: one row.
-- anomalies: users with at least one fraud flag; fraud value: the value of the distinct carts and
-- purchases the flags cover (an event hit by several rules counts once); conversion: sessions that
-- added to cart / sessions that viewed a product, over all days, all devices, bots excluded.
WITH flagged_events AS (
    SELECT DISTINCT unnest(covered_event_ids) AS event_id FROM fraud_flags
),

flagged_value AS (
    SELECT coalesce(sum(event_value(e.event_type, e.amount, e.cart_value, e.price, e.quantity)), 0) AS value
    FROM raw_events AS e
    WHERE e.event_id IN (SELECT event_id FROM flagged_events)
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
