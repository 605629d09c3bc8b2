-- model: scope_ltv_users
-- depends_on: changed_raw_events
-- grain: one row per customer with a changed purchase: the customer_ltv rows this build recomputes.
SELECT user_id, pseudonym(user_id) AS user_key
FROM (SELECT DISTINCT user_id FROM changed_raw_events WHERE event_type = 'purchase')
