-- check: session_over_24h
-- severity: warn
-- tables: sessions
-- Sessions longer than a day: usually bots or a user id shared by many people.
SELECT count(*) AS checked, count(*) FILTER (WHERE duration_s > 86400) AS failing FROM sessions
