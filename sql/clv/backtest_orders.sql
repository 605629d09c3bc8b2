-- The orders of a CLV backtest: clv_orders(customer_id, ordered_at, order_value) from raw_events,
-- one row per order (events of one order id count once, as in int_customer_ltv_recomputed), for
-- the customers the model is fitted on: none flagged in clv_backtest_flagged(user_id), every
-- purchase in $currency (or without a currency).
WITH orders AS (
    SELECT
        user_id AS customer_id,
        min(event_time) AS ordered_at,
        CAST(max(event_value(event_type, amount, cart_value, price, quantity)) AS DOUBLE) AS order_value,
        coalesce(max(currency), $currency) AS currency
    FROM raw_events
    WHERE event_type = 'purchase'
    GROUP BY user_id, coalesce(order_id, event_id)
),

eligible AS (
    SELECT customer_id
    FROM orders
    WHERE customer_id NOT IN (SELECT user_id FROM clv_backtest_flagged WHERE user_id IS NOT NULL)
    GROUP BY customer_id
    HAVING bool_and(currency = $currency)
)

SELECT customer_id, ordered_at, order_value
FROM orders
WHERE customer_id IN (SELECT customer_id FROM eligible)
