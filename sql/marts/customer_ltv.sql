-- model: customer_ltv
-- materialized: delta
-- depends_on: int_customer_ltv_history, int_customer_rfm, int_customer_clv_predictions
-- unique_key: user_key
-- grain: one row per customer (pseudonymized user_key) with at least one purchase: the historic
-- figures (int_customer_ltv_recomputed) and the model's predictions over marts.clv.horizonMonths
-- (int_customer_clv_predictions, written by src/transforms/clv/build-step.ts after int_customer_rfm).
-- The fit is redone on every build and every customer's predictions rewritten: T grows with the
-- data, so every prediction changes anyway, and the table is one row per customer.
SELECT
    h.user_key, h.first_order_at, h.last_order_at, h.orders, h.revenue, h.currency,
    h.average_order_value, h.avg_days_between_orders, h.tenure_days, h.historic_clv,
    h.frequency, h.recency_days, h.monetary_value,
    p.clv_status, p.prediction_horizon_months, p.predicted_purchases, p.probability_alive,
    p.expected_avg_value, p.predicted_clv
FROM int_customer_ltv_history AS h
LEFT JOIN int_customer_clv_predictions AS p USING (user_key)
