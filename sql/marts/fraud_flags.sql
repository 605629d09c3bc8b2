-- model: fraud_flags
-- materialized: delta
-- depends_on: int_fraud_high_cart_value, int_fraud_high_quantity, int_fraud_bot_user_agent, int_fraud_multiple_ips_session, int_fraud_per_minute, int_fraud_multiple_ips_window, int_fraud_thresholds, scope_flag_hours
-- partition_by: dt, hour
-- scope: scope_flag_hours
-- unique_key: flag_id
-- grain: one row per rule hit: per event (cart value, quantity), per session (bot user agent,
-- multiple IPs; from the sessions mart), per user-minute (events or value per minute), per user and
-- sliding window (multiple IPs). Partitioned by the date and hour of flagged_at.
-- Each rule is its own model (sql/intermediate/int_fraud_<rule>.sql; the thresholds are cast once in
-- int_fraud_thresholds); this mart unions them and keeps the flags of the hours this build replaces.
-- value = the value at risk the flag covers (stg_events.value_at_risk: cart increases plus
-- purchases), in the reporting currency (`currency`); covered_event_ids names those events and
-- covered_event_values their values, so "fraud value flagged" counts each event once however many
-- rules hit it. Thresholds are in the reporting currency: amounts not expressible in it (no rates
-- file, or no rate) are neither compared nor covered.
WITH all_rules AS (
    SELECT * FROM int_fraud_high_cart_value
    UNION ALL BY NAME SELECT * FROM int_fraud_high_quantity
    UNION ALL BY NAME SELECT * FROM int_fraud_bot_user_agent
    UNION ALL BY NAME SELECT * FROM int_fraud_multiple_ips_session
    UNION ALL BY NAME SELECT * FROM int_fraud_per_minute
    UNION ALL BY NAME SELECT * FROM int_fraud_multiple_ips_window
)

SELECT
    'flg_' || left(md5(concat_ws('|', r.rule, r.user_id, r.session_id, r.event_id, CAST(epoch_us(r.flagged_at) AS VARCHAR))), 24) AS flag_id,
    r.rule,
    r.level,
    r.user_id,
    r.session_id,
    r.event_id,
    r.flagged_at,
    CAST(r.value AS DECIMAL(18, 2)) AS value,
    t.reporting_currency AS currency,
    r.covered_event_ids,
    CAST(r.covered_event_values AS DECIMAL(18, 2)[]) AS covered_event_values,
    CAST(r.evidence AS VARCHAR) AS evidence,
    utc_date(r.flagged_at) AS dt,
    utc_hour_of_day(r.flagged_at) AS hour
FROM all_rules AS r, int_fraud_thresholds AS t
WHERE utc_hour(r.flagged_at) IN (SELECT hour_start FROM scope_flag_hours)
