-- model: int_customer_rfm
-- materialized: temp
-- depends_on: int_customer_ltv_history, fraud_flags, all_fraud_flags, raw_events_last_day
-- grain: one row per customer (pseudonymized user_key) with at least one purchase: the BG/NBD and
-- Gamma-Gamma inputs in days, T measured to the date of the last event in raw_events (the end of
-- observation: raw_events_last_day, which the plan reads from the files' statistics), and why a customer is left out of the fit (NULL: fitted).
-- parameters: $clv_currency
-- Left out: customers with any fraud flag ('bot' when their only flags are bot user agents,
-- 'fraud_flagged' otherwise), customers who bought in another currency or in several.
WITH observation AS (
    SELECT day AS end_day FROM raw_events_last_day
),

flagged AS (
    SELECT
        pseudonym(user_id) AS user_key,
        bool_and(rule = 'bot_user_agent') AS bot_only
    FROM all_fraud_flags
    WHERE user_id IS NOT NULL
    GROUP BY user_id
),

final AS (
    SELECT
        h.user_key,
        CAST(h.frequency AS DOUBLE) AS frequency,
        h.recency_days AS recency,
        CAST(date_diff('day', CAST(h.first_order_at AS DATE), o.end_day) AS DOUBLE) AS "T",
        h.monetary_value AS monetary,
        CASE
            WHEN f.user_key IS NOT NULL AND f.bot_only THEN 'bot'
            WHEN f.user_key IS NOT NULL THEN 'fraud_flagged'
            WHEN h.currency IS NULL THEN 'mixed_currencies'
            WHEN h.currency <> $clv_currency THEN 'other_currency'
            -- a row kept from a customer_ltv built before the model existed (the build then asks for
            -- --full-refresh): no history to fit on
            WHEN h.frequency IS NULL THEN 'needs_full_refresh'
        END AS excluded_reason
    FROM int_customer_ltv_history AS h
    CROSS JOIN observation AS o
    LEFT JOIN flagged AS f USING (user_key)
)

SELECT * FROM final ORDER BY user_key
