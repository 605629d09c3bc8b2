-- model: customer_ltv
-- materialized: delta
-- depends_on: int_customer_ltv_recomputed, existing_customer_ltv, scope_ltv_users
-- unique_key: user_key
-- grain: one row per customer (pseudonymized user_key) with at least one purchase. See int_customer_ltv_recomputed for the
-- formulas; this keeps the customers this build did not touch.
SELECT * FROM int_customer_ltv_recomputed
UNION ALL BY NAME
SELECT * FROM existing_customer_ltv
WHERE user_key NOT IN (SELECT user_key FROM scope_ltv_users)
