# ---- AWS -----------------------------------------------------------------------------------------

variable "aws_region" {
  description = "Region of the lake bucket (the CLI's AWS_REGION)."
  type        = string
  default     = "eu-west-1"
}

variable "lake_bucket_name" {
  description = "Name of the S3 bucket holding the lake."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake root inside the bucket: SHOPSTREAM_LAKE = s3://<bucket>/<prefix>."
  type        = string
  default     = "shopstream"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9_.-]+)*$", var.lake_prefix))
    error_message = "lake_prefix is a key prefix without leading or trailing '/', e.g. \"shopstream\"."
  }
}

variable "landing_locations" {
  description = "Where ingest reads from, besides the lake: bucket and key prefix per location (read-only access)."
  type = list(object({
    bucket = string
    prefix = string
  }))
  default = []
}

variable "noncurrent_version_retention_days" {
  description = <<-EOT
    Days a superseded object version is kept. Versioning protects the lake against accidental
    deletes, but a file that `gdpr forget` or `table vacuum` deletes stays readable as a noncurrent
    version until this expires: keep it well inside your erasure deadline.
  EOT
  type        = number
  default     = 7

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 30
    error_message = "Keep noncurrent versions between 1 and 30 days (GDPR erasure must complete within a month)."
  }
}

variable "pipeline_principal_arns" {
  description = "IAM principals (e.g. the Airflow workers' or the cron host's role) allowed to assume the pipeline role."
  type        = list(string)
  default     = []
}

variable "eks_oidc_provider_arn" {
  description = "For infra/k8s (IRSA): ARN of the EKS cluster's IAM OIDC provider; empty to skip."
  type        = string
  default     = ""
}

variable "eks_service_account" {
  description = "For IRSA: namespace/name of the Kubernetes service account that runs the CronJobs."
  type        = string
  default     = "shopstream/shopstream"
}

variable "tags" {
  description = "Tags for every AWS resource."
  type        = map(string)
  default = {
    project    = "shopstream"
    managed-by = "terraform"
  }
}

# ---- Snowflake -----------------------------------------------------------------------------------

variable "snowflake_organization_name" {
  description = "Snowflake organization (the part before '-' in the account identifier)."
  type        = string
}

variable "snowflake_account_name" {
  description = "Snowflake account name within the organization."
  type        = string
}

variable "snowflake_admin_user" {
  description = "User Terraform connects as (key-pair auth)."
  type        = string
}

variable "snowflake_admin_role" {
  description = "Role Terraform uses: it creates a storage integration and applies masking policies, so ACCOUNTADMIN or a role granted CREATE INTEGRATION and APPLY MASKING POLICY."
  type        = string
  default     = "ACCOUNTADMIN"
}

variable "snowflake_admin_private_key_path" {
  description = "Path to the admin user's private key (PEM)."
  type        = string
}

variable "snowflake_database" {
  description = "Database for the loaded tables (SNOWFLAKE_DATABASE)."
  type        = string
  default     = "SHOPSTREAM"
}

variable "snowflake_warehouse_size" {
  description = "Size of the warehouse used for loads and analyst queries."
  type        = string
  default     = "XSMALL"
}

variable "loader_rsa_public_key" {
  description = "Public key (PEM body without header lines) of the pipeline's Snowflake service user; empty: create no user."
  type        = string
  default     = ""
}

variable "apply_column_masking" {
  description = "Attach the PII masking policy to raw_events and the fraud tables. The CLI creates those tables on its first `load`, so set this to true after that load."
  type        = bool
  default     = false
}
