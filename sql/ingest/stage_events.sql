-- staging: one row per input record of the batch, typed, with the first problem that disqualifies it.
-- grain: one row per non-blank source line (NDJSON) or data row (CSV).
-- macros: sql/macros/staging.sql, sql/macros/utc_time.sql (src/ingest/staging-sql.ts creates them before the query runs).
-- input: relation __ingest_lines(source_file, line_number, raw) where raw should be a JSON object's text.
-- parameters: $ingested_at, $min_event_time, $max_event_time (ISO-8601 text, cast to TIMESTAMPTZ here).
-- output: typed rows; error_field/error_reason are NULL for good rows; raw is kept only for bad ones.
-- The rules are the README's "Validation rules" table. No value of any field can make this query fail:
-- every conversion is a TRY_CAST, or runs only on text a guard has already proved convertible.
-- Hot path (every event goes through it): good rows get no per-row string copies; each expensive
-- exact check runs only where a cheap pre-filter (prefix/length test, one literal scan) points.
WITH lines AS (
    SELECT source_file, line_number, raw
    FROM __ingest_lines
    WHERE raw IS NOT NULL AND raw <> ''
),

validated AS (
    SELECT source_file, line_number, raw, json_valid(raw) AS is_json
    FROM lines
),

parsed AS (
    SELECT
        source_file,
        line_number,
        raw,
        is_json,
        -- json_valid guards from_json: invalid JSON yields NULL instead of failing the batch (try()
        -- would too, but it re-runs a whole vector row by row after any error: slow on dirty input).
        -- Values are read as text: a string as itself, a number as the parser writes it back
        -- (integers exactly as sent, others as the shortest text of their double), an object or
        -- array as JSON text; the rules below tell these apart.
        CASE WHEN is_json THEN from_json(raw, '{
            "event_id": "VARCHAR", "event_type": "VARCHAR", "user_id": "VARCHAR", "session_id": "VARCHAR",
            "timestamp": "VARCHAR", "event_time": "VARCHAR", "received_at": "VARCHAR",
            "ip": "VARCHAR", "user_agent": "VARCHAR", "page_url": "VARCHAR", "referrer": "VARCHAR",
            "product_id": "VARCHAR", "category": "VARCHAR", "quantity": "VARCHAR", "price": "VARCHAR",
            "cart_value": "VARCHAR", "order_id": "VARCHAR", "amount": "VARCHAR", "currency": "VARCHAR",
            "properties": {
                "product_id": "VARCHAR", "category": "VARCHAR", "quantity": "VARCHAR", "price": "VARCHAR",
                "cart_value": "VARCHAR", "order_id": "VARCHAR", "amount": "VARCHAR", "currency": "VARCHAR"
            }
        }') END AS j,
        -- DuckDB's JSON reader accepts trailing commas; strict JSON does not. One literal-led scan
        -- finds the lines that may have one (the exact check below ignores commas inside strings).
        is_json AND staging_prefilter(regexp_matches(raw, ',\s*[\]}]')) AS maybe_trailing_comma,
        -- a NUL character can only come from a \u0000 escape
        is_json AND staging_prefilter(contains(raw, '\u0000')) AS maybe_nul
    FROM validated
),

