# The Snowflake side of `shopstream load` (README "Snowflake").
#
# Layout: schema MARTS holds the six marts (the pipeline loads them with SNOWFLAKE_SCHEMA=MARTS) and
# the analyst views; schema RAW holds raw_events (loaded with SNOWFLAKE_SCHEMA=RAW and
# `load --tables raw_events`), the external stage over the lake and the masking policy. The CLI
# creates and owns the tables (unquoted names, so upper case in Snowflake); Terraform owns the
# containers, roles, grants and policies.
#
# Roles:
#   SHOPSTREAM_LOADER   the pipeline: creates and loads tables in RAW and MARTS, uses the stage
#   SHOPSTREAM_ANALYST  usage + SELECT on MARTS only (pseudonymized marts and aggregates); never RAW
#   SHOPSTREAM_RISK     the risk team: SELECT on RAW and MARTS, sees user ids and IPs unmasked
# user_id and ip in raw_events and user_id in the fraud marts are masked for every other role.

locals {
  loaded_schemas = {
    raw   = snowflake_schema.raw.fully_qualified_name
    marts = snowflake_schema.marts.fully_qualified_name
  }

  # Columns holding personal data in the lake's tables (README "Privacy by design"): the landing
  # zone keeps user ids and full IPs, the fraud marts keep user ids for the risk team.
  masked_columns = {
    raw_events_user_id        = { schema = "RAW", table = "raw_events", column = "user_id" }
    raw_events_ip             = { schema = "RAW", table = "raw_events", column = "ip" }
    fraud_user_minute_user_id = { schema = "MARTS", table = "fraud_user_minute", column = "user_id" }
    fraud_flags_user_id       = { schema = "MARTS", table = "fraud_flags", column = "user_id" }
  }
}

# ---- containers ----------------------------------------------------------------------------------

resource "snowflake_database" "shopstream" {
  name    = var.snowflake_database
  comment = "shopstream lakehouse: marts and raw events loaded from the lake"
  # Time Travel keeps copies of deleted rows, including those `gdpr forget` deletes: keep it short.
  data_retention_time_in_days = 1
}

resource "snowflake_schema" "raw" {
  database                    = snowflake_database.shopstream.name
  name                        = "RAW"
  comment                     = "raw_events (user ids, IPs): loader and risk roles only"
  with_managed_access         = "true" # only Terraform's role grants access, not table owners
  data_retention_time_in_days = 1
}

resource "snowflake_schema" "marts" {
  database                    = snowflake_database.shopstream.name
  name                        = "MARTS"
  comment                     = "sessions, conversion_daily, customer_ltv, fraud_user_minute, fraud_flags, metrics_minute and the analyst views"
  with_managed_access         = "true"
  data_retention_time_in_days = 1
}

resource "snowflake_warehouse" "shopstream" {
  name                         = "SHOPSTREAM_WH"
  warehouse_size               = var.snowflake_warehouse_size
  auto_suspend                 = 60     # seconds idle before suspending: hourly loads pay for minutes, not hours
  auto_resume                  = "true" # a string in this provider: "true" | "false"
  initially_suspended          = true
  statement_timeout_in_seconds = 3600
  comment                      = "shopstream loads and analyst queries"
}

# ---- roles ---------------------------------------------------------------------------------------

resource "snowflake_account_role" "loader" {
  name    = "SHOPSTREAM_LOADER"
  comment = "shopstream pipeline: loads RAW and MARTS"
}

resource "snowflake_account_role" "analyst" {
  name    = "SHOPSTREAM_ANALYST"
  comment = "Analysts: MARTS only, personal data masked"
}

resource "snowflake_account_role" "risk" {
  name    = "SHOPSTREAM_RISK"
  comment = "Risk team: RAW and MARTS, personal data unmasked"
}

# Custom roles roll up to SYSADMIN (Snowflake's recommended hierarchy).
resource "snowflake_grant_account_role" "to_sysadmin" {
  for_each = {
    loader  = snowflake_account_role.loader.name
    analyst = snowflake_account_role.analyst.name
    risk    = snowflake_account_role.risk.name
  }
  role_name        = each.value
  parent_role_name = "SYSADMIN"
}

# ---- loader grants -------------------------------------------------------------------------------

resource "snowflake_grant_privileges_to_account_role" "loader_warehouse" {
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "WAREHOUSE"
    object_name = snowflake_warehouse.shopstream.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "loader_database" {
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "DATABASE"
    object_name = snowflake_database.shopstream.name
  }
}

# The CLI creates its tables (and _shopstream_loads) on the first load and owns them; warehouse
# init creates the analyst views in MARTS.
resource "snowflake_grant_privileges_to_account_role" "loader_schemas" {
  for_each          = local.loaded_schemas
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["USAGE", "CREATE TABLE", "CREATE VIEW"]
  on_schema {
    schema_name = each.value
  }
}

resource "snowflake_grant_privileges_to_account_role" "loader_stage" {
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["USAGE"]
  on_schema_object {
    object_type = "STAGE"
    object_name = snowflake_stage.lake.fully_qualified_name
  }
}

# ---- analyst grants: MARTS only ------------------------------------------------------------------

