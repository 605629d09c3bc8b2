-- model: stg_events
-- materialized: temp
-- depends_on: scoped_raw_events, stg_user_agents, currency_rates
-- grain: one row per landed event in the partitions this build reads.
-- parameters: $default_currency, $reporting_currency, $convert_currencies, $session_timeout_minutes
-- Adds the event's currency (the default for events without one), its money at stake and, from its
-- user agent, device, browser and the bot flag.
-- Money, defined once here (README "Money"):
--   cart_value     the running cart total after the event (a state, never summed)
--   value_at_risk  purchases: their amount (event_value); events with a cart total: how much they
--                  raise the user's cart in that currency over its previous state within the session
--                  timeout (a purchase empties the cart; a cart older than the timeout counts anew),
--                  never below 0; carts without a total: price x quantity; other events: 0
--   reporting_rate reporting-currency units per unit of the event's currency: 1 for the reporting
--                  currency, the rates file's rate of the event's date (else the latest earlier one)
--                  when converting, NULL otherwise (the amount is "unconverted", never summed in)
--   reporting_value, reporting_cart_value  value_at_risk and cart_value x reporting_rate
-- (User keys are computed per user, not per event: see scope_session_ranges and the marts.)
WITH source AS (
    -- only what the marts use: every later step carries these columns through sorts and joins
    SELECT
        event_id, event_type, user_id, event_time, received_at, ingested_at, ip, user_agent, page_url,
        product_id, quantity, price, cart_value, amount, coalesce(currency, $default_currency) AS currency, dt
    FROM scoped_raw_events
),

stateful AS (
    -- the events that set the cart state: a cart total, or a purchase (which empties the cart)
    SELECT
        *,
        lag(cart_state(event_type, cart_value)) OVER by_cart AS previous_cart,
        lag(event_time) OVER by_cart AS previous_time
    FROM source
    WHERE event_type = 'purchase' OR cart_value IS NOT NULL
    WINDOW by_cart AS (PARTITION BY user_id, currency ORDER BY event_time, event_id)
),

valued AS (
    SELECT
        * EXCLUDE (previous_cart, previous_time, lookback_us),
        -- the one definition, shared with the live fraud rules (sql/macros/event_value.sql)
        value_at_risk(
            event_type, amount, cart_value, price, quantity, previous_cart, previous_time, event_time, lookback_us
        ) AS value_at_risk
    FROM stateful, (SELECT CAST(CAST($session_timeout_minutes AS DOUBLE) * 60000000 AS BIGINT) AS lookback_us)
    UNION ALL BY NAME
    SELECT *, event_value(event_type, amount, cart_value, price, quantity) AS value_at_risk
    FROM source
    WHERE event_type = 'add_to_cart' AND cart_value IS NULL
),

rated AS (
    -- only events with money are joined to the rates
    SELECT
        v.*,
        reporting_rate(v.currency, r.rate, $reporting_currency, $convert_currencies) AS reporting_rate
    FROM valued AS v
    ASOF LEFT JOIN currency_rates AS r ON v.currency = r.currency AND v.dt >= r.rate_date
),

with_money AS (
    SELECT
        * EXCLUDE (value_at_risk),
        CAST(coalesce(value_at_risk, 0) AS DECIMAL(18, 2)) AS value_at_risk
    FROM rated
    UNION ALL BY NAME
    SELECT *, CAST(0 AS DECIMAL(18, 2)) AS value_at_risk, CAST(NULL AS DECIMAL(18, 9)) AS reporting_rate
    FROM source
    WHERE event_type <> 'purchase' AND cart_value IS NULL AND event_type <> 'add_to_cart'
),

enriched AS (
    SELECT
        m.* EXCLUDE (ingested_at, user_agent, reporting_rate),
        m.reporting_rate,
        CAST(m.value_at_risk * m.reporting_rate AS DECIMAL(18, 2)) AS reporting_value,
        CAST(m.cart_value * m.reporting_rate AS DECIMAL(18, 2)) AS reporting_cart_value,
        coalesce(agents.device, 'unknown') AS device,
        coalesce(agents.browser, 'unknown') AS browser,
        coalesce(agents.is_bot, false) AS is_bot,
        coalesce(m.received_at, m.ingested_at) AS arrived_at
    FROM with_money AS m
    LEFT JOIN stg_user_agents AS agents USING (user_agent)
)

SELECT * FROM enriched
