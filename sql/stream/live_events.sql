-- stream: the micro-batch's view of one batch of events, for the live fraud rules.
-- grain: one row per non-blank input line of the batch (good and bad), in no particular order
-- (source_line = the line's position in the batch).
-- input: relation __staged_events = the output of sql/ingest/stage_events.sql over the batch's lines
-- (the batch normalizer, so live and batch agree on every field by construction);
-- __live_agents(user_agent, is_bot): user agents already classified with isbot (as the marts do);
-- __live_carts(user_id, currency, event_time, event_id, cart_state): each user's last cart state per
-- currency from earlier batches (the marts' lag() over all events, carried across batches);
-- currency_rates: as the marts install it (src/transforms/currency-rates.ts).
-- parameters: $default_currency, $reporting_currency, $convert_currencies, $session_timeout_minutes
-- (the marts' values), plus stage_events' own.
-- needs: macros value_at_risk, cart_state, reporting_rate (sql/macros/event_value.sql): the marts'
-- money, defined once there and used by sql/staging/stg_events.sql too.
-- output: what src/stream/fraud-windows.ts needs; fraud_value = the event's value at risk in the
-- reporting currency (0 when it cannot be expressed in it: unconverted = true), as
-- fraud_user_minute.total_value sums it; cart_state = the cart state the event leaves (to carry on).
-- user_agent only when it is a bot's or not classified yet (is_bot NULL): few strings to hand over.
WITH good AS MATERIALIZED (
    SELECT
        source_line, event_id, user_id, event_type, event_time, ip, user_agent, quantity, price, cart_value,
        amount, coalesce(currency, $default_currency) AS currency, dt
    FROM __staged_events
    WHERE error_reason IS NULL
),

cart_events AS (
    -- the batch's events that set a cart state, after the user's carried state in that currency
    SELECT source_line, user_id, currency, event_time, event_id, cart_state(event_type, cart_value) AS state
    FROM good
    WHERE event_type = 'purchase' OR cart_value IS NOT NULL
    UNION ALL
    SELECT NULL, c.user_id, c.currency, c.event_time, c.event_id, c.cart_state
    FROM __live_carts AS c
    SEMI JOIN good AS g ON g.user_id = c.user_id AND g.currency = c.currency
),

previous AS (
    SELECT
        source_line,
        state,
        lag(state) OVER by_cart AS previous_cart,
        lag(event_time) OVER by_cart AS previous_time
    FROM cart_events
    WINDOW by_cart AS (PARTITION BY user_id, currency ORDER BY event_time, event_id)
),

valued AS (
    SELECT
        g.*,
        p.state,
        value_at_risk(
            g.event_type, g.amount, g.cart_value, g.price, g.quantity, p.previous_cart, p.previous_time,
            g.event_time, CAST(CAST($session_timeout_minutes AS DOUBLE) * 60000000 AS BIGINT)
        ) AS value_at_risk
    FROM good AS g
    LEFT JOIN previous AS p ON p.source_line = g.source_line
),

rated AS (
    SELECT
        v.*,
        CAST(
            CAST(coalesce(v.value_at_risk, 0) AS DECIMAL(18, 2))
            * reporting_rate(v.currency, r.rate, $reporting_currency, $convert_currencies) AS DECIMAL(18, 2)
        ) AS reporting_value
    FROM valued AS v
    ASOF LEFT JOIN currency_rates AS r ON v.currency = r.currency AND v.dt >= r.rate_date
)

SELECT
    s.source_line,
    s.event_id,
    s.user_id,
    s.event_type,
    CAST(epoch_ms(s.event_time) AS DOUBLE) AS event_time_ms,
    s.ip,
    CASE WHEN a.is_bot IS DISTINCT FROM false THEN s.user_agent END AS user_agent,
    a.is_bot,
    s.quantity,
    CAST(s.cart_value AS DOUBLE) AS cart_value,
    s.currency,
    CAST(coalesce(m.reporting_value, 0) AS DOUBLE) AS fraud_value,
    m.reporting_value IS NULL AND coalesce(m.value_at_risk, 0) > 0 AS unconverted,
    CAST(m.state AS DOUBLE) AS cart_state,
    m.currency AS cart_currency,
    CASE WHEN s.error_reason IS NOT NULL THEN coalesce(s.error_field, 'record') || '|' || s.error_reason END AS problem
FROM __staged_events AS s
LEFT JOIN rated AS m ON m.source_line = s.source_line
LEFT JOIN __live_agents AS a ON a.user_agent = s.user_agent
