import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configError } from '../errors.js';
import { LocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import { S3Store, type S3StoreOptions } from './s3-store.js';

/** Opens the store a lake location names: a directory, a `file://` URI or an `s3://bucket/prefix`. */
export function openStore(location: string, s3: S3StoreOptions = {}): ObjectStore {
  if (location.startsWith('file://')) return new LocalStore(fileURLToPath(location));
  if (location.startsWith('s3://')) return new S3Store(location, s3);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    const scheme = location.slice(0, location.indexOf(':'));
    throw configError('STORE_SCHEME', `unsupported lake location scheme "${scheme}://" in ${location}`, {
      suggestions: ['use a local directory, a file:// URI or an s3://bucket/prefix'],
    });
  }
  return new LocalStore(path.resolve(location));
}
