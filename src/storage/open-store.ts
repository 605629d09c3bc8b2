import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configError } from '../errors.js';
import { LocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';

/** Opens the store a lake location names: a path or `file://` URI today. */
export function openStore(location: string): ObjectStore {
  if (location.startsWith('file://')) return new LocalStore(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    const scheme = location.slice(0, location.indexOf(':'));
    throw configError('STORE_SCHEME', `unsupported lake location scheme "${scheme}://" in ${location}`, {
      suggestions: ['use a local directory path or a file:// URI'],
    });
  }
  return new LocalStore(path.resolve(location));
}
