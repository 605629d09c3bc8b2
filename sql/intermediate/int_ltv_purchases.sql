-- model: int_ltv_purchases
-- materialized: temp
-- depends_on: all_raw_events, scope_ltv_users
-- grain: one row per purchase event, over the whole history, of the customers this build recomputes.
SELECT
    pseudonym(user_id) AS user_key,
    order_id,
    event_id,
    event_time,
    CAST(event_value(event_type, amount, cart_value, price, quantity) AS DECIMAL(18, 2)) AS event_value
FROM all_raw_events
WHERE event_type = 'purchase' AND user_id IN (SELECT user_id FROM scope_ltv_users)
