-- shopstream Snowflake setup, step 4 of 4: masking of personal data.
-- Run as: a user holding ACCOUNTADMIN (or a role with APPLY MASKING POLICY and CREATE MASKING POLICY
-- on SHOPSTREAM.RAW); the file switches to ACCOUNTADMIN itself.
-- When: AFTER the first `shopstream load` into each schema: the CLI creates and owns the tables, so
-- RAW.RAW_EVENTS exists only after `load --tables raw_events` with SNOWFLAKE_SCHEMA=RAW, and the
-- fraud marts only after the marts load (SNOWFLAKE_SCHEMA=MARTS). This is Terraform's second apply
-- with -var apply_column_masking=true. Full reloads keep the tables (DELETE + COPY), so the policy
-- stays. Safe to re-run: the policy is created only if missing (CREATE OR REPLACE fails while it is
-- attached; change its body with ALTER MASKING POLICY ... SET BODY) and FORCE re-attaches it.
-- The same policy and columns as infra/terraform/snowflake.tf: user_id and ip of raw_events and
-- user_id of the fraud marts, unmasked only for sessions where SHOPSTREAM_LOADER or SHOPSTREAM_RISK is
-- active (IS_ROLE_IN_SESSION also counts secondary roles and roles that inherit them, such as
-- SYSADMIN); everyone else sees a constant, so analysts can count rows but not read or join on user
-- ids and IPs.

USE ROLE ACCOUNTADMIN
;
CREATE MASKING POLICY IF NOT EXISTS SHOPSTREAM.RAW.PII_MASK AS (VAL VARCHAR) RETURNS VARCHAR ->
  CASE
    WHEN VAL IS NULL THEN NULL
    WHEN IS_ROLE_IN_SESSION('SHOPSTREAM_LOADER')
      OR IS_ROLE_IN_SESSION('SHOPSTREAM_RISK') THEN VAL
    ELSE '***MASKED***'
  END
  COMMENT = 'user_id and ip of raw_events and the fraud marts'
;
ALTER TABLE SHOPSTREAM.RAW.RAW_EVENTS MODIFY COLUMN USER_ID SET MASKING POLICY SHOPSTREAM.RAW.PII_MASK FORCE
;
ALTER TABLE SHOPSTREAM.RAW.RAW_EVENTS MODIFY COLUMN IP SET MASKING POLICY SHOPSTREAM.RAW.PII_MASK FORCE
;
ALTER TABLE SHOPSTREAM.MARTS.FRAUD_USER_MINUTE MODIFY COLUMN USER_ID SET MASKING POLICY SHOPSTREAM.RAW.PII_MASK FORCE
;
ALTER TABLE SHOPSTREAM.MARTS.FRAUD_FLAGS MODIFY COLUMN USER_ID SET MASKING POLICY SHOPSTREAM.RAW.PII_MASK FORCE
;
