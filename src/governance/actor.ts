import os from 'node:os';

/** Who runs a command: `SHOPSTREAM_ACTOR` (set it in schedulers), else the OS user. */
export function currentActor(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SHOPSTREAM_ACTOR) return env.SHOPSTREAM_ACTOR;
  try {
    return os.userInfo().username;
  } catch {
    return env.USER ?? 'unknown';
  }
}
