-- model: int_fraud_flags_recomputed
-- materialized: temp
-- depends_on: int_fraud_high_cart_value, int_fraud_high_quantity, int_fraud_bot_user_agent, int_fraud_multiple_ips_session, int_fraud_per_minute, int_fraud_multiple_ips_window, int_fraud_thresholds, scope_flag_hours, scoped_users
-- grain: one row per rule hit of the flag hours this build replaces, by the users whose events it
-- reads in every hour it reads (scoped_users: every user with an event in an hour whose per-event
-- figures can change, and every user whose sessions it recomputes; every user in a full build).
-- The rules' union as fraud_flags holds it (fraud_flags adds the other users' flags of those hours,
-- kept: their events, sessions and minutes did not change, and only their own are not all read).
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
  AND r.user_id IN (SELECT user_id FROM scoped_users)
