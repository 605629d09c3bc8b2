-- Clustering keys for the large tables (Snowflake only): queries filter by date and user.
-- One statement per block, separated by a line holding only ';'.
ALTER TABLE raw_events CLUSTER BY (dt, event_type)
;
ALTER TABLE sessions CLUSTER BY (session_date, user_key)
;
ALTER TABLE fraud_user_minute CLUSTER BY (dt, user_id)
;
ALTER TABLE fraud_flags CLUSTER BY (dt)
;
ALTER TABLE metrics_minute CLUSTER BY (dt)
