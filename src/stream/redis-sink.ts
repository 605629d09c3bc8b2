import type { Redis } from 'ioredis';
import { redisOptions } from '../config/redis-url.js';
import { unavailableError } from '../errors.js';
import type { UserFlagStore } from '../governance/user-flags.js';
import { redactUrlCredentials } from '../util/redact.js';
import type { Alert } from './fraud-windows.js';

export const ALERT_CHANNEL = 'shopstream:fraud-alerts';
export const userFlagKey = (userId: string) => `shopstream:fraud:user:${userId}`;

/**
 * Merges one rule into a user's flag (KEYS[1]): a JSON object {userId, rule, alertId, windowStart,
 * evidence (the latest alert, as before), rules: {rule: entry}} where each entry of `rules` carries
 * its expiresAt (epoch ms). Expired rules are dropped, the new one added or
 * replaced, and the key lives as long as its longest-lived rule. Atomic (one script), so two alerts
 * of the same user never lose each other's rule.
 * ARGV: rule, entry JSON, now ms, ttl ms, user id.
 */
const MERGE_FLAG = `
local now = tonumber(ARGV[3])
local flag = { userId = ARGV[5], rules = {} }
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and type(decoded.rules) == 'table' then flag.rules = decoded.rules end
end
local kept = {}
local last = 0
for rule, entry in pairs(flag.rules) do
  if type(entry) == 'table' and tonumber(entry.expiresAt) and tonumber(entry.expiresAt) > now then
    kept[rule] = entry
    if tonumber(entry.expiresAt) > last then last = tonumber(entry.expiresAt) end
  end
end
local entry = cjson.decode(ARGV[2])
entry.expiresAt = now + tonumber(ARGV[4])
kept[ARGV[1]] = entry
if entry.expiresAt > last then last = entry.expiresAt end
flag.rules = kept
-- the latest alert at the top level too, as the flag has always had it
flag.rule = ARGV[1]
flag.alertId = entry.alertId
flag.windowStart = entry.windowStart
flag.evidence = entry.evidence
redis.call('SET', KEYS[1], cjson.encode(flag), 'PX', math.max(1, last - now))
return 1
`;

type FlagRedis = Redis & {
  mergeFraudFlag(
    key: string,
    rule: string,
    entry: string,
    now: string,
    ttlMs: string,
    userId: string,
  ): Promise<number>;
};

/**
 * Alerts to Redis: PUBLISH on a channel for live consumers, and a per-user flag key that a checkout
 * service reads with one GET (sub-millisecond on the same network): the latest alert at the top
 * level and every rule active for the user, each until its own TTL ends (`{"userId", "rule",
 * "alertId", "windowStart", "evidence", "rules": {"<rule>": {alertId, windowStart, evidence,
 * expiresAt}}}`).
 */
export class RedisAlertSink {
  private constructor(
    private readonly redis: FlagRedis,
    private readonly ttlSeconds: number,
  ) {}

  static async connect(url: string, ttlSeconds: number): Promise<RedisAlertSink> {
    const redis = await connectRedis(url);
    redis.defineCommand('mergeFraudFlag', { numberOfKeys: 1, lua: MERGE_FLAG });
    return new RedisAlertSink(redis as FlagRedis, ttlSeconds);
  }

  async publish(alert: Alert): Promise<void> {
    const entry = JSON.stringify({
      alertId: alert.alertId,
      windowStart: alert.windowStart,
      evidence: alert.evidence,
    });
    await this.redis.publish(ALERT_CHANNEL, JSON.stringify(alert));
    await this.redis.mergeFraudFlag(
      userFlagKey(alert.userId),
      alert.rule,
      entry,
      String(Date.now()),
      String(this.ttlSeconds * 1000),
      alert.userId,
    );
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Deletes the per-user flag keys of these users (GDPR forget); returns how many existed. */
export async function clearUserFlags(url: string, userIds: readonly string[]): Promise<number> {
  if (userIds.length === 0) return 0;
  const redis = await connectRedis(url);
  try {
    return await redis.del(...userIds.map(userFlagKey));
  } finally {
    redis.disconnect();
  }
}

/** The user flags of the Redis at `url`, as GDPR forget's port (connects on use). */
export function redisUserFlags(url: string): UserFlagStore {
  return { deleteUserFlags: (userIds) => clearUserFlags(url, userIds) };
}

/** A connected client; an unreachable server is `REDIS_UNAVAILABLE` (exit 69), without credentials. */
async function connectRedis(url: string): Promise<Redis> {
  // ioredis loads only for the commands that reach Redis
  const { Redis } = await import('ioredis');
  const redis = new Redis({
    ...redisOptions(url),
    lazyConnect: true,
    maxRetriesPerRequest: 3,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined); // failures surface on the command that hits them
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw unavailableError('REDIS_UNAVAILABLE', `cannot reach Redis at ${redactUrlCredentials(url)}`, {
      cause: error,
    });
  }
  return redis;
}
