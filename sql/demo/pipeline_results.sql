-- The demo's PIPELINE RESULTS, computed from raw_events (marts take this over in a later stage).
-- grain: one row. Rules as in the seed: a cart over $10,000 or a quantity over 50 is an anomaly.
-- parameters: $cart_threshold, $quantity_threshold.
WITH events AS (
    SELECT * FROM raw_events
),

anomalies AS (
    SELECT user_id, cart_value
    FROM events
    WHERE cart_value > CAST($cart_threshold AS DECIMAL(18, 2)) OR quantity > CAST($quantity_threshold AS INTEGER)
),

funnel AS (
    SELECT
        count(DISTINCT user_id) FILTER (WHERE event_type = 'product_view') AS viewers,
        count(DISTINCT user_id) FILTER (WHERE event_type = 'add_to_cart') AS carters
    FROM events
),

final AS (
    SELECT
        (SELECT count(*) FROM events) AS events_processed,
        (SELECT count(*) FROM anomalies) AS anomalies_detected,
        (SELECT coalesce(list(DISTINCT user_id ORDER BY user_id), []) FROM anomalies) AS anomalous_users,
        (SELECT coalesce(sum(cart_value), 0) FROM anomalies) AS fraud_value_flagged,
        (SELECT CASE WHEN viewers = 0 THEN NULL ELSE round(carters / viewers, 4) END FROM funnel) AS view_to_cart_rate
)

SELECT * FROM final;
