-- model: int_ltv_purchases
-- materialized: temp
-- depends_on: all_raw_events, scope_ltv_users
-- grain: one row per purchase event, over the whole history, of the customers this build recomputes.
-- The user key comes from scope_ltv_users (hashed once per customer); an event without a currency is in
-- the default currency (marts.currency.default), as in stg_events.
-- parameters: $default_currency
SELECT
    k.user_key,
    e.order_id,
    e.event_id,
    e.event_time,
    coalesce(e.currency, $default_currency) AS currency,
    CAST(event_value(e.event_type, e.amount, e.cart_value, e.price, e.quantity) AS DECIMAL(18, 2)) AS event_value
FROM all_raw_events AS e
JOIN scope_ltv_users AS k USING (user_id)
WHERE e.event_type = 'purchase'
