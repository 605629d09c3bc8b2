-- The holdout of a CLV backtest: per customer who bought before $until, the purchase days from
-- $until to the last event day of raw_events (the actual repeat purchases the model predicts).
-- grain: one row per customer of the calibration period.
WITH calibration AS (
    SELECT DISTINCT customer_id FROM clv_orders WHERE ordered_at < CAST($until AS TIMESTAMP)
),

holdout AS (
    SELECT customer_id, count(DISTINCT CAST(ordered_at AS DATE)) AS purchases
    FROM clv_orders
    WHERE ordered_at >= CAST($until AS TIMESTAMP)
    GROUP BY customer_id
)

SELECT c.customer_id, CAST(coalesce(h.purchases, 0) AS DOUBLE) AS actual
FROM calibration AS c
LEFT JOIN holdout AS h USING (customer_id)
ORDER BY c.customer_id
