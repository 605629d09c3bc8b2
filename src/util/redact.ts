/**
 * One redaction for everything shopstream prints or stores (stderr, --json errors, warnings, the
 * audit_log, pipeline_runs): credentials never leave the process in clear.
 *
 * Text is scanned, not parsed: URLs that do not parse still get their credentials cut.
 * - userinfo: everything between `scheme://` and the LAST `@` of the same word, so a raw `@` or `/`
 *   inside a password (`redis://:p@ss/word@host:6379`) is cut too (a path holding `@` loses more
 *   than needed, never less);
 * - query-string secrets: `?password=`, `&token=`, `X-Amz-Signature=`, `X-Amz-Credential=`,
 *   `X-Amz-Security-Token=`, `sig=`, `api_key=`, ...;
 * - known secret values (a Snowflake password from config or env, AWS secret keys, the userinfo of
 *   the URLs given), wherever they appear, raw or percent-encoded.
 */

const MASK = '***';
/** Characters that end a URL inside a message, a JSON string or a shell quote. */
const URL_END = `\\s"'<>\`\\\\`;
const USERINFO = new RegExp(`\\b([a-z][a-z0-9+.-]*://)[^${URL_END}]*@`, 'gi');
const QUERY_SECRET = new RegExp(
  `([?&;][^=&#${URL_END}]*?(?:pass(?:word|wd)?|pwd|secret|token|signature|credential|api[-_]?key|access[-_]?key|sig|auth)[^=&#${URL_END}]*=)[^&#${URL_END}]*`,
  'gi',
);
/** Shorter "secrets" (a test key "test") would mask ordinary words everywhere; URL rules still cover them. */
const MIN_KNOWN_SECRET = 8;

export function redactSecrets(text: string, known: readonly string[] = []): string {
  let out = text.replace(USERINFO, `$1${MASK}@`).replace(QUERY_SECRET, `$1${MASK}`);
  const values = new Set<string>();
  for (const secret of known) {
    if (secret.length < MIN_KNOWN_SECRET) continue;
    values.add(secret);
    values.add(encodeURIComponent(secret));
  }
  // longest first: a secret containing another must go whole
  for (const value of [...values].sort((a, b) => b.length - a.length)) out = out.replaceAll(value, MASK);
  return out;
}

/** Credentials inside URLs (`redis://:pw@host`, `https://user:pw@host`) cut to `***`, for messages and logs. */
export function redactUrlCredentials(value: string): string {
  return redactSecrets(value);
}

/** The userinfo (user:password) of each URL in the text, and its password alone: values to mask. */
export function urlCredentials(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(new RegExp(`\\b[a-z][a-z0-9+.-]*://([^${URL_END}]*)@`, 'gi'))) {
    const userinfo = match[1]!;
    out.push(userinfo);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) out.push(userinfo.slice(colon + 1));
    for (const part of [...out]) {
      try {
        out.push(decodeURIComponent(part));
      } catch {
        // not percent-encoded: the raw value is already listed
      }
    }
  }
  return out;
}

/** Environment variables whose values are secrets wherever they show up. */
const SECRET_ENV =
  /(PASSWORD|PASSWD|SECRET|TOKEN|PASSPHRASE|KEY)$|^(SHOPSTREAM_REDIS_URL|SHOPSTREAM_PUSHGATEWAY|AWS_ENDPOINT_URL\w*)$/;

/**
 * The secret values a command run can know: secret-looking environment variables (SNOWFLAKE_PASSWORD,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, ...), credentials in URL arguments and URL variables,
 * and extra values from the resolved configuration (a Snowflake password in the config file).
 */
export function knownSecrets(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  extra: readonly (string | undefined)[] = [],
): string[] {
  const out: string[] = [];
  for (const arg of argv) out.push(...urlCredentials(arg));
  for (const [name, value] of Object.entries(env)) {
    if (!value || !SECRET_ENV.test(name)) continue;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) out.push(...urlCredentials(value));
    else out.push(value);
  }
  for (const value of extra) if (value) out.push(value, ...urlCredentials(value));
  return out;
}
