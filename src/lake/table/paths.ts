/**
 * `add.path` is a URI reference relative to the table root: percent-encoded, so a `%` in a Hive
 * directory name (itself an escape) is written `%25`. The log, not the directory, is the authority.
 */

export function encodeDataPath(relativePath: string): string {
  return relativePath
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replaceAll('%3D', '=').replaceAll('%2B', '+').replaceAll('%3A', ':'),
    )
    .join('/');
}

/** The object key of a data file, relative to the table root; undefined when absolute elsewhere. */
export function decodeDataPath(path: string): string {
  return decodeURIComponent(path);
}

export function isAbsoluteUri(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(path);
}
