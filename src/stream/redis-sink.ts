import { Redis } from 'ioredis';
import { redisOptions } from '../config/redis-url.js';
import { unavailableError } from '../errors.js';
import { redactUrlCredentials } from '../governance/redact.js';
import type { Alert } from './fraud-windows.js';

export const ALERT_CHANNEL = 'shopstream:fraud-alerts';
export const userFlagKey = (userId: string) => `shopstream:fraud:user:${userId}`;

/**
 * Alerts to Redis: PUBLISH on a channel for live consumers, and a per-user flag key with a TTL
 * that a checkout service reads with one GET (sub-millisecond on the same network).
 */
export class RedisAlertSink {
  private constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  static async connect(url: string, ttlSeconds: number): Promise<RedisAlertSink> {
    return new RedisAlertSink(await connectRedis(url), ttlSeconds);
  }

  async publish(alert: Alert): Promise<void> {
    const payload = JSON.stringify(alert);
    await this.redis
      .multi()
      .publish(ALERT_CHANNEL, payload)
      .set(
        userFlagKey(alert.userId),
        JSON.stringify({
          rule: alert.rule,
          alertId: alert.alertId,
          windowStart: alert.windowStart,
          evidence: alert.evidence,
        }),
        'EX',
        this.ttlSeconds,
      )
      .exec();
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

/** A connected client; an unreachable server is `REDIS_UNAVAILABLE` (exit 69), without credentials. */
async function connectRedis(url: string): Promise<Redis> {
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
