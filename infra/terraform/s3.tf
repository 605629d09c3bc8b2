# The lake bucket: s3://<lake_bucket_name>/<lake_prefix> is SHOPSTREAM_LAKE.
#
# shopstream commits Delta versions with conditional PutObject (If-None-Match: *), which AWS S3
# honours; it sends no encryption headers, so encryption is the bucket default below (a bucket
# policy demanding x-amz-server-side-encryption headers would refuse its writes).

locals {
  lake_prefix  = trimsuffix(var.lake_prefix, "/")
  lake_uri     = "s3://${aws_s3_bucket.lake.bucket}/${local.lake_prefix}"
  lake_objects = "${aws_s3_bucket.lake.arn}/${local.lake_prefix}/*"
}

resource "aws_s3_bucket" "lake" {
  bucket = var.lake_bucket_name
}

resource "aws_s3_bucket_ownership_controls" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    object_ownership = "BucketOwnerEnforced" # no ACLs
  }
}

resource "aws_s3_bucket_public_access_block" "lake" {
  bucket                  = aws_s3_bucket.lake.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "lake" {
  bucket = aws_s3_bucket.lake.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_kms_key" "lake" {
  description             = "shopstream lake (${var.lake_bucket_name})"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  # Default key policy: the account administers the key; use is granted by the IAM policies in iam.tf.
}

resource "aws_kms_alias" "lake" {
  name          = "alias/shopstream-lake"
  target_key_id = aws_kms_key.lake.key_id
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.lake.arn
    }
    bucket_key_enabled = true # one data key per bucket, not per object: far fewer KMS calls
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  # Multipart uploads (8 MB parts) that never completed: a crashed writer's parts cost money and
  # are invisible to every listing.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Data files: Parquet parts and checkpoints move to Intelligent-Tiering (infrequently read hours
  # and days get cheaper without retrieval fees). Objects under 128 KB, such as the Delta log's
  # JSON commits, are left in Standard: Intelligent-Tiering would not tier them anyway.
  rule {
    id     = "lake-data-intelligent-tiering"
    status = "Enabled"
    filter {
      and {
        prefix                   = "${local.lake_prefix}/"
        object_size_greater_than = 131072
      }
    }
    transition {
      days          = 0
      storage_class = "INTELLIGENT_TIERING"
    }
  }

  # Superseded versions (files removed by vacuum, gdpr forget, overwritten objects) are deleted
  # after the retention, and the delete markers left behind are cleaned up.
  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.lake]
}

data "aws_iam_policy_document" "lake_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.lake.arn,
      "${aws_s3_bucket.lake.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "lake" {
  bucket     = aws_s3_bucket.lake.id
  policy     = data.aws_iam_policy_document.lake_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.lake]
}
