# Two roles, least privilege, both scoped to the lake prefix:
#  - pipeline: what the CLI does on the lake (ingest, build-marts, load, table maintenance, gdpr):
#    read, write and delete objects under the prefix, list only the prefix, clean up its multipart
#    uploads. No s3:DeleteObjectVersion: deleted files age out through the lifecycle rule.
#  - snowflake: what Snowflake's storage integration needs to COPY from the external stage over
#    the lake (the CLI writes load files under <prefix>/_shopstream/snowflake/ and deletes them
#    itself): read and list only.

locals {
  pipeline_role_name  = "shopstream-pipeline"
  snowflake_role_name = "shopstream-snowflake-stage"
  # Known before the role exists, which breaks the cycle integration -> role ARN -> trust policy
  # -> integration's IAM user and external id.
  snowflake_role_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${local.snowflake_role_name}"
  oidc_issuer        = var.eks_oidc_provider_arn == "" ? "" : element(split("oidc-provider/", var.eks_oidc_provider_arn), 1)
}

# ---- pipeline ------------------------------------------------------------------------------------

data "aws_iam_policy_document" "pipeline_trust" {
  dynamic "statement" {
    for_each = length(var.pipeline_principal_arns) > 0 ? [1] : []
    content {
      sid     = "TrustedPrincipals"
      effect  = "Allow"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = var.pipeline_principal_arns
      }
    }
  }

  dynamic "statement" {
    for_each = var.eks_oidc_provider_arn == "" ? [] : [1]
    content {
      sid     = "KubernetesServiceAccount"
      effect  = "Allow"
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [var.eks_oidc_provider_arn]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.oidc_issuer}:sub"
        values   = ["system:serviceaccount:${replace(var.eks_service_account, "/", ":")}"]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.oidc_issuer}:aud"
        values   = ["sts.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "pipeline" {
  name                 = local.pipeline_role_name
  description          = "shopstream CLI: read/write the lake under s3://${var.lake_bucket_name}/${local.lake_prefix}"
  assume_role_policy   = data.aws_iam_policy_document.pipeline_trust.json
  max_session_duration = 3600 * 4

  lifecycle {
    precondition {
      condition     = length(var.pipeline_principal_arns) > 0 || var.eks_oidc_provider_arn != ""
      error_message = "Set pipeline_principal_arns and/or eks_oidc_provider_arn: someone must be able to assume the pipeline role."
    }
  }
}

data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "ListLakePrefixOnly"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.lake.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.lake_prefix, "${local.lake_prefix}/*"]
    }
  }

  statement {
    sid    = "ReadWriteLakeObjects"
    effect = "Allow"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [local.lake_objects]
  }

  statement {
    sid       = "UseLakeKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.lake.arn]
  }

  dynamic "statement" {
    for_each = var.landing_locations
    content {
      sid       = "ListLanding${statement.key}"
      effect    = "Allow"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${statement.value.bucket}"]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [trimsuffix(statement.value.prefix, "/"), "${trimsuffix(statement.value.prefix, "/")}/*"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.landing_locations
    content {
      sid       = "ReadLanding${statement.key}"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${statement.value.bucket}/${trimsuffix(statement.value.prefix, "/")}/*"]
    }
  }
}

resource "aws_iam_policy" "pipeline" {
  name        = "shopstream-pipeline-lake"
  description = "Least privilege for the shopstream CLI on its lake prefix."
  policy      = data.aws_iam_policy_document.pipeline.json
}

resource "aws_iam_role_policy_attachment" "pipeline" {
  role       = aws_iam_role.pipeline.name
  policy_arn = aws_iam_policy.pipeline.arn
}

# ---- Snowflake storage integration ---------------------------------------------------------------

data "aws_iam_policy_document" "snowflake_trust" {
  statement {
    sid     = "SnowflakeStorageIntegration"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [snowflake_storage_integration.lake.storage_aws_iam_user_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [snowflake_storage_integration.lake.storage_aws_external_id]
    }
  }
}

resource "aws_iam_role" "snowflake" {
  name               = local.snowflake_role_name
  description        = "Snowflake storage integration: read the shopstream lake"
  assume_role_policy = data.aws_iam_policy_document.snowflake_trust.json
}

data "aws_iam_policy_document" "snowflake" {
  statement {
    sid       = "BucketLocation"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation"]
    resources = [aws_s3_bucket.lake.arn]
  }

  statement {
    sid       = "ListLakePrefixOnly"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.lake.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.lake_prefix, "${local.lake_prefix}/*"]
    }
  }

  statement {
    sid       = "ReadLakeObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [local.lake_objects]
  }

  statement {
    sid       = "DecryptLake"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.lake.arn]
  }
}

resource "aws_iam_role_policy" "snowflake" {
  name   = "read-shopstream-lake"
  role   = aws_iam_role.snowflake.id
  policy = data.aws_iam_policy_document.snowflake.json
}
