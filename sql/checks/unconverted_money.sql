-- check: unconverted_money
-- severity: warn
-- tables: sessions
-- Sessions with money that could not be expressed in their currency: another currency in the same
-- session without a rates file, or a currency the rates file has no rate for (on or before the
-- event's date). Those amounts are left out of every sum, never added as if they were the same money.
SELECT count(*) FILTER (WHERE value_at_risk > 0 OR unconverted_events > 0) AS checked,
       count(*) FILTER (WHERE unconverted_events > 0) AS failing
FROM sessions
