import { describe, expect, it } from 'vitest';
import {
  CollectionReindexed,
  DocumentDeleted,
  DocumentIngested,
  QueryBody,
  type SearchHit,
} from '#contracts';
import { MemoryAnswerCache } from '../../infrastructure/answer-cache/memory-answer.cache.js';
import { answerGenerationKey, answerKeys, questionHash, requestHash } from './answer-cache-keys.js';
import { AnswerCacheInvalidator } from './answer-cache.invalidator.js';
import type { CachedAnswer } from './answer-cache.port.js';

const body = (fields: Record<string, unknown> = {}): QueryBody =>
  QueryBody.parse({ collection: 'papers', query: 'does aspirin prevent stroke?', ...fields });

const hit: SearchHit = {
  documentId: 'p1',
  chunkId: 'p1#0',
  score: 1,
  title: 'Aspirin',
  text: 'Aspirin reduces stroke.',
  metadata: {},
};

function answer(text = 'Aspirin reduces stroke [1].', degraded: string[] = []): CachedAnswer {
  return {
    response: {
      answer: text,
      citations: [
        { index: 1, documentId: 'p1', chunkId: 'p1#0', title: 'Aspirin', text: hit.text, score: 1 },
      ],
      degraded,
      timings: { understandMs: 1, retrieveMs: 2, rerankMs: 3, generateMs: 4, presentMs: 5, totalMs: 15 },
    },
    sources: [hit],
  };
}

function cache(maxEntries = 10, ttlMs = 1_000) {
  const clock = { now: 0 };
  const c = new MemoryAnswerCache({ maxEntries, ttlMs, now: () => clock.now });
  const put = async (b: QueryBody, a = answer()) => c.set(b, a, (await c.lookup(b)).generation);
  const get = async (b: QueryBody) => (await c.lookup(b)).answer;
  return { c, clock, put, get };
}

