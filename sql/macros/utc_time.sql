-- macros: utc_minute, utc_hour, utc_date, utc_hour_of_day — date_trunc('minute' | 'hour', ts),
-- CAST(ts AS DATE) and hour(ts) of a TIMESTAMPTZ in UTC (the zone of every shopstream session),
-- computed from epoch microseconds: those built-ins go through ICU's calendar for TIMESTAMPTZ and
-- cost ~15x more per row. Floor division, so instants before 1970 round down like date_trunc.
CREATE OR REPLACE TEMP MACRO utc_floor_us(ts, unit_us) AS
    epoch_us(ts) - ((epoch_us(ts) % unit_us) + unit_us) % unit_us;
CREATE OR REPLACE TEMP MACRO utc_minute(ts) AS to_timestamp(utc_floor_us(ts, 60000000) // 1000000);
CREATE OR REPLACE TEMP MACRO utc_hour(ts) AS to_timestamp(utc_floor_us(ts, 3600000000) // 1000000);
CREATE OR REPLACE TEMP MACRO utc_date(ts) AS
    DATE '1970-01-01' + CAST(utc_floor_us(ts, 86400000000) // 86400000000 AS INTEGER);
CREATE OR REPLACE TEMP MACRO utc_hour_of_day(ts) AS
    CAST((epoch_us(ts) - utc_floor_us(ts, 86400000000)) // 3600000000 AS INTEGER);
