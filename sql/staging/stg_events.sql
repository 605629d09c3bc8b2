-- model: stg_events
-- materialized: temp
-- depends_on: scoped_raw_events, stg_user_agents
-- grain: one row per landed event in the partitions this build reads.
-- Adds the event's monetary value and, from its user agent, device, browser and the bot flag.
-- (User keys are computed per user, not per event: see scope_session_ranges and the marts.)
WITH source AS (
    -- only what the marts use: every later step carries these columns through sorts and joins
    SELECT
        event_id, event_type, user_id, event_time, received_at, ingested_at, ip, user_agent, page_url,
        product_id, quantity, price, cart_value, amount, dt
    FROM scoped_raw_events
),

enriched AS (
    SELECT
        source.* EXCLUDE (ingested_at, user_agent),
        CAST(event_value(event_type, amount, cart_value, price, quantity) AS DECIMAL(18, 2)) AS event_value,
        coalesce(agents.device, 'unknown') AS device,
        coalesce(agents.browser, 'unknown') AS browser,
        coalesce(agents.is_bot, false) AS is_bot,
        coalesce(received_at, ingested_at) AS arrived_at
    FROM source
    LEFT JOIN stg_user_agents AS agents USING (user_agent)
)

SELECT * FROM enriched
