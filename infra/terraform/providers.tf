# Infrastructure for a shopstream deployment: the S3 lake (s3.tf), the pipeline's and Snowflake's
# IAM roles (iam.tf) and the Snowflake side (snowflake.tf): database, schemas, warehouse, roles and
# grants, storage integration + external stage over the lake, masking of personal data.
#
#   terraform init && terraform apply -var-file=prod.tfvars
#   # after the first `load` created the tables in Snowflake:
#   terraform apply -var-file=prod.tfvars -var apply_column_masking=true
#
# Then point the CLI at it (outputs): SHOPSTREAM_LAKE=<lake_uri>, SHOPSTREAM_WAREHOUSE_KIND=snowflake,
# SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA (MARTS; RAW for raw_events), SNOWFLAKE_WAREHOUSE,
# SNOWFLAKE_ROLE, SNOWFLAKE_EXTERNAL_STAGE=<snowflake_external_stage>.

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    # The official Snowflake provider (github.com/Snowflake-Labs/terraform-provider-snowflake). It
    # was published as Snowflake-Labs/snowflake; since 1.0 its registry namespace is snowflakedb
    # (same code, same resource names). Written against the 1.x resource schemas.
    snowflake = {
      source  = "snowflakedb/snowflake"
      version = "~> 1.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = var.tags
  }
}

provider "snowflake" {
  organization_name = var.snowflake_organization_name
  account_name      = var.snowflake_account_name
  user              = var.snowflake_admin_user
  role              = var.snowflake_admin_role
  authenticator     = "SNOWFLAKE_JWT"
  private_key       = file(var.snowflake_admin_private_key_path)

  # These resources are "preview features" of the provider and must be enabled explicitly.
  preview_features_enabled = [
    "snowflake_storage_integration_resource",
    "snowflake_stage_resource",
    "snowflake_table_column_masking_policy_application_resource",
  ]
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
