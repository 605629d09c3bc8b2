-- model: scope_conversion_kept
-- depends_on:
-- grain: one row per day and device of conversion_daily kept as counted before: none in a full
-- build (every user is recounted).
SELECT
    CAST(NULL AS DATE) AS session_date, CAST(NULL AS VARCHAR) AS device, CAST(NULL AS BIGINT) AS sessions,
    CAST(NULL AS BIGINT) AS users, CAST(NULL AS BIGINT) AS viewed_sessions,
    CAST(NULL AS BIGINT) AS product_viewed_sessions, CAST(NULL AS BIGINT) AS carted_sessions,
    CAST(NULL AS BIGINT) AS checked_out_sessions, CAST(NULL AS BIGINT) AS purchased_sessions,
    CAST(NULL AS BIGINT) AS viewed_users, CAST(NULL AS BIGINT) AS product_viewed_users,
    CAST(NULL AS BIGINT) AS carted_users, CAST(NULL AS BIGINT) AS checked_out_users,
    CAST(NULL AS BIGINT) AS purchased_users, CAST(NULL AS DECIMAL(18, 2)) AS revenue,
    CAST(NULL AS BIGINT) AS unconverted_sessions
WHERE false