fields AS (
    SELECT
        source_file,
        line_number,
        raw,
        is_json,
        maybe_trailing_comma,
        maybe_nul,
        -- (a boolean computed as CASE WHEN: DuckDB short-circuits a CASE condition, but evaluates
        -- every operand of AND/OR/coalesce in a projected expression)
        CASE WHEN is_json AND staging_prefilter(j.properties IS NOT NULL
            AND j.properties.product_id IS NULL AND j.properties.category IS NULL
            AND j.properties.quantity IS NULL AND j.properties.price IS NULL
            AND j.properties.cart_value IS NULL AND j.properties.order_id IS NULL
            AND j.properties.amount IS NULL AND j.properties.currency IS NULL) THEN true ELSE false END
            AS maybe_properties_not_object,
        nullif(j.event_id, '') AS event_id,
        nullif(j.event_type, '') AS event_type_text,
        nullif(j.user_id, '') AS user_id,
        nullif(j.session_id, '') AS session_id,
        coalesce(nullif(j."timestamp", ''), nullif(j.event_time, '')) AS ts_text,
        CASE WHEN nullif(j."timestamp", '') IS NULL AND nullif(j.event_time, '') IS NOT NULL
            THEN 'event_time' ELSE 'timestamp' END AS ts_field,
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
        nullif(coalesce(j.properties.currency, j.currency), '') AS currency_text
    FROM parsed
),

