-- The RFM summary the BG/NBD and Gamma-Gamma models fit on, from clv_orders(customer_id, ordered_at,
-- order_value) up to $observation_end, in units of $period_days days (1 = days, 7 = weeks).
-- grain: one row per customer with a purchase on or before $observation_end.
-- Purchases are counted per day (several orders the same day are one purchase, as in the paper):
--   frequency = purchase days after the first; recency = first to last purchase day;
--   T = first purchase day to $observation_end; monetary = mean value of the repeat purchase days.
WITH days AS (
    SELECT customer_id, CAST(ordered_at AS DATE) AS day, sum(order_value) AS day_value
    FROM clv_orders
    WHERE CAST(ordered_at AS DATE) <= CAST(CAST($observation_end AS TIMESTAMP) AS DATE)
    GROUP BY ALL
),

ranked AS (
    SELECT *, min(day) OVER (PARTITION BY customer_id) AS first_day FROM days
),

final AS (
    SELECT
        customer_id,
        CAST(count(*) - 1 AS DOUBLE) AS frequency,
        date_diff('day', min(first_day), max(day)) / CAST($period_days AS DOUBLE) AS recency,
        date_diff('day', min(first_day), CAST(CAST($observation_end AS TIMESTAMP) AS DATE))
            / CAST($period_days AS DOUBLE) AS "T",
        coalesce(CAST(avg(day_value) FILTER (WHERE day > first_day) AS DOUBLE), 0) AS monetary
    FROM ranked
    GROUP BY customer_id
)

SELECT * FROM final ORDER BY customer_id