resource "snowflake_grant_privileges_to_account_role" "analyst_warehouse" {
  account_role_name = snowflake_account_role.analyst.name
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "WAREHOUSE"
    object_name = snowflake_warehouse.shopstream.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "analyst_database" {
  account_role_name = snowflake_account_role.analyst.name
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "DATABASE"
    object_name = snowflake_database.shopstream.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "analyst_marts_schema" {
  account_role_name = snowflake_account_role.analyst.name
  privileges        = ["USAGE"]
  on_schema {
    schema_name = snowflake_schema.marts.fully_qualified_name
  }
}

resource "snowflake_grant_privileges_to_account_role" "analyst_marts_all" {
  for_each          = toset(["TABLES", "VIEWS"])
  account_role_name = snowflake_account_role.analyst.name
  privileges        = ["SELECT"]
  on_schema_object {
    all {
      object_type_plural = each.value
      in_schema          = snowflake_schema.marts.fully_qualified_name
    }
  }
}

resource "snowflake_grant_privileges_to_account_role" "analyst_marts_future" {
  for_each          = toset(["TABLES", "VIEWS"])
  account_role_name = snowflake_account_role.analyst.name
  privileges        = ["SELECT"]
  on_schema_object {
    future {
      object_type_plural = each.value
      in_schema          = snowflake_schema.marts.fully_qualified_name
    }
  }
}

# ---- risk grants: RAW and MARTS ------------------------------------------------------------------

resource "snowflake_grant_privileges_to_account_role" "risk_warehouse" {
  account_role_name = snowflake_account_role.risk.name
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "WAREHOUSE"
    object_name = snowflake_warehouse.shopstream.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "risk_database" {
  account_role_name = snowflake_account_role.risk.name
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "DATABASE"
    object_name = snowflake_database.shopstream.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "risk_schemas" {
  for_each          = local.loaded_schemas
  account_role_name = snowflake_account_role.risk.name
  privileges        = ["USAGE"]
  on_schema {
    schema_name = each.value
  }
}

resource "snowflake_grant_privileges_to_account_role" "risk_tables_all" {
  for_each          = local.loaded_schemas
  account_role_name = snowflake_account_role.risk.name
  privileges        = ["SELECT"]
  on_schema_object {
    all {
      object_type_plural = "TABLES"
      in_schema          = each.value
    }
  }
}

resource "snowflake_grant_privileges_to_account_role" "risk_tables_future" {
  for_each          = local.loaded_schemas
  account_role_name = snowflake_account_role.risk.name
  privileges        = ["SELECT"]
  on_schema_object {
    future {
      object_type_plural = "TABLES"
      in_schema          = each.value
    }
  }
}

# ---- the pipeline's user (key-pair auth) ---------------------------------------------------------

resource "snowflake_service_user" "loader" {
  count             = var.loader_rsa_public_key == "" ? 0 : 1
  name              = "SHOPSTREAM_LOADER"
  comment           = "shopstream pipeline (SNOWFLAKE_USER)"
  rsa_public_key    = var.loader_rsa_public_key
  default_role      = snowflake_account_role.loader.name
  default_warehouse = snowflake_warehouse.shopstream.name
  default_namespace = snowflake_schema.marts.fully_qualified_name
}

resource "snowflake_grant_account_role" "loader_user" {
  count     = var.loader_rsa_public_key == "" ? 0 : 1
  role_name = snowflake_account_role.loader.name
  user_name = snowflake_service_user.loader[0].name
}

# ---- storage integration and external stage over the lake ----------------------------------------

# Loads from an s3:// lake copy from this stage instead of PUTting through the client
# (SNOWFLAKE_EXTERNAL_STAGE = output snowflake_external_stage).
resource "snowflake_storage_integration" "lake" {
  name                      = "SHOPSTREAM_LAKE"
  comment                   = "Read access to the shopstream lake"
  type                      = "EXTERNAL_STAGE"
  enabled                   = true
  storage_provider          = "S3"
  storage_aws_role_arn      = local.snowflake_role_arn
  storage_allowed_locations = ["${local.lake_uri}/"]
}

resource "snowflake_stage" "lake" {
  name                = "LAKE_STAGE"
  database            = snowflake_database.shopstream.name
  schema              = snowflake_schema.raw.name
  url                 = "${local.lake_uri}/"
  storage_integration = snowflake_storage_integration.lake.name
  file_format         = "TYPE = PARQUET"
  comment             = "The lake root; the CLI copies its load files from _shopstream/snowflake/"

  depends_on = [aws_iam_role_policy.snowflake]
}

# ---- masking of personal data --------------------------------------------------------------------

# Unmasked for sessions where the loader or risk role is active (IS_ROLE_IN_SESSION also counts
# secondary roles and roles that inherit them, such as SYSADMIN); everyone else sees a constant,
# so analysts can count rows but not read or join on user ids and IPs.
resource "snowflake_masking_policy" "pii" {
  name     = "PII_MASK"
  database = snowflake_database.shopstream.name
  schema   = snowflake_schema.raw.name
  argument {
    name = "VAL"
    type = "VARCHAR"
  }
  return_data_type = "VARCHAR"
  body             = <<-SQL
    CASE
      WHEN VAL IS NULL THEN NULL
      WHEN IS_ROLE_IN_SESSION('${snowflake_account_role.loader.name}')
        OR IS_ROLE_IN_SESSION('${snowflake_account_role.risk.name}') THEN VAL
      ELSE '***MASKED***'
    END
  SQL
  comment          = "user_id and ip of raw_events and the fraud marts"
}

# The tables exist only after the CLI's first load into each schema: apply with
# -var apply_column_masking=true then. Full reloads keep the table (DELETE + COPY), so the policy stays.
resource "snowflake_table_column_masking_policy_application" "pii" {
  for_each       = var.apply_column_masking ? local.masked_columns : {}
  table          = "\"${snowflake_database.shopstream.name}\".\"${each.value.schema}\".\"${upper(each.value.table)}\""
  column         = upper(each.value.column)
  masking_policy = snowflake_masking_policy.pii.fully_qualified_name

  depends_on = [snowflake_schema.raw, snowflake_schema.marts]
}
