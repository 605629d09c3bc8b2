-- staging: one row per input record of the batch, typed, with the first problem that disqualifies it.
-- grain: one row per non-blank source line (NDJSON) or data row (CSV).
-- input: relation __ingest_lines(source_file, line_number, raw) where raw should be a JSON object's text.
-- parameters: $ingested_at, $min_event_time, $max_event_time (ISO-8601 text, cast to TIMESTAMPTZ here).
-- output: typed rows; error_field/error_reason are NULL for good rows; raw is kept only for bad ones.
-- Hot path (every event goes through it): no per-row string copies (trim/ltrim) on good rows.
WITH lines AS (
    SELECT source_file, line_number, raw
    FROM __ingest_lines
    WHERE raw IS NOT NULL AND raw <> ''
),

parsed AS (
    SELECT
        source_file,
        line_number,
        raw,
        -- json_valid guards from_json: invalid JSON yields NULL instead of failing the batch (try()
        -- would too, but it re-runs a whole vector row by row after any error: slow on dirty input).
        CASE WHEN json_valid(raw) THEN from_json(raw, '{
            "event_id": "VARCHAR", "event_type": "VARCHAR", "user_id": "VARCHAR", "session_id": "VARCHAR",
            "timestamp": "VARCHAR", "event_time": "VARCHAR", "received_at": "VARCHAR",
            "ip": "VARCHAR", "user_agent": "VARCHAR", "page_url": "VARCHAR", "referrer": "VARCHAR",
            "product_id": "VARCHAR", "category": "VARCHAR", "quantity": "VARCHAR", "price": "VARCHAR",
            "cart_value": "VARCHAR", "order_id": "VARCHAR", "amount": "VARCHAR", "currency": "VARCHAR",
            "properties": {
                "product_id": "VARCHAR", "category": "VARCHAR", "quantity": "VARCHAR", "price": "VARCHAR",
                "cart_value": "VARCHAR", "order_id": "VARCHAR", "amount": "VARCHAR", "currency": "VARCHAR"
            }
        }') END AS j
    FROM lines
),

fields AS (
    SELECT
        source_file,
        line_number,
        raw,
        j IS NOT NULL AS is_json,
        nullif(j.event_id, '') AS event_id,
        nullif(lower(j.event_type), '') AS event_type,
        nullif(j.user_id, '') AS user_id,
        nullif(j.session_id, '') AS session_id,
        coalesce(nullif(j."timestamp", ''), nullif(j.event_time, '')) AS ts_text,
        nullif(j.received_at, '') AS received_text,
        nullif(j.ip, '') AS ip,
        nullif(j.user_agent, '') AS user_agent,
        nullif(j.page_url, '') AS page_url,
        nullif(j.referrer, '') AS referrer,
        nullif(coalesce(j.properties.product_id, j.product_id), '') AS product_id,
        nullif(coalesce(j.properties.category, j.category), '') AS category,
        nullif(coalesce(j.properties.quantity, j.quantity), '') AS quantity_text,
        nullif(coalesce(j.properties.price, j.price), '') AS price_text,
        nullif(coalesce(j.properties.cart_value, j.cart_value), '') AS cart_value_text,
        nullif(coalesce(j.properties.order_id, j.order_id), '') AS order_id,
        nullif(coalesce(j.properties.amount, j.amount), '') AS amount_text,
        nullif(upper(coalesce(j.properties.currency, j.currency)), '') AS currency
    FROM parsed
),