describe('MemoryAnswerCache', () => {
  it('replays a stored answer, as a copy that cannot be changed', async () => {
    const { put, get } = cache();
    const stored = answer();
    expect(await put(body(), stored)).toBe(true);
    stored.response.answer = 'changed afterwards';
    const got = (await get(body()))!;
    expect(got).toEqual(answer());
    expect(() => (got.response.citations as unknown[]).push(1)).toThrow(TypeError);
  });

  it('keys on everything that changes the answer, not on stream or spacing', async () => {
    const { put, get } = cache();
    await put(body({ filter: { year: { $gte: 2000 }, source: 'x' } }));
    expect(await get(body({ filter: { source: 'x', year: { $gte: 2000 } }, stream: true }))).toBeDefined();
    expect(
      await get(
        body({ query: '  does   aspirin\nprevent stroke? ', filter: { source: 'x', year: { $gte: 2000 } } }),
      ),
    ).toBeDefined();
    for (const other of [
      body({ filter: { source: 'y', year: { $gte: 2000 } } }),
      body({ filter: { source: 'x', year: { $gte: 2000 } }, topK: 6 }),
      body({ filter: { source: 'x', year: { $gte: 2000 } }, mode: 'dense' }),
      body({ filter: { source: 'x', year: { $gte: 2000 } }, query: 'Does aspirin prevent stroke?' }),
      body({ filter: { source: 'x', year: { $gte: 2000 } }, collection: 'other' }),
      body(),
    ])
      expect(await get(other), JSON.stringify(other)).toBeUndefined();
  });

  it('finds an answer to the same question, whatever its topK, as the fallback only', async () => {
    const { c, put } = cache();
    await put(body({ topK: 3 }));
    const asked = body({ topK: 8, stream: true, query: ' does aspirin  prevent stroke?' });
    const { answer: hit, generation } = await c.lookup(asked);
    expect(hit).toBeUndefined();
    expect(await c.fallback(asked, generation)).toEqual(answer());
    for (const other of [
      body({ mode: 'dense' }),
      body({ query: 'does coffee help?' }),
      body({ collection: 'other' }),
    ])
      expect(await c.fallback(other, generation), JSON.stringify(other)).toBeUndefined();
    await c.invalidate('papers');
    expect(await c.fallback(asked, generation)).toBeUndefined();
    expect(await c.fallback(asked, (await c.lookup(asked)).generation)).toBeUndefined();
  });

  it('evicts the least recently used entry beyond its size', async () => {
    const { c, put, get } = cache(2);
    await put(body({ query: 'a' }));
    await put(body({ query: 'b' }));
    expect(await get(body({ query: 'a' }))).toBeDefined(); // b is now the least recently used
    await put(body({ query: 'c' }));
    expect(c.size).toBe(2);
    expect(await get(body({ query: 'b' }))).toBeUndefined();
    expect(await get(body({ query: 'a' }))).toBeDefined();
    expect(await get(body({ query: 'c' }))).toBeDefined();
  });

  it('forgets an answer once its time is up', async () => {
    const { c, clock, put, get } = cache(10, 1_000);
    await put(body());
    clock.now = 999;
    expect(await get(body())).toBeDefined();
    clock.now = 1_000;
    expect(await get(body())).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('keeps complete answers only', async () => {
    const { c, put, get } = cache();
    expect(await put(body(), answer('from the fallback', ['generation']))).toBe(false);
    expect(await get(body())).toBeUndefined();
    expect(await c.fallback(body(), 0)).toBeUndefined();
  });

  it('keeps nothing when its size is 0', async () => {
    const { c, put, get } = cache(0);
    expect(c.enabled).toBe(false);
    expect(await put(body())).toBe(false);
    expect(await get(body())).toBeUndefined();
  });

  it('drops every answer of a collection, and only of that collection', async () => {
    const { c, put, get } = cache();
    await put(body({ query: 'a' }));
    await put(body({ query: 'b', topK: 3 }));
    await put(body({ query: 'a', collection: 'other' }));
    await c.invalidate('papers');
    expect(await get(body({ query: 'a' }))).toBeUndefined();
    expect(await get(body({ query: 'b', topK: 3 }))).toBeUndefined();
    expect(await get(body({ query: 'a', collection: 'other' }))).toBeDefined();
    expect(c.size).toBe(1);
  });

  it('moves the generation on at each invalidation, and does not keep an answer computed across one', async () => {
    const { c } = cache();
    const before = (await c.lookup(body())).generation;
    expect(before).toBe(0);
    await c.invalidate('papers');
    const after = (await c.lookup(body())).generation;
    expect(after).toBe(1);
    expect((await c.lookup(body({ collection: 'other' }))).generation).toBe(0);
    expect(await c.set(body(), answer(), before)).toBe(false);
    expect((await c.lookup(body())).answer).toBeUndefined();
    expect(await c.set(body(), answer(), after)).toBe(true);
  });
});

describe('answer cache keys', () => {
  it('name the collection and its generation, then the request or its question', () => {
    const keys = answerKeys('ragnest', body(), 7);
    expect(keys.request).toBe(`ragnest:answers:papers:7:${requestHash(body())}`);
    expect(keys.question).toBe(`ragnest:answers:papers:7:question:${questionHash(body())}`);
    expect(answerKeys('ragnest', body(), 8).request).not.toBe(keys.request);
    expect(answerGenerationKey('ragnest', 'papers')).toBe('ragnest:answers:papers:generation');
  });

  it('leave topK out of the question only', () => {
    expect(requestHash(body({ topK: 3 }))).not.toBe(requestHash(body({ topK: 4 })));
    expect(questionHash(body({ topK: 3 }))).toBe(questionHash(body({ topK: 4, stream: true })));
    expect(requestHash(body({ explain: false }))).toBe(requestHash(body()));
    expect(questionHash(body({ mode: 'dense' }))).not.toBe(questionHash(body()));
    expect(questionHash(body({ filter: { source: 'x' } }))).not.toBe(questionHash(body()));
    expect(questionHash(body({ query: 'Does aspirin prevent stroke?' }))).not.toBe(questionHash(body()));
    expect(questionHash(body({ query: 'does  aspirin prevent\tstroke?' }))).toBe(questionHash(body()));
  });
});

describe('AnswerCacheInvalidator', () => {
  it('invalidates the collection of every domain event', async () => {
    for (const event of [
      new DocumentIngested('papers', ['p9']),
      new DocumentDeleted('papers', 'p1'),
      new CollectionReindexed('papers', 'text-embedding-3-small'),
    ]) {
      const { c, put, get } = cache();
      await put(body());
      await put(body({ collection: 'other' }));
      await new AnswerCacheInvalidator(c).handle(event);
      expect(await get(body()), event.constructor.name).toBeUndefined();
      expect(await get(body({ collection: 'other' }))).toBeDefined();
    }
  });
});
