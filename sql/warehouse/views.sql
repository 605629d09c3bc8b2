-- Analyst views over the loaded marts, for both warehouses (plain SQL both accept).
-- One statement per block, separated by a line holding only ';'.

-- user_sessions: the seed's table shape, as a view over sessions.
CREATE OR REPLACE VIEW user_sessions AS
SELECT
    session_id,
    user_key,
    start_time AS session_start,
    end_time AS session_end,
    duration_s AS session_duration_seconds,
    event_count,
    page_views,
    add_to_carts AS cart_additions,
    purchases,
    revenue AS total_revenue,
    device,
    browser,
    is_bot,
    is_suspicious,
    session_date
FROM sessions
;
-- daily_kpis: one row per day, every device.
CREATE OR REPLACE VIEW daily_kpis AS
SELECT
    session_date,
    sessions,
    users,
    product_viewed_sessions,
    carted_sessions,
    purchased_sessions,
    revenue,
    view_to_cart_rate,
    conversion_rate
FROM conversion_daily
WHERE device = 'all'
;
-- fraud_alerts: every rule hit, newest first.
CREATE OR REPLACE VIEW fraud_alerts AS
SELECT flagged_at, rule, level, user_id, session_id, event_id, value, evidence
FROM fraud_flags
