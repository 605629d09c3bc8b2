-- model: int_fraud_flagged_sessions
-- materialized: temp
-- depends_on: sessions, sessions_read_hours, stg_events, scope_session_ranges, scope_flag_hours, int_fraud_thresholds
-- grain: one row per session starting in a flag hour of this build that a session rule hits (a bot
-- user agent, or at least marts.fraud.multiIpThreshold distinct IPs), with its user id.
-- parameters: $multi_ip_threshold
-- Sessions hold only the pseudonymized user_key: the risk team needs the user id back, from the
-- session's own events (its start hour is always read). A session's money is in its own currency:
-- it covers value only when that is the reporting currency. sessions_read_hours: the sessions mart
-- as just written, only its hour partitions this build reads (the flag hours among them).
WITH flagged AS (
    -- the rules' test on the scan itself, with the bound parameter rather than int_fraud_thresholds'
    -- column: DuckDB then pushes it into the Parquet read, which decodes the other columns (lists of
    -- event ids among them) only for the few sessions it keeps
    SELECT *
    FROM sessions_read_hours
    WHERE (is_bot OR distinct_ips >= CAST($multi_ip_threshold AS BIGINT))
      AND utc_hour(start_time) IN (SELECT hour_start FROM scope_flag_hours)
),

unkeyed AS (
    -- flagged sessions of users outside scope_session_ranges (none in a full build)
    SELECT user_key FROM flagged WHERE user_key NOT IN (SELECT user_key FROM scope_session_ranges)
),

user_keys AS (
    -- keys hashed once by the plan for the users in scope (every user in a full build); the other
    -- users of the events read are hashed here, and only when a flagged session needs them
    SELECT user_id, user_key FROM scope_session_ranges
    UNION ALL
    SELECT user_id, pseudonym(user_id)
    FROM (
        SELECT DISTINCT user_id FROM stg_events
        WHERE user_id NOT IN (SELECT user_id FROM scope_session_ranges)
          AND (SELECT count(*) FROM unkeyed) > 0
    )
)

SELECT
    s.* EXCLUDE (value_at_risk, valued_event_ids, valued_event_values),
    CASE WHEN s.currency = t.reporting_currency THEN s.value_at_risk ELSE 0 END AS value_at_risk,
    CASE WHEN s.currency = t.reporting_currency THEN s.valued_event_ids ELSE [] END AS valued_event_ids,
    CASE WHEN s.currency = t.reporting_currency THEN s.valued_event_values ELSE [] END AS valued_event_values,
    t.multi_ip_threshold,
    k.user_id
FROM flagged AS s
JOIN user_keys AS k USING (user_key)
CROSS JOIN int_fraud_thresholds AS t
