-- model: int_fraud_high_quantity
-- materialized: temp
-- depends_on: stg_events, int_fraud_thresholds
-- grain: one row per event with a quantity over marts.fraud.maxQuantity.
SELECT
    'high_quantity' AS rule, 'event' AS level, e.user_id, CAST(NULL AS VARCHAR) AS session_id, e.event_id,
    e.event_time AS flagged_at, coalesce(e.reporting_value, 0) AS value,
    CASE WHEN e.reporting_value > 0 THEN [e.event_id] ELSE [] END AS covered_event_ids,
    CASE WHEN e.reporting_value > 0 THEN [e.reporting_value] ELSE [] END AS covered_event_values,
    json_object('quantity', e.quantity, 'threshold', t.max_quantity, 'product_id', e.product_id) AS evidence
FROM stg_events AS e, int_fraud_thresholds AS t
WHERE e.quantity > t.max_quantity