suspects AS (
    SELECT
        *,
        -- Could a string field's text be an object, array, boolean or NaN/Infinity literal? Only if
        -- it starts with { or [ or is one of those words (other spellings of NaN/Infinity the reader
        -- accepts, such as nan or INF, pass as text: README): those rows alone are re-read with types.
        -- (json_literal_text: sql/macros/staging.sql)
        CASE WHEN is_json AND staging_prefilter(json_literal_text(event_id)
            OR json_literal_text(event_type_text)
            OR json_literal_text(user_id)
            OR json_literal_text(session_id)
            OR json_literal_text(ip)
            OR json_literal_text(user_agent)
            OR json_literal_text(page_url)
            OR json_literal_text(referrer)
            OR json_literal_text(product_id)
            OR json_literal_text(category)
            OR json_literal_text(order_id)
            OR json_literal_text(currency_text)) THEN true ELSE false END AS maybe_wrong_type,
        -- Numbers in their common shapes (plain integers, at most 2 decimals) convert directly;
        -- every other text takes the exact path (slow_numbers) below.
        CASE WHEN staging_fast_path(regexp_full_match(quantity_text, '0|[1-9][0-9]{0,8}')) THEN TRY_CAST(quantity_text AS INTEGER) END
            AS quantity_fast,
        CASE WHEN staging_fast_path(regexp_full_match(price_text, '(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,2})?'))
            THEN TRY_CAST(price_text AS DECIMAL(18, 2)) END AS price_fast,
        CASE WHEN staging_fast_path(regexp_full_match(cart_value_text, '(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,2})?'))
            THEN TRY_CAST(cart_value_text AS DECIMAL(18, 2)) END AS cart_value_fast,
        CASE WHEN staging_fast_path(regexp_full_match(amount_text, '-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,2})?'))
            THEN TRY_CAST(amount_text AS DECIMAL(18, 2)) END AS amount_fast
    FROM fields
),

typed AS (
    SELECT
        *,
        -- ISO-8601 (DuckDB's TIMESTAMPTZ text; no zone = UTC), else a JSON number (or a string
        -- holding one) of epoch seconds (|x| < 1e11) or milliseconds (|x| < 1e14); else NULL.
        coalesce(
            TRY_CAST(ts_text AS TIMESTAMPTZ),
            CASE WHEN regexp_full_match(ts_text, '-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?') AND abs(TRY_CAST(ts_text AS DOUBLE)) < 1e14
                THEN make_timestamptz(TRY_CAST(TRY_CAST(ts_text AS DOUBLE)
                    * CASE WHEN abs(TRY_CAST(ts_text AS DOUBLE)) >= 1e11 THEN 1000 ELSE 1000000 END AS BIGINT))
            END) AS event_time,
        coalesce(
            TRY_CAST(received_text AS TIMESTAMPTZ),
            CASE WHEN regexp_full_match(received_text, '-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?') AND abs(TRY_CAST(received_text AS DOUBLE)) < 1e14
                THEN make_timestamptz(TRY_CAST(TRY_CAST(received_text AS DOUBLE)
                    * CASE WHEN abs(TRY_CAST(received_text AS DOUBLE)) >= 1e11 THEN 1000 ELSE 1000000 END AS BIGINT))
            END) AS received_at,
        lower(event_type_text) AS event_type,
        upper(currency_text) AS currency,
        -- Exact re-read of suspect rows with JSON types: each value as its JSON text (a string keeps
        -- its quotes), so json_literal_text on it is true exactly for objects, arrays, booleans and
        -- the NaN/Infinity spellings it names (numbers and strings, "true" included, are not).
        CASE WHEN maybe_wrong_type THEN from_json(raw, '{
            "event_id": "JSON", "event_type": "JSON", "user_id": "JSON", "session_id": "JSON",
            "ip": "JSON", "user_agent": "JSON", "page_url": "JSON", "referrer": "JSON",
            "product_id": "JSON", "category": "JSON", "order_id": "JSON", "currency": "JSON",
            "properties": {"product_id": "JSON", "category": "JSON", "order_id": "JSON", "currency": "JSON"}
        }') END AS jt,
        CASE WHEN maybe_trailing_comma THEN
            -- strings blanked out first, so a ", }" inside a value does not count
            regexp_matches(regexp_replace(raw, '"(?:[^"\\]|\\.)*"', '""', 'g'), ',\s*[\]}]')
        END AS has_trailing_comma,
        CASE WHEN maybe_nul THEN
            CASE
                WHEN contains(event_id, chr(0)) THEN 'event_id'
                WHEN contains(event_type_text, chr(0)) THEN 'event_type'
                WHEN contains(user_id, chr(0)) THEN 'user_id'
                WHEN contains(session_id, chr(0)) THEN 'session_id'
                WHEN contains(ts_text, chr(0)) THEN ts_field
                WHEN contains(received_text, chr(0)) THEN 'received_at'
                WHEN contains(ip, chr(0)) THEN 'ip'
                WHEN contains(user_agent, chr(0)) THEN 'user_agent'
                WHEN contains(page_url, chr(0)) THEN 'page_url'
                WHEN contains(referrer, chr(0)) THEN 'referrer'
                WHEN contains(product_id, chr(0)) THEN 'properties.product_id'
                WHEN contains(category, chr(0)) THEN 'properties.category'
                WHEN contains(order_id, chr(0)) THEN 'properties.order_id'
                WHEN contains(currency_text, chr(0)) THEN 'properties.currency'
            END
        END AS nul_field,
        -- Blank (whitespace-only) ids: only text starting with a space, a control or a non-ASCII
        -- character can be blank; the exact test runs on those.
        CASE
            WHEN staging_prefilter(event_id < '!' OR event_id >= chr(128)) AND regexp_full_match(event_id, '[\t\n\x0B\f\r \x{85}\p{Z}\x{FEFF}]+') THEN 'event_id'
            WHEN staging_prefilter(user_id < '!' OR user_id >= chr(128)) AND regexp_full_match(user_id, '[\t\n\x0B\f\r \x{85}\p{Z}\x{FEFF}]+') THEN 'user_id'
            WHEN staging_prefilter(session_id < '!' OR session_id >= chr(128)) AND regexp_full_match(session_id, '[\t\n\x0B\f\r \x{85}\p{Z}\x{FEFF}]+') THEN 'session_id'
            WHEN staging_prefilter(product_id < '!' OR product_id >= chr(128)) AND regexp_full_match(product_id, '[\t\n\x0B\f\r \x{85}\p{Z}\x{FEFF}]+') THEN 'properties.product_id'
            WHEN staging_prefilter(order_id < '!' OR order_id >= chr(128)) AND regexp_full_match(order_id, '[\t\n\x0B\f\r \x{85}\p{Z}\x{FEFF}]+') THEN 'properties.order_id'
        END AS blank_field,
        CASE WHEN maybe_properties_not_object THEN json_type(raw, '$.properties') END AS properties_type,
        -- Exact path for numbers not in a common shape: strict JSON number text (a JSON number, or
        -- a string holding one); value = significant digits x 10^k, exact at scale s iff k >= -s,
        -- in range by its count of integer digits. Items: quantity, price, cart_value, amount.
        CASE WHEN (quantity_text IS NOT NULL AND quantity_fast IS NULL)
                OR (price_text IS NOT NULL AND price_fast IS NULL)
                OR (cart_value_text IS NOT NULL AND cart_value_fast IS NULL)
                OR (amount_text IS NOT NULL AND amount_fast IS NULL)
            THEN list_transform(
                [{'t': quantity_text, 's': 0}, {'t': price_text, 's': 2}, {'t': cart_value_text, 's': 2}, {'t': amount_text, 's': 2}],
                x -> CASE
                    WHEN x.t IS NULL THEN NULL
                    WHEN NOT regexp_full_match(x.t, '-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?')
                        THEN {'problem': 'wrong type: expected a number, got ' || left(x.t, 64), 'value': NULL::VARCHAR}
                    ELSE list_transform([regexp_extract(x.t, '^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$', ['sign', 'int', 'frac', 'exp'])], p ->
                        list_transform([{
                            'sign': p.sign,
                            'digits': ltrim(rtrim(p.int || p.frac, '0'), '0'),
                            -- an exponent beyond 32 bits is huge: only its sign matters (and 0 stays 0)
                            'huge_exp': p.exp <> '' AND TRY_CAST(p.exp AS INTEGER) IS NULL,
                            'negative_exp': starts_with(p.exp, '-'),
                            'k': CAST(coalesce(TRY_CAST(nullif(p.exp, '') AS INTEGER), 0) AS BIGINT) - length(p.frac)
                                + length(p.int || p.frac) - length(rtrim(p.int || p.frac, '0'))
                        }], n -> CASE
                            WHEN n.digits = '' THEN {'problem': NULL::VARCHAR, 'value': '0'}
                            WHEN (n.huge_exp AND n.negative_exp) OR (NOT n.huge_exp AND n.k < -x.s) THEN {
                                'problem': CASE WHEN x.s = 0 THEN 'not a whole number: '
                                    ELSE 'more than 2 decimals (amounts are never rounded): ' END || left(x.t, 64),
                                'value': NULL::VARCHAR}
                            WHEN n.huge_exp OR length(n.digits) + n.k > CASE WHEN x.s = 0 THEN 10 ELSE 16 END
                                THEN {'problem': 'out of range: ' || left(x.t, 64), 'value': NULL::VARCHAR}
                            WHEN n.k >= 0 THEN {'problem': NULL::VARCHAR, 'value': n.sign || n.digits || repeat('0', TRY_CAST(n.k AS INTEGER))}
                            ELSE list_transform([repeat('0', TRY_CAST(greatest(0, 3 - length(n.digits)) AS INTEGER)) || n.digits], d -> {
                                'problem': NULL::VARCHAR,
                                'value': n.sign || left(d, TRY_CAST(length(d) + n.k AS INTEGER)) || '.' || right(d, TRY_CAST(-n.k AS INTEGER))})[1]
                        END)[1])[1]
                END)
        END AS slow_numbers
    FROM suspects
),

numbers AS (
    SELECT
        * EXCLUDE (quantity_fast, price_fast, cart_value_fast, amount_fast, slow_numbers),
        slow_numbers[1].problem AS quantity_problem,
        slow_numbers[2].problem AS price_problem,
        slow_numbers[3].problem AS cart_value_problem,
        slow_numbers[4].problem AS amount_problem,
        coalesce(quantity_fast, TRY_CAST(slow_numbers[1].value AS INTEGER)) AS quantity,
        coalesce(price_fast, TRY_CAST(slow_numbers[2].value AS DECIMAL(18, 2))) AS price,
        coalesce(cart_value_fast, TRY_CAST(slow_numbers[3].value AS DECIMAL(18, 2))) AS cart_value,
        coalesce(amount_fast, TRY_CAST(slow_numbers[4].value AS DECIMAL(18, 2))) AS amount,
        -- the first string field whose JSON value (as JSON text) is an object, an array, a boolean or
        -- one of the non-finite spellings of json_literal_text (others, such as -NaN, land as text)
        CASE WHEN maybe_wrong_type THEN
            CASE
                WHEN json_literal_text(CAST(jt.event_id AS VARCHAR))
                    THEN {'field': 'event_id', 'value': jt.event_id}
                WHEN json_literal_text(CAST(jt.event_type AS VARCHAR))
                    THEN {'field': 'event_type', 'value': jt.event_type}
                WHEN json_literal_text(CAST(jt.user_id AS VARCHAR))
                    THEN {'field': 'user_id', 'value': jt.user_id}
                WHEN json_literal_text(CAST(jt.session_id AS VARCHAR))
                    THEN {'field': 'session_id', 'value': jt.session_id}
                WHEN json_literal_text(CAST(jt.ip AS VARCHAR))
                    THEN {'field': 'ip', 'value': jt.ip}
                WHEN json_literal_text(CAST(jt.user_agent AS VARCHAR))
                    THEN {'field': 'user_agent', 'value': jt.user_agent}
                WHEN json_literal_text(CAST(jt.page_url AS VARCHAR))
                    THEN {'field': 'page_url', 'value': jt.page_url}
                WHEN json_literal_text(CAST(jt.referrer AS VARCHAR))
                    THEN {'field': 'referrer', 'value': jt.referrer}
                WHEN json_literal_text(CAST(coalesce(jt.properties.product_id, jt.product_id) AS VARCHAR))
                    THEN {'field': 'properties.product_id', 'value': coalesce(jt.properties.product_id, jt.product_id)}
                WHEN json_literal_text(CAST(coalesce(jt.properties.category, jt.category) AS VARCHAR))
                    THEN {'field': 'properties.category', 'value': coalesce(jt.properties.category, jt.category)}
                WHEN json_literal_text(CAST(coalesce(jt.properties.order_id, jt.order_id) AS VARCHAR))
                    THEN {'field': 'properties.order_id', 'value': coalesce(jt.properties.order_id, jt.order_id)}
                WHEN json_literal_text(CAST(coalesce(jt.properties.currency, jt.currency) AS VARCHAR))
                    THEN {'field': 'properties.currency', 'value': coalesce(jt.properties.currency, jt.currency)}
            END
        END AS wrong_type
    FROM typed
),

checked AS (
    SELECT
        *,
        CASE
            WHEN NOT is_json THEN 'record|not valid JSON (malformed line)'
            WHEN event_id IS NULL AND json_type(raw) <> 'OBJECT' THEN 'record|not a JSON object'
            WHEN has_trailing_comma THEN 'record|not strict JSON (RFC 8259): trailing comma'
            WHEN properties_type NOT IN ('OBJECT', 'NULL') THEN 'properties|wrong type: expected an object, got '
                || CASE properties_type WHEN 'ARRAY' THEN 'an array' WHEN 'VARCHAR' THEN 'a string'
                    WHEN 'BOOLEAN' THEN 'a boolean' ELSE 'a number' END
            WHEN wrong_type IS NOT NULL THEN wrong_type.field || '|wrong type: expected a string, got '
                || CASE
                    WHEN starts_with(wrong_type.value, '{') THEN 'an object'
                    WHEN starts_with(wrong_type.value, '[') THEN 'an array'
                    WHEN wrong_type.value IN ('true', 'false') THEN 'a boolean'
                    ELSE 'a non-finite number'
                END || ': ' || left(wrong_type.value, 64)
            WHEN nul_field IS NOT NULL THEN nul_field || '|contains a NUL character (\u0000)'
            WHEN event_id IS NULL THEN 'event_id|missing required field'
            WHEN blank_field = 'event_id' THEN 'event_id|blank (whitespace only)'
            WHEN event_type IS NULL THEN 'event_type|missing required field'
            WHEN NOT regexp_full_match(event_type, '[a-z][a-z0-9_]{0,63}') THEN 'event_type|not an event type name: ' || left(event_type, 64)
            WHEN user_id IS NULL THEN 'user_id|missing required field'
            WHEN blank_field IS NOT NULL THEN blank_field || '|blank (whitespace only)'
            WHEN ts_text IS NULL THEN 'timestamp|missing required field'
            WHEN event_time IS NULL THEN ts_field || '|not a timestamp (ISO-8601, or epoch seconds/milliseconds below 1e14): ' || left(ts_text, 64)
            WHEN event_time < CAST($min_event_time AS TIMESTAMPTZ) OR event_time > CAST($max_event_time AS TIMESTAMPTZ)
                THEN ts_field || '|impossible timestamp (outside ' || strftime(CAST($min_event_time AS TIMESTAMPTZ), '%Y-%m-%d') || ' .. ingest time + allowed future): ' || left(ts_text, 64)
            WHEN received_text IS NOT NULL AND received_at IS NULL THEN 'received_at|not a timestamp (ISO-8601, or epoch seconds/milliseconds below 1e14): ' || left(received_text, 64)
            WHEN quantity_problem IS NOT NULL THEN 'properties.quantity|' || quantity_problem
            WHEN quantity_text IS NOT NULL AND quantity IS NULL THEN 'properties.quantity|out of range for an integer: ' || left(quantity_text, 64)
            WHEN quantity < 0 THEN 'properties.quantity|negative quantity'
            WHEN price_problem IS NOT NULL THEN 'properties.price|' || price_problem
            WHEN price_text IS NOT NULL AND price IS NULL THEN 'properties.price|out of range: ' || left(price_text, 64)
            WHEN price < 0 THEN 'properties.price|negative price'
            WHEN cart_value_problem IS NOT NULL THEN 'properties.cart_value|' || cart_value_problem
            WHEN cart_value_text IS NOT NULL AND cart_value IS NULL THEN 'properties.cart_value|out of range: ' || left(cart_value_text, 64)
            WHEN cart_value < 0 THEN 'properties.cart_value|negative cart value'
            WHEN amount_problem IS NOT NULL THEN 'properties.amount|' || amount_problem
            WHEN amount_text IS NOT NULL AND amount IS NULL THEN 'properties.amount|out of range: ' || left(amount_text, 64)
            WHEN currency IS NOT NULL AND NOT regexp_full_match(currency, '[A-Z]{3}') THEN 'properties.currency|not an ISO 4217 code: ' || left(currency, 16)
        END AS problem
    FROM numbers
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
    -- epoch arithmetic (sql/macros/utc_time.sql): CAST(.. AS DATE) and hour() of a TIMESTAMPTZ go
    -- through ICU's calendar (7% of this query's CPU at 1M events)
    CASE WHEN problem IS NULL THEN utc_date(event_time) END AS dt,
    CASE WHEN problem IS NULL THEN utc_hour_of_day(event_time) END AS hour,
    split_part(problem, '|', 1) AS error_field,
    nullif(substr(problem, length(split_part(problem, '|', 1)) + 2), '') AS error_reason,
    CASE WHEN problem IS NOT NULL THEN raw END AS raw
FROM checked
-- lines of spaces only (trim: U+0020 and the other Unicode spaces) are blank, not records. trim only
-- runs on lines that start with a space or a non-ASCII character; such a line is never valid JSON, so
-- its problem need not be named here (a filter naming `problem` made DuckDB evaluate the rules' CASE
-- chain twice: 7% of this query's CPU)
WHERE NOT staging_prefilter(raw < '!' OR raw >= chr(128)) OR trim(raw) <> ''
