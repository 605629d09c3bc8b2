-- model: stg_user_agents
-- materialized: temp
-- depends_on: user_agent_bots
-- grain: one row per distinct user agent in the partitions this build reads.
-- Device and browser from simple rules, and the bot flag from the isbot library (user_agent_bots is
-- classified in JS before the build): computed once per agent, not once per event.
SELECT
    user_agent,
    is_bot,
    CASE
        WHEN regexp_matches(user_agent, '(?i)ipad|tablet|kindle|silk') THEN 'tablet'
        WHEN regexp_matches(user_agent, '(?i)mobi|iphone|ipod|android') THEN 'mobile'
        ELSE 'desktop'
    END AS device,
    CASE
        WHEN contains(user_agent, 'Edg/') THEN 'Edge'
        WHEN contains(user_agent, 'OPR/') OR contains(user_agent, 'Opera') THEN 'Opera'
        WHEN contains(user_agent, 'Firefox/') THEN 'Firefox'
        WHEN contains(user_agent, 'Chrome/') OR contains(user_agent, 'CriOS/') THEN 'Chrome'
        WHEN contains(user_agent, 'Safari/') THEN 'Safari'
        ELSE 'other'
    END AS browser
FROM user_agent_bots
