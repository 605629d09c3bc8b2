-- model: int_ltv_purchase_events
-- materialized: temp
-- depends_on: ltv_purchase_events, ltv_purchase_users
-- grain: one row per purchase event read, of the customers of ltv_purchase_users: the purchases that
-- are new to customer_purchases. The plan provides both inputs: an incremental build that carries
-- customer_purchases forward reads the changed raw_events for the customers with a changed purchase;
-- any other build reads all of raw_events (for every customer) and rewrites customer_purchases.
-- The user key comes from ltv_purchase_users (hashed once per customer); an event without a currency
-- is in the default currency (marts.currency.default), as in stg_events.
-- parameters: $default_currency
SELECT
    k.user_key,
    e.order_id,
    e.event_id,
    e.event_time,
    coalesce(e.currency, $default_currency) AS currency,
    CAST(event_value(e.event_type, e.amount, e.cart_value, e.price, e.quantity) AS DECIMAL(18, 2)) AS event_value
FROM ltv_purchase_events AS e
JOIN ltv_purchase_users AS k USING (user_id)
WHERE e.event_type = 'purchase'
