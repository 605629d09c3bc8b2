/** Credentials inside URLs (`redis://:pw@host`, `https://user:pw@host`) cut to `***`, for messages and logs. */
export function redactUrlCredentials(value: string): string {
  return value.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi, '$1***@');
}