typed AS (
    SELECT
        *,
        CASE
            WHEN TRY_CAST(ts_text AS TIMESTAMPTZ) IS NOT NULL THEN TRY_CAST(ts_text AS TIMESTAMPTZ)
            -- epoch milliseconds (13 digits today) or seconds
            WHEN TRY_CAST(ts_text AS DOUBLE) IS NOT NULL THEN
                CASE WHEN abs(ts_text::DOUBLE) >= 1e11
                    THEN make_timestamptz(CAST(ts_text::DOUBLE * 1000 AS BIGINT))
                    ELSE make_timestamptz(CAST(ts_text::DOUBLE * 1000000 AS BIGINT))
                END
        END AS event_time,
        -- ISO-8601, or epoch milliseconds/seconds as for event_time (Avro timestamp-millis longs)
        CASE
            WHEN TRY_CAST(received_text AS TIMESTAMPTZ) IS NOT NULL THEN TRY_CAST(received_text AS TIMESTAMPTZ)
            WHEN abs(TRY_CAST(received_text AS DOUBLE)) < 1e14 THEN
                CASE WHEN abs(received_text::DOUBLE) >= 1e11
                    THEN make_timestamptz(CAST(received_text::DOUBLE * 1000 AS BIGINT))
                    ELSE make_timestamptz(CAST(received_text::DOUBLE * 1000000 AS BIGINT))
                END
        END AS received_at,
        TRY_CAST(quantity_text AS INTEGER) AS quantity,
        TRY_CAST(price_text AS DECIMAL(18, 2)) AS price,
        TRY_CAST(cart_value_text AS DECIMAL(18, 2)) AS cart_value,
        TRY_CAST(amount_text AS DECIMAL(18, 2)) AS amount
    FROM fields
),

checked AS (
    SELECT
        *,
        CASE
            WHEN NOT is_json THEN 'record|not valid JSON (malformed line)'
            WHEN event_id IS NULL AND coalesce(try(json_type(raw)), '') <> 'OBJECT' THEN 'record|not a JSON object'
            WHEN event_id IS NULL THEN 'event_id|missing required field'
            WHEN event_type IS NULL THEN 'event_type|missing required field'
            WHEN NOT regexp_full_match(event_type, '[a-z][a-z0-9_]{0,63}') THEN 'event_type|not an event type name: ' || left(event_type, 64)
            WHEN user_id IS NULL THEN 'user_id|missing required field'
            WHEN ts_text IS NULL THEN 'timestamp|missing required field'
            WHEN event_time IS NULL THEN 'timestamp|not a timestamp: ' || left(ts_text, 64)
            WHEN event_time < CAST($min_event_time AS TIMESTAMPTZ) OR event_time > CAST($max_event_time AS TIMESTAMPTZ)
                THEN 'timestamp|impossible timestamp (outside ' || strftime(CAST($min_event_time AS TIMESTAMPTZ), '%Y-%m-%d') || ' .. ingest time + allowed future): ' || left(ts_text, 64)
            WHEN received_text IS NOT NULL AND received_at IS NULL THEN 'received_at|not a timestamp: ' || left(received_text, 64)
            WHEN quantity_text IS NOT NULL AND quantity IS NULL THEN 'properties.quantity|wrong type: expected an integer, got ' || left(quantity_text, 64)
            WHEN quantity < 0 THEN 'properties.quantity|negative quantity'
            WHEN price_text IS NOT NULL AND price IS NULL THEN 'properties.price|wrong type: expected a number, got ' || left(price_text, 64)
            WHEN price < 0 THEN 'properties.price|negative price'
            WHEN cart_value_text IS NOT NULL AND cart_value IS NULL THEN 'properties.cart_value|wrong type: expected a number, got ' || left(cart_value_text, 64)
            WHEN cart_value < 0 THEN 'properties.cart_value|negative cart value'
            WHEN amount_text IS NOT NULL AND amount IS NULL THEN 'properties.amount|wrong type: expected a number, got ' || left(amount_text, 64)
            WHEN currency IS NOT NULL AND NOT regexp_full_match(currency, '[A-Z]{3}') THEN 'properties.currency|not an ISO 4217 code: ' || left(currency, 16)
        END AS problem
    FROM typed
)

SELECT
    event_id,
    event_type,
    user_id,
    session_id,
    event_time,
    received_at,
    ip,
    user_agent,
    page_url,
    referrer,
    product_id,
    category,
    quantity,
    price,
    cart_value,
    order_id,
    amount,
    currency,
    source_file,
    line_number AS source_line,
    CAST($ingested_at AS TIMESTAMPTZ) AS ingested_at,
    CAST(event_time AS DATE) AS dt,
    CAST(hour(event_time) AS INTEGER) AS hour,
    split_part(problem, '|', 1) AS error_field,
    nullif(substr(problem, length(split_part(problem, '|', 1)) + 2), '') AS error_reason,
    CASE WHEN problem IS NOT NULL THEN raw END AS raw
FROM checked
-- whitespace-only lines are blank, not records (trim only runs on rows that already failed)
WHERE problem IS NULL OR trim(raw) <> ''
