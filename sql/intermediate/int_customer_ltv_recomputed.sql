-- model: int_customer_ltv_recomputed
-- materialized: temp
-- depends_on: int_ltv_purchases
-- grain: one row per customer (pseudonymized user_key) in scope with at least one purchase.
-- parameters: $default_orders_per_year
-- Corrected CLV (the seed's SUM(amount)/AVG(days_between_orders)*365 counts spend twice and divides
-- by zero for one-order customers):
--   average_order_value      = revenue / orders
--   avg_days_between_orders  = (last_order - first_order) in days / (orders - 1); NULL for one order
--   orders_per_year          = 365 / max(avg_days_between_orders, 1) with two or more orders;
--                              $default_orders_per_year (1) for one-order customers (no frequency yet)
--   predicted_annual_value   = average_order_value * orders_per_year
--   historic_clv             = revenue to date
WITH orders AS (
    -- one row per order: events of the same order id (or same event, without an id) count once
    SELECT
        user_key,
        coalesce(order_id, event_id) AS order_key,
        min(event_time) AS ordered_at,
        max(event_value) AS order_value
    FROM int_ltv_purchases
    GROUP BY user_key, coalesce(order_id, event_id)
),

per_customer AS (
    SELECT
        user_key,
        min(ordered_at) AS first_order_at,
        max(ordered_at) AS last_order_at,
        count(*) AS orders,
        CAST(sum(order_value) AS DECIMAL(18, 2)) AS revenue
    FROM orders
    GROUP BY user_key
),

measured AS (
    SELECT
        *,
        CAST(revenue / orders AS DECIMAL(18, 2)) AS average_order_value,
        CASE WHEN orders > 1
            THEN (epoch(last_order_at) - epoch(first_order_at)) / 86400.0 / (orders - 1)
        END AS avg_days_between_orders,
        CAST(date_diff('day', CAST(first_order_at AS DATE), CAST(last_order_at AS DATE)) AS BIGINT) AS tenure_days
    FROM per_customer
),

final AS (
    SELECT
        user_key, first_order_at, last_order_at, orders, revenue, average_order_value,
        avg_days_between_orders, tenure_days,
        revenue AS historic_clv,
        CASE WHEN orders > 1 THEN 365.0 / greatest(avg_days_between_orders, 1.0)
            ELSE CAST($default_orders_per_year AS DOUBLE)
        END AS orders_per_year
    FROM measured
)

SELECT *, CAST(average_order_value * orders_per_year AS DECIMAL(18, 2)) AS predicted_annual_value
FROM final
