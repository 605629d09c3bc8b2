-- stream: the micro-batch's view of one batch of events, for the live fraud rules.
-- grain: one row per non-blank input line of the batch (good and bad), in no particular order
-- (source_line = the line's position in the batch).
-- input: relation __staged_events = the output of sql/ingest/stage_events.sql over the batch's lines
-- (the batch normalizer, so live and batch agree on every field by construction), and
-- __live_agents(user_agent, is_bot): user agents already classified with isbot (as the marts do).
-- needs: macro event_value (sql/macros/event_value.sql), the marts' per-event money rule.
-- output: what src/stream/fraud-windows.ts needs; fraud_value is the ONE live definition of the money
-- an event adds to the value_per_minute rule (keep it the marts' definition: change it here).
-- user_agent only when it is a bot's or not classified yet (is_bot NULL): few strings to hand over.
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
    CAST(CAST(coalesce(event_value(s.event_type, s.amount, s.cart_value, s.price, s.quantity), 0) AS DECIMAL(18, 2)) AS DOUBLE) AS fraud_value,
    CASE WHEN s.error_reason IS NOT NULL THEN coalesce(s.error_field, 'record') || '|' || s.error_reason END AS problem
FROM __staged_events AS s
LEFT JOIN __live_agents AS a ON a.user_agent = s.user_agent
