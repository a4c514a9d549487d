import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { QueryBody } from '#contracts';
import { freePort } from '#testing';
import { answerGenerationKey, answerKeys } from '../../application/answer-query/answer-cache-keys.js';
import type { CachedAnswer } from '../../application/answer-query/answer-cache.port.js';
import { RedisAnswerCache } from './redis-answer.cache.js';

/** The Redis answer cache on a real Redis, under a prefix of its own, and with no Redis at all. */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `ragnest-test-${randomUUID().slice(0, 8)}`;

const body = (fields: Record<string, unknown> = {}): QueryBody =>
  QueryBody.parse({ collection: 'papers', query: 'does aspirin prevent stroke?', ...fields });

const answer: CachedAnswer = {
  response: {
    answer: 'Aspirin reduces stroke [1].',
    citations: [{ index: 1, documentId: 'p1', chunkId: 'p1#0', title: 'Aspirin', text: 'A.', score: 1 }],
    degraded: [],
    timings: { understandMs: 1, retrieveMs: 2, rerankMs: 3, generateMs: 4, presentMs: 5, totalMs: 15 },
  },
  sources: [{ documentId: 'p1', chunkId: 'p1#0', score: 1, title: 'Aspirin', text: 'A.', metadata: {} }],
};

describe('RedisAnswerCache', () => {
  let cache: RedisAnswerCache;
  let other: RedisAnswerCache;
  let redis: Redis;

  beforeAll(async () => {
    cache = new RedisAnswerCache({ url: REDIS_URL, prefix, maxEntries: 1, ttlMs: 60_000 });
    other = new RedisAnswerCache({ url: REDIS_URL, prefix, maxEntries: 1, ttlMs: 60_000 });
    redis = new Redis(REDIS_URL);
    await Promise.all([cache.onModuleInit(), other.onModuleInit()]);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await Promise.all([cache.onApplicationShutdown(), other.onApplicationShutdown(), redis.quit()]);
  });

  it('shares answers between instances, under the collection generation, expiring by time', async () => {
    const { answer: missed, generation } = await cache.lookup(body());
    expect(missed).toBeUndefined();
    expect(generation).toBe(0);
    expect(await cache.set(body(), answer, generation)).toBe(true);
    expect((await other.lookup(body())).answer).toEqual(answer);
    const keys = answerKeys(prefix, body(), 0);
    expect(await redis.pttl(keys.request)).toBeGreaterThan(59_000);
    expect(await redis.pttl(keys.question)).toBeGreaterThan(59_000);
    expect(await other.fallback(body({ topK: 9 }), 0)).toEqual(answer);
    expect(
      await cache.set(
        body({ query: 'x' }),
        { ...answer, response: { ...answer.response, degraded: ['rerank'] } },
        0,
      ),
    ).toBe(false);
  });

  it('moves the generation on with one INCR, after which old answers are misses', async () => {
    await other.invalidate('papers');
    expect(await redis.get(answerGenerationKey(prefix, 'papers'))).toBe('1');
    const after = await cache.lookup(body());
    expect(after).toEqual({ generation: 1 });
    expect(await cache.fallback(body({ topK: 9 }), 1)).toBeUndefined();
    // An answer computed from generation 0 lands where no one looks any more.
    expect(await cache.set(body(), answer, 0)).toBe(true);
    expect((await cache.lookup(body())).answer).toBeUndefined();
  });

  it('answers every call without Redis, as a miss, warning once', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const down = new RedisAnswerCache({
      url: `redis://127.0.0.1:${await freePort()}`,
      prefix,
      maxEntries: 1,
      ttlMs: 60_000,
    });
    try {
      await down.onModuleInit();
      expect(await down.lookup(body())).toEqual({});
      expect(await down.set(body(), answer, 0)).toBe(false);
      expect(await down.fallback(body(), 0)).toBeUndefined();
      await down.invalidate('papers');
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      await down.onApplicationShutdown();
      warn.mockRestore();
    }
  });
});
