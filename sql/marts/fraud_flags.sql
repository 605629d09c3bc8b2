-- model: fraud_flags
-- materialized: delta
-- depends_on: int_fraud_flags_recomputed, existing_fraud_flags, scoped_users, scope_flag_hours
-- partition_by: dt, hour
-- scope: scope_flag_hours
-- unique_key: flag_id
-- grain: one row per rule hit: per event (cart value, quantity), per session (bot user agent,
-- multiple IPs; from the sessions mart), per user-minute (events or value per minute), per user and
-- sliding window (multiple IPs). Partitioned by the date and hour of flagged_at.
-- Each rule is its own model (sql/intermediate/int_fraud_<rule>.sql; the thresholds are cast once in
-- int_fraud_thresholds); int_fraud_flags_recomputed unions them for the users whose events the build
-- reads whole (scoped_users), and this mart keeps the other users' flags of the hours it replaces
-- (existing_fraud_flags: as the build found them).
-- value = the value at risk the flag covers (stg_events.value_at_risk: cart increases plus
-- purchases), in the reporting currency (`currency`); covered_event_ids names those events and
-- covered_event_values their values, so "fraud value flagged" counts each event once however many
-- rules hit it. Thresholds are in the reporting currency: amounts not expressible in it (no rates
-- file, or no rate) are neither compared nor covered.
SELECT * FROM int_fraud_flags_recomputed
UNION ALL BY NAME
SELECT *
FROM existing_fraud_flags
WHERE utc_hour(flagged_at) IN (SELECT hour_start FROM scope_flag_hours)
  AND user_id NOT IN (SELECT user_id FROM scoped_users)
