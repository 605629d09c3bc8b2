-- check: unique_fraud_user_minute
-- severity: error
-- tables: fraud_user_minute
-- One row per user and minute.
SELECT count(*) AS checked, count(*) - count(DISTINCT (user_id, minute)) AS failing FROM fraud_user_minute
