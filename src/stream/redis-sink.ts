import { Redis } from 'ioredis';
import { unavailableError } from '../errors.js';
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
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, enableOfflineQueue: false });
    redis.on('error', () => undefined); // failures surface on the command that hits them
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw unavailableError(
        'REDIS_UNAVAILABLE',
        `cannot reach Redis at ${url.replace(/\/\/[^@]*@/, '//***@')}`,
        { cause: error },
      );
    }
    return new RedisAlertSink(redis, ttlSeconds);
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
