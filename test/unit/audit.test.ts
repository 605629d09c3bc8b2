import { describe, expect, it } from 'vitest';
import { redactArguments } from '../../src/governance/audit.js';

describe('audit argument redaction', () => {
  it.each([
    [
      ['--user', 'u1', '--json'],
      ['--user', '[redacted]', '--json'],
    ],
    [['--user=u1'], ['--user=[redacted]']],
    [
      ['--password', 'pw', '--lake', 'x'],
      ['--password', '[redacted]', '--lake', 'x'],
    ],
    [['--pseudonym-key=abc'], ['--pseudonym-key=[redacted]']],
    [
      ['--redis-url', 'redis://:pw@host:6379/0'],
      ['--redis-url', 'redis://***@host:6379/0'],
    ],
    [
      ['s3://bucket/prefix', '--s3-endpoint', 'http://127.0.0.1:9000'],
      ['s3://bucket/prefix', '--s3-endpoint', 'http://127.0.0.1:9000'],
    ],
    [['--token'], ['--token']],
  ])('%j -> %j', (input, expected) => {
    expect(redactArguments(input)).toEqual(expected);
  });
});
