-- check: unique_session_id
-- severity: error
-- tables: sessions
-- Every session id appears once.
SELECT count(*) AS checked, count(*) - count(DISTINCT session_id) AS failing FROM sessions
