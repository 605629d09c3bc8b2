-- The first invalid row of a user's rates file (__rates_raw: row_number plus the file's columns), if
-- any: the field at fault and why. A rate is reporting-currency units per unit of `currency`.
WITH typed AS (
    SELECT
        row_number,
        CAST("date" AS VARCHAR) AS date_text,
        try_cast(CAST("date" AS VARCHAR) AS DATE) AS rate_date,
        upper(trim(CAST(currency AS VARCHAR))) AS currency,
        CAST(rate AS VARCHAR) AS rate_text,
        try_cast(CAST(rate AS VARCHAR) AS DECIMAL(18, 9)) AS rate
    FROM __rates_raw
),

problems AS (
    SELECT
        row_number,
        CASE
            WHEN rate_date IS NULL THEN 'date'
            WHEN currency IS NULL OR NOT regexp_full_match(currency, '[A-Z]{3}') THEN 'currency'
            WHEN rate IS NULL OR rate <= 0 THEN 'rate'
            WHEN count(*) OVER (PARTITION BY rate_date, currency) > 1 THEN 'currency'
        END AS field,
        CASE
            WHEN rate_date IS NULL THEN 'not a date (YYYY-MM-DD): ' || coalesce(left(date_text, 32), 'empty')
            WHEN currency IS NULL OR NOT regexp_full_match(currency, '[A-Z]{3}')
                THEN 'not an ISO 4217 code: ' || coalesce(left(currency, 16), 'empty')
            WHEN rate IS NULL OR rate <= 0 THEN 'not a positive number: ' || coalesce(left(rate_text, 32), 'empty')
            WHEN count(*) OVER (PARTITION BY rate_date, currency) > 1
                THEN 'a second rate for ' || currency || ' on ' || CAST(rate_date AS VARCHAR)
        END AS reason
    FROM typed
)

SELECT CAST(row_number AS VARCHAR) AS row_number, field, reason
FROM problems
WHERE field IS NOT NULL
ORDER BY problems.row_number
LIMIT 1
