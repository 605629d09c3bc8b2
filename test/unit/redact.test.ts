import { describe, expect, it } from 'vitest';
import { redisOptions } from '../../src/config/redis-url.js';
import { isShopstreamError } from '../../src/errors.js';
import { knownSecrets, redactSecrets } from '../../src/util/redact.js';

describe('redactSecrets', () => {
  it.each([
    ['redis://:pw@host:6379/0', 'redis://***@host:6379/0'],
    ['redis://:p@ss/word@host:6379', 'redis://***@host:6379'],
    [
      'cannot reach Redis at redis://u:a@b/c@127.0.0.1:1 (refused)',
      'cannot reach Redis at redis://***@127.0.0.1:1 (refused)',
    ],
    ['http://user:PASS@host/', 'http://***@host/'],
    ['["--redis-url","redis://:x@y@h:1","--json"]', '["--redis-url","redis://***@h:1","--json"]'],
    ['a http://u:p@h1/ and http://v:q@h2/', 'a http://***@h1/ and http://***@h2/'],
    [
      'https://b.s3.amazonaws.com/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=abc&x=1',
      'https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&x=1',
    ],
    ['http://h/?password=pw&token=t&user=u', 'http://h/?password=***&token=***&user=u'],
    ['http://[::1:bad/?password=pw', 'http://[::1:bad/?password=***'],
    ['http://127.0.0.1:9000', 'http://127.0.0.1:9000'],
    ['s3://bucket/prefix', 's3://bucket/prefix'],
  ])('%s -> %s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('masks known secret values anywhere, raw or percent-encoded, longest first', () => {
    expect(redactSecrets('auth failed for p@ss/w0rd (p%40ss%2Fw0rd)', ['p@ss/w0rd'])).toBe(
      'auth failed for *** (***)',
    );
    expect(redactSecrets('a test run', ['test'])).toBe('a test run'); // too short to mask safely
  });

  it('knows the secrets of URL arguments, secret env variables and config values', () => {
    const secrets = knownSecrets(
      ['--redis-url', 'redis://:p@ss/word@h:1'],
      { SNOWFLAKE_PASSWORD: 'sfpass', AWS_SECRET_ACCESS_KEY: 'awssecret', HOME: '/root' },
      ['configpass', undefined],
    );
    expect(secrets).toEqual(
      expect.arrayContaining([':p@ss/word', 'p@ss/word', 'sfpass', 'awssecret', 'configpass']),
    );
    expect(secrets).not.toContain('/root');
  });
});

describe('redisOptions', () => {
  it.each([
    ['redis://127.0.0.1:6380', { host: '127.0.0.1', port: 6380 }],
    ['redis://:p@ss/word@127.0.0.1:6379/2', { host: '127.0.0.1', port: 6379, db: 2, password: 'p@ss/word' }],
    ['redis://user:p%40ss@h', { host: 'h', port: 6379, username: 'user', password: 'p@ss' }],
    ['redis://:100%@h', { host: 'h', port: 6379, password: '100%' }],
    ['rediss://h:1', { host: 'h', port: 1, tls: {} }],
    ['redis://[::1]:6379', { host: '::1', port: 6379 }],
  ])('%s', (url, expected) => {
    expect(redisOptions(url)).toEqual(expected);
  });

  it.each(['http://h', 'redis://:secret@', 'redis://:secret@h/notadb', 'redis://:secret@h:99999'])(
    '%s is a config error (78) without the password',
    (url) => {
      let caught: unknown;
      try {
        redisOptions(url);
      } catch (error) {
        caught = error;
      }
      expect(isShopstreamError(caught) && caught.exitCode).toBe(78);
      expect((caught as Error).message).not.toContain('secret');
    },
  );
});
