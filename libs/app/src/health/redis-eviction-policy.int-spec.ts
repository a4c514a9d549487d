import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PrivateRedis } from '#testing';
import { RedisEvictionPolicy } from './redis-eviction-policy.js';

/** Against a Redis of the test's own, since the policy is changed: the shared one is left alone. */
describe('RedisEvictionPolicy', () => {
  let redis: PrivateRedis;
  let admin: Redis;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    admin = new Redis(redis.url);
  });

  afterAll(async () => {
    admin?.disconnect();
    await redis?.kill();
  });

  async function checked(url: string) {
    const check = new RedisEvictionPolicy({ redisUrl: url });
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await check.onApplicationBootstrap();
      return { report: await check.report(), warnings: warn.mock.calls.map((c) => String(c[0])) };
    } finally {
      warn.mockRestore();
      await check.onApplicationShutdown();
    }
  }

  it('is quiet when Redis does not evict', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    expect(await checked(redis.url)).toEqual({
      report: { maxmemoryPolicy: 'noeviction', ok: true },
      warnings: [],
    });
  });

  it('warns at start, and reports, when Redis may evict queued work', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const { report, warnings } = await checked(redis.url);
    expect(report).toMatchObject({ maxmemoryPolicy: 'allkeys-lru', ok: false });
    expect(warnings).toEqual([
      expect.stringContaining('maxmemory-policy is "allkeys-lru", not "noeviction"'),
    ]);
  });

  it('reports an unknown policy, without failing, when Redis cannot be reached', async () => {
    const { report } = await checked('redis://127.0.0.1:1');
    expect(report).toMatchObject({ maxmemoryPolicy: 'unknown', ok: true });
  });
});
