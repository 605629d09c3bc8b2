import type { RedisOptions } from 'ioredis';
import { configError } from '../errors.js';
import { redactSecrets } from '../util/redact.js';

/**
 * A `redis://[user][:password]@host[:port][/db]` (or `rediss://`) URL as ioredis options. The
 * userinfo ends at the LAST `@`, so a password holding a raw `@` or `/` (`redis://:p@ss/w@host`)
 * is read as typed instead of turning into a host or a database number; percent-encoded values
 * are decoded. Errors never quote the password.
 */
export function redisOptions(url: string): RedisOptions {
  const scheme = /^(rediss?):\/\//i.exec(url);
  const invalid = (why: string, cause?: unknown) =>
    configError('REDIS_URL', `the Redis URL ${redactSecrets(url)} ${why}`, {
      ...(cause === undefined ? {} : { cause }),
      suggestions: ['use redis://[user][:password]@host[:port][/db] (or rediss:// for TLS)'],
    });
  if (!scheme) throw invalid('is not a redis:// or rediss:// URL');
  const rest = url.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  let location: URL;
  try {
    location = new URL(`redis://${at >= 0 ? rest.slice(at + 1) : rest}`);
  } catch (error) {
    throw invalid('does not parse', error);
  }
  if (!location.hostname) throw invalid('names no host');
  const dbText = location.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw invalid('names a database that is not a number');
  const options: RedisOptions = {
    host: location.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: location.port ? Number(location.port) : 6379,
    ...(dbText ? { db: Number(dbText) } : {}),
    ...(scheme[1]!.toLowerCase() === 'rediss' ? { tls: {} } : {}),
  };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const username = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    const password = colon >= 0 ? decode(userinfo.slice(colon + 1)) : undefined;
    if (username) options.username = username;
    if (password !== undefined) options.password = password;
  }
  return options;
}

/** Percent-decoded when it is valid percent-encoding; a raw `%` stays as typed. */
function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
