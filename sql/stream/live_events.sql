-- stream: the micro-batch's view of one batch of events, for the live fraud rules.
-- grain: one row per non-blank input line of the batch (good and bad), in input order.
-- input: relation __staged_events = the output of sql/ingest/stage_events.sql over the batch's lines
-- (the batch normalizer, so live and batch agree on every field by construction).
-- needs: macro event_value (sql/macros/event_value.sql), the marts' per-event money rule.
-- output: what src/stream/fraud-windows.ts needs; fraud_value is the ONE live definition of the money
-- an event adds to the value_per_minute rule (keep it the marts' definition: change it here).
SELECT
    source_line,
    event_id,
    user_id,
    event_type,
    CAST(epoch_ms(event_time) AS DOUBLE) AS event_time_ms,
    ip,
    user_agent,
    quantity,
    CAST(cart_value AS DOUBLE) AS cart_value,
    currency,
    CAST(CAST(coalesce(event_value(event_type, amount, cart_value, price, quantity), 0) AS DECIMAL(18, 2)) AS DOUBLE) AS fraud_value,
    error_field,
    error_reason
FROM __staged_events
ORDER BY source_line
