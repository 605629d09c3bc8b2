-- check: unique_customer_ltv
-- severity: error
-- tables: customer_ltv
-- One row per customer.
SELECT count(*) AS checked, count(*) - count(DISTINCT user_key) AS failing FROM customer_ltv
