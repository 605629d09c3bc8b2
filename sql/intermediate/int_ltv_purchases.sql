-- model: int_ltv_purchases
-- materialized: temp
-- depends_on: int_ltv_purchase_events, existing_customer_purchases, scope_ltv_users
-- grain: one row per purchase event, over the whole history, of the customers this build recomputes:
-- their purchases carried in customer_purchases (existing_customer_purchases: empty when the build
-- reads all of raw_events instead) and those read now (int_ltv_purchase_events).
SELECT user_key, order_id, event_id, event_time, currency, event_value
FROM existing_customer_purchases
WHERE user_key IN (SELECT user_key FROM scope_ltv_users)
UNION ALL
SELECT user_key, order_id, event_id, event_time, currency, event_value
FROM int_ltv_purchase_events
WHERE user_key IN (SELECT user_key FROM scope_ltv_users)
