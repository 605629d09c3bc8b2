-- model: int_fraud_multiple_ips_session
-- materialized: temp
-- depends_on: int_fraud_flagged_sessions
-- grain: one row per session with at least marts.fraud.multiIpThreshold distinct IPs.
SELECT
    'multiple_ips_session' AS rule, 'session' AS level, user_id, session_id, CAST(NULL AS VARCHAR) AS event_id,
    start_time AS flagged_at, value_at_risk AS value, valued_event_ids AS covered_event_ids,
    valued_event_values AS covered_event_values,
    json_object('distinct_ips', distinct_ips, 'threshold', multi_ip_threshold) AS evidence
FROM int_fraud_flagged_sessions
WHERE distinct_ips >= multi_ip_threshold
