-- model: int_fraud_thresholds
-- materialized: temp
-- depends_on:
-- grain: one row: the fraud rules' parameters, each cast once to the type the rules compare in.
-- parameters: $max_cart_value, $max_quantity, $multi_ip_threshold, $multi_ip_window_minutes, $reporting_currency
-- Thresholds are in the reporting currency (README "Money").
SELECT
    CAST($max_cart_value AS DECIMAL(18, 2)) AS max_cart_value,
    -- as configured, for the evidence (the comparison is in cents)
    CAST($max_cart_value AS DOUBLE) AS max_cart_value_number,
    CAST($max_quantity AS BIGINT) AS max_quantity,
    CAST($multi_ip_threshold AS BIGINT) AS multi_ip_threshold,
    CAST($multi_ip_window_minutes AS BIGINT) AS multi_ip_window_minutes,
    CAST($multi_ip_window_minutes AS BIGINT) * 60000000 AS multi_ip_window_us,
    CAST($reporting_currency AS VARCHAR) AS reporting_currency
