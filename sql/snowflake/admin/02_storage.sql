-- shopstream Snowflake setup, step 2 of 4: storage integration and external stage over the lake.
-- Run as: a user holding ACCOUNTADMIN (CREATE INTEGRATION is an account privilege); the stage is
-- created as SYSADMIN, which owns the database.
-- When: after 01_account.sql, before 03_grants.sql; only for an s3:// lake (the CLI's
-- SNOWFLAKE_EXTERNAL_STAGE = SHOPSTREAM.RAW.LAKE_STAGE). Safe to re-run.
-- Mirrors the storage integration and stage of infra/terraform/snowflake.tf.
--
-- PLACEHOLDERS: replace them before running. Snowflake takes session variables where it documents
-- them (IDENTIFIER($var) for object names, $var in query expressions), not as the literal property
-- values below (STORAGE_AWS_ROLE_ARN, STORAGE_ALLOWED_LOCATIONS, URL), so there is no SET for them:
--   <lake-url>      the lake root without a trailing '/' (SHOPSTREAM_LAKE), e.g. s3://my-bucket/shopstream
--   <aws-role-arn>  the IAM role Snowflake assumes to read the lake (Terraform's iam.tf names it
--                   shopstream-snowflake-stage), e.g. arn:aws:iam::123456789012:role/shopstream-snowflake-stage
-- e.g.: sed -e 's|<lake-url>|s3://my-bucket/shopstream|g' \
--           -e 's|<aws-role-arn>|arn:aws:iam::123456789012:role/shopstream-snowflake-stage|g' \
--           02_storage.sql > /tmp/02_storage.sql
-- Never run it with the placeholders left in.
--
-- Then run DESC INTEGRATION SHOPSTREAM_LAKE and let that role trust STORAGE_AWS_IAM_USER_ARN with
-- sts:ExternalId = STORAGE_AWS_EXTERNAL_ID, and read the lake prefix only (iam.tf does both).
-- The integration is created only if missing: CREATE OR REPLACE would give it a new external id
-- and break that trust policy (change it with ALTER STORAGE INTEGRATION instead).

USE ROLE ACCOUNTADMIN
;
CREATE STORAGE INTEGRATION IF NOT EXISTS SHOPSTREAM_LAKE
  TYPE = EXTERNAL_STAGE
  STORAGE_PROVIDER = 'S3'
  ENABLED = TRUE
  STORAGE_AWS_ROLE_ARN = '<aws-role-arn>'
  STORAGE_ALLOWED_LOCATIONS = ('<lake-url>/')
  COMMENT = 'Read access to the shopstream lake'
;
-- SYSADMIN creates (and owns) the stage in its database, so it needs the integration.
GRANT USAGE ON INTEGRATION SHOPSTREAM_LAKE TO ROLE SYSADMIN
;
USE ROLE SYSADMIN
;
-- The lake root; the CLI copies its load files from _shopstream/snowflake/ under it.
CREATE STAGE IF NOT EXISTS SHOPSTREAM.RAW.LAKE_STAGE
  URL = '<lake-url>/'
  STORAGE_INTEGRATION = SHOPSTREAM_LAKE
  FILE_FORMAT = (TYPE = PARQUET)
  COMMENT = 'The lake root; the CLI copies its load files from _shopstream/snowflake/'
;
