output "lake_uri" {
  description = "SHOPSTREAM_LAKE for every scheduler."
  value       = local.lake_uri
}

output "lake_bucket_arn" {
  value = aws_s3_bucket.lake.arn
}

output "lake_kms_key_arn" {
  value = aws_kms_key.lake.arn
}

output "pipeline_role_arn" {
  description = "Role the CLI runs as (Airflow workers, cron host, or the k8s service account via IRSA)."
  value       = aws_iam_role.pipeline.arn
}

output "snowflake_storage_role_arn" {
  value = aws_iam_role.snowflake.arn
}

output "snowflake_external_stage" {
  description = "SNOWFLAKE_EXTERNAL_STAGE: the stage over the lake root, fully qualified."
  value       = "${snowflake_database.shopstream.name}.${snowflake_schema.raw.name}.${snowflake_stage.lake.name}"
}

output "shopstream_env" {
  description = "The CLI's environment for Snowflake loads (plus SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and a credential)."
  value = {
    SHOPSTREAM_LAKE           = local.lake_uri
    AWS_REGION                = var.aws_region
    SHOPSTREAM_WAREHOUSE_KIND = "snowflake"
    SNOWFLAKE_DATABASE        = snowflake_database.shopstream.name
    SNOWFLAKE_SCHEMA          = snowflake_schema.marts.name
    SNOWFLAKE_WAREHOUSE       = snowflake_warehouse.shopstream.name
    SNOWFLAKE_ROLE            = snowflake_account_role.loader.name
    SNOWFLAKE_EXTERNAL_STAGE  = "${snowflake_database.shopstream.name}.${snowflake_schema.raw.name}.${snowflake_stage.lake.name}"
  }
}

output "raw_events_schema" {
  description = "Schema for `load --tables raw_events` (SNOWFLAKE_SCHEMA for that step)."
  value       = snowflake_schema.raw.name
}
