-- model: int_fraud_bot_user_agent
-- materialized: temp
-- depends_on: int_fraud_flagged_sessions
-- grain: one row per session whose user agent the isbot library calls a bot.
SELECT
    'bot_user_agent' AS rule, 'session' AS level, user_id, session_id, CAST(NULL AS VARCHAR) AS event_id,
    start_time AS flagged_at, value_at_risk AS value, valued_event_ids AS covered_event_ids,
    valued_event_values AS covered_event_values,
    json_object('device', device, 'browser', browser, 'events', event_count) AS evidence
FROM int_fraud_flagged_sessions
WHERE is_bot
