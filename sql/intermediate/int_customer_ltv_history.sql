-- model: int_customer_ltv_history
-- materialized: temp
-- depends_on: int_customer_ltv_recomputed, existing_customer_ltv, scope_ltv_users
-- grain: one row per customer (pseudonymized user_key) with at least one purchase: the historic
-- figures of the customers this build recomputed, and those kept from the mart for the others.
SELECT * FROM int_customer_ltv_recomputed
UNION ALL BY NAME
SELECT * FROM existing_customer_ltv
WHERE user_key NOT IN (SELECT user_key FROM scope_ltv_users)
