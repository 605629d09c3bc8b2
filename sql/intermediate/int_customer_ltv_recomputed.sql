-- model: int_customer_ltv_recomputed
-- materialized: temp
-- depends_on: int_ltv_purchases
-- grain: one row per customer (pseudonymized user_key) in scope with at least one purchase.
-- parameters: $clv_currency
-- The historic figures (the seed's SUM(amount)/AVG(days_between_orders)*365 counted spend twice and
-- divided by zero for one-order customers; its frequency extrapolation is gone, replaced by the
-- BG/NBD + Gamma-Gamma predictions of customer_ltv):
--   average_order_value      = revenue / orders
--   avg_days_between_orders  = (last_order - first_order) in days / (orders - 1); NULL for one order
--   historic_clv             = revenue to date
-- and the customer's purchase history as the models need it, per purchase day (several orders on
-- one day are one purchase, as in Fader, Hardie & Lee; same definitions as sql/clv/rfm_summary.sql):
--   frequency = purchase days after the first; recency_days = first to last purchase day;
--   monetary_value = mean value of the repeat purchase days (0 without repeats).
-- Money: purchases carry their currency (the default currency when they had none: int_ltv_purchases);
-- `currency` is the customer's one currency, and revenue, average_order_value, historic_clv and
-- monetary_value are in it; for a customer who bought in several currencies they are all NULL
-- (amounts of different currencies are never added) and the model leaves the customer out.
WITH orders AS (
    -- one row per order: events of the same order id (or same event, without an id) count once
    SELECT
        user_key,
        coalesce(order_id, event_id) AS order_key,
        min(event_time) AS ordered_at,
        max(event_value) AS order_value,
        coalesce(max(currency), $clv_currency) AS currency
    FROM int_ltv_purchases
    GROUP BY user_key, coalesce(order_id, event_id)
),

purchase_days AS (
    SELECT
        user_key,
        CAST(ordered_at AS DATE) AS day,
        sum(order_value) AS day_value,
        min(currency) AS currency,
        count(DISTINCT currency) AS currencies,
        min(CAST(ordered_at AS DATE)) OVER (PARTITION BY user_key) AS first_day
    FROM orders
    GROUP BY user_key, CAST(ordered_at AS DATE)
),

rfm AS (
    SELECT
        user_key,
        CAST(count(*) - 1 AS BIGINT) AS frequency,
        CAST(date_diff('day', min(first_day), max(day)) AS DOUBLE) AS recency_days,
        CASE WHEN count(DISTINCT currency) = 1 AND max(currencies) = 1
            THEN coalesce(CAST(avg(day_value) FILTER (WHERE day > first_day) AS DOUBLE), 0)
        END AS monetary_value
    FROM purchase_days
    GROUP BY user_key
),

per_customer AS (
    SELECT
        user_key,
        min(ordered_at) AS first_order_at,
        max(ordered_at) AS last_order_at,
        count(*) AS orders,
        -- amounts of different currencies are never added: NULL money for a several-currency customer
        CASE WHEN count(DISTINCT currency) = 1 THEN CAST(sum(order_value) AS DECIMAL(18, 2)) END AS revenue,
        CASE WHEN count(DISTINCT currency) = 1 THEN any_value(currency) END AS currency
    FROM orders
    GROUP BY user_key
),

final AS (
    SELECT
        p.user_key, p.first_order_at, p.last_order_at, p.orders, p.revenue, p.currency,
        CAST(p.revenue / p.orders AS DECIMAL(18, 2)) AS average_order_value,
        CASE WHEN p.orders > 1
            THEN (epoch(p.last_order_at) - epoch(p.first_order_at)) / 86400.0 / (p.orders - 1)
        END AS avg_days_between_orders,
        CAST(date_diff('day', CAST(p.first_order_at AS DATE), CAST(p.last_order_at AS DATE)) AS BIGINT) AS tenure_days,
        p.revenue AS historic_clv,
        r.frequency, r.recency_days, r.monetary_value
    FROM per_customer AS p
    JOIN rfm AS r USING (user_key)
)

SELECT * FROM final
