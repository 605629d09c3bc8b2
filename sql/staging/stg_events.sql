-- model: stg_events
-- materialized: temp
-- depends_on: scoped_raw_events, bot_user_agents
-- grain: one row per landed event in the partitions this build reads.
-- Adds the event's monetary value, device, browser and the bot flag (isbot, computed per distinct
-- user agent before the build).
WITH source AS (
    -- only what the marts use: every later step carries these columns through sorts and joins
    SELECT
        event_id, event_type, user_id, event_time, received_at, ingested_at, ip, user_agent, page_url,
        product_id, quantity, price, cart_value, amount, dt
    FROM scoped_raw_events
),

enriched AS (
    SELECT
        source.* EXCLUDE (ingested_at),
        CAST(event_value(event_type, amount, cart_value, price, quantity) AS DECIMAL(18, 2)) AS event_value,
        CASE
            WHEN user_agent IS NULL THEN 'unknown'
            WHEN regexp_matches(user_agent, '(?i)ipad|tablet|kindle|silk') THEN 'tablet'
            WHEN regexp_matches(user_agent, '(?i)mobi|iphone|ipod|android') THEN 'mobile'
            ELSE 'desktop'
        END AS device,
        CASE
            WHEN user_agent IS NULL THEN 'unknown'
            WHEN contains(user_agent, 'Edg/') THEN 'Edge'
            WHEN contains(user_agent, 'OPR/') OR contains(user_agent, 'Opera') THEN 'Opera'
            WHEN contains(user_agent, 'Firefox/') THEN 'Firefox'
            WHEN contains(user_agent, 'Chrome/') OR contains(user_agent, 'CriOS/') THEN 'Chrome'
            WHEN contains(user_agent, 'Safari/') THEN 'Safari'
            ELSE 'other'
        END AS browser,
        coalesce(bots.is_bot, false) AS is_bot,
        coalesce(received_at, ingested_at) AS arrived_at
    FROM source
    LEFT JOIN bot_user_agents AS bots USING (user_agent)
)

SELECT * FROM enriched
