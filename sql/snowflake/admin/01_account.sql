-- shopstream Snowflake setup, step 1 of 4: database, schemas, warehouse, roles and role hierarchy.
-- Run as: a user holding ACCOUNTADMIN (or SYSADMIN + USERADMIN); the file switches roles itself.
-- When: once, before the first `shopstream load`; safe to re-run (it only creates what is missing
-- and changes nothing that exists).
-- The same objects as infra/terraform/snowflake.tf with its default variables, for teams without
-- Terraform (use one or the other on an account); test/unit/snowflake-admin-sql.test.ts keeps them
-- equal.
-- One statement per block, separated by a line holding only ';' (snowsql -f runs it as is).

-- ---- roles (USERADMIN creates and owns roles) ----------------------------------------------------
USE ROLE USERADMIN
;
CREATE ROLE IF NOT EXISTS SHOPSTREAM_LOADER
  COMMENT = 'shopstream pipeline: loads RAW and MARTS'
;
CREATE ROLE IF NOT EXISTS SHOPSTREAM_ANALYST
  COMMENT = 'Analysts: MARTS only, personal data masked'
;
CREATE ROLE IF NOT EXISTS SHOPSTREAM_RISK
  COMMENT = 'Risk team: RAW and MARTS, personal data unmasked'
;
-- Custom roles roll up to SYSADMIN (Snowflake's recommended hierarchy).
GRANT ROLE SHOPSTREAM_LOADER TO ROLE SYSADMIN
;
GRANT ROLE SHOPSTREAM_ANALYST TO ROLE SYSADMIN
;
GRANT ROLE SHOPSTREAM_RISK TO ROLE SYSADMIN
;

-- ---- containers (SYSADMIN owns databases and warehouses) -----------------------------------------
USE ROLE SYSADMIN
;
-- Time Travel keeps copies of deleted rows, including those `gdpr forget` deletes: keep it short.
CREATE DATABASE IF NOT EXISTS SHOPSTREAM
  DATA_RETENTION_TIME_IN_DAYS = 1
  COMMENT = 'shopstream lakehouse: marts and raw events loaded from the lake'
;
-- Managed access: only the schema owner and MANAGE GRANTS (03_grants.sql) grant access, not the
-- owners of the tables the CLI creates.
CREATE SCHEMA IF NOT EXISTS SHOPSTREAM.RAW WITH MANAGED ACCESS
  DATA_RETENTION_TIME_IN_DAYS = 1
  COMMENT = 'raw_events (user ids, IPs): loader and risk roles only'
;
CREATE SCHEMA IF NOT EXISTS SHOPSTREAM.MARTS WITH MANAGED ACCESS
  DATA_RETENTION_TIME_IN_DAYS = 1
  COMMENT = 'sessions, conversion_daily, customer_ltv, fraud_user_minute, fraud_flags, metrics_minute and the analyst views'
;
-- Suspends after 60 s idle: hourly loads pay for minutes, not hours.
CREATE WAREHOUSE IF NOT EXISTS SHOPSTREAM_WH
  WAREHOUSE_SIZE = XSMALL
  AUTO_SUSPEND = 60
  AUTO_RESUME = TRUE
  INITIALLY_SUSPENDED = TRUE
  STATEMENT_TIMEOUT_IN_SECONDS = 3600
  COMMENT = 'shopstream loads and analyst queries'
;

-- ---- optional: the pipeline's user (key-pair auth), as Terraform's loader_rsa_public_key does -----
-- Uncomment, paste the public key (PEM body without header lines) and run as USERADMIN:
--   CREATE USER IF NOT EXISTS SHOPSTREAM_LOADER
--     TYPE = SERVICE
--     RSA_PUBLIC_KEY = '<loader-rsa-public-key>'
--     DEFAULT_ROLE = SHOPSTREAM_LOADER
--     DEFAULT_WAREHOUSE = SHOPSTREAM_WH
--     DEFAULT_NAMESPACE = SHOPSTREAM.MARTS
--     COMMENT = 'shopstream pipeline (SNOWFLAKE_USER)'
--   ;
--   GRANT ROLE SHOPSTREAM_LOADER TO USER SHOPSTREAM_LOADER
--   ;
