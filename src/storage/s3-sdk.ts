/**
 * The AWS SDK modules shopstream uses, imported on demand: they take most of a second to load, which
 * every command on a local lake (and `--version`, `--help`) would otherwise pay.
 */
export type S3Sdk = typeof import('@aws-sdk/client-s3') &
  Pick<typeof import('@aws-sdk/lib-storage'), 'Upload'>;

let loading: Promise<S3Sdk> | undefined;

export function loadS3Sdk(): Promise<S3Sdk> {
  loading ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]).then(
    ([s3, storage]) => ({ ...s3, Upload: storage.Upload }),
  );
  return loading;
}
