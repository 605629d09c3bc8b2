-- model: int_fraud_high_cart_value
-- materialized: temp
-- depends_on: stg_events, int_fraud_thresholds
-- grain: one row per event whose cart total, in the reporting currency, is over marts.fraud.maxCartValue.
-- Amounts not expressible in the reporting currency (no rates file, or no rate) are not compared.
SELECT
    'high_cart_value' AS rule, 'event' AS level, e.user_id, CAST(NULL AS VARCHAR) AS session_id, e.event_id,
    e.event_time AS flagged_at, coalesce(e.reporting_value, 0) AS value,
    CASE WHEN e.reporting_value > 0 THEN [e.event_id] ELSE [] END AS covered_event_ids,
    CASE WHEN e.reporting_value > 0 THEN [e.reporting_value] ELSE [] END AS covered_event_values,
    json_object('cart_value', e.cart_value, 'currency', e.currency, 'reporting_cart_value', e.reporting_cart_value,
                'threshold', t.max_cart_value_number, 'ip_prefix', truncate_ip(e.ip)) AS evidence
FROM stg_events AS e, int_fraud_thresholds AS t
WHERE e.reporting_cart_value > t.max_cart_value
