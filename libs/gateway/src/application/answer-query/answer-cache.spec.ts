import { describe, expect, it } from 'vitest';
import {
  CollectionReindexed,
  DocumentDeleted,
  DocumentIngested,
  QueryBody,
  type SearchHit,
} from '#contracts';
import { AnswerCache, AnswerCacheInvalidator, answerCacheKey, type CachedAnswer } from './answer-cache.js';

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
  const c = new AnswerCache({ maxEntries, ttlMs, now: () => clock.now });
  const put = (b: QueryBody, a = answer()) => c.set(b, a, c.epoch(b.collection));
  return { c, clock, put };
}

describe('AnswerCache', () => {
  it('replays a stored answer, as a copy that cannot be changed', () => {
    const { c, put } = cache();
    const stored = answer();
    expect(put(body(), stored)).toBe(true);
    stored.response.answer = 'changed afterwards';
    const got = c.get(body())!;
    expect(got).toEqual(answer());
    expect(() => (got.response.citations as unknown[]).push(1)).toThrow(TypeError);
  });

  it('keys on everything that changes the answer, not on stream or spacing', () => {
    const { c, put } = cache();
    put(body({ filter: { year: { $gte: 2000 }, source: 'x' } }));
    expect(c.get(body({ filter: { source: 'x', year: { $gte: 2000 } }, stream: true }))).toBeDefined();
    expect(
      c.get(
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
      expect(c.get(other), JSON.stringify(other)).toBeUndefined();
    expect(answerCacheKey(body())).toMatch(/^papers\n/);
  });

  it('evicts the least recently used entry beyond its size', () => {
    const { c, put } = cache(2);
    put(body({ query: 'a' }));
    put(body({ query: 'b' }));
    expect(c.get(body({ query: 'a' }))).toBeDefined(); // b is now the least recently used
    put(body({ query: 'c' }));
    expect(c.size).toBe(2);
    expect(c.get(body({ query: 'b' }))).toBeUndefined();
    expect(c.get(body({ query: 'a' }))).toBeDefined();
    expect(c.get(body({ query: 'c' }))).toBeDefined();
  });

  it('forgets an answer once its time is up', () => {
    const { c, clock, put } = cache(10, 1_000);
    put(body());
    clock.now = 999;
    expect(c.get(body())).toBeDefined();
    clock.now = 1_000;
    expect(c.get(body())).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('keeps complete answers only', () => {
    const { c, put } = cache();
    expect(put(body(), answer('from the fallback', ['generation']))).toBe(false);
    expect(c.get(body())).toBeUndefined();
  });

  it('keeps nothing when its size is 0', () => {
    const { c, put } = cache(0);
    expect(c.enabled).toBe(false);
    expect(put(body())).toBe(false);
    expect(c.get(body())).toBeUndefined();
  });

  it('drops every answer of a collection, and only of that collection', () => {
    const { c, put } = cache();
    put(body({ query: 'a' }));
    put(body({ query: 'b', topK: 3 }));
    put(body({ query: 'a', collection: 'other' }));
    c.invalidate('papers');
    expect(c.get(body({ query: 'a' }))).toBeUndefined();
    expect(c.get(body({ query: 'b', topK: 3 }))).toBeUndefined();
    expect(c.get(body({ query: 'a', collection: 'other' }))).toBeDefined();
    expect(c.size).toBe(1);
  });

  it('does not keep an answer computed while its collection changed', () => {
    const { c } = cache();
    const before = c.epoch('papers');
    c.invalidate('papers');
    expect(c.set(body(), answer(), before)).toBe(false);
    expect(c.get(body())).toBeUndefined();
    expect(c.set(body(), answer(), c.epoch('papers'))).toBe(true);
  });
});

describe('AnswerCacheInvalidator', () => {
  it('invalidates the collection of every domain event', () => {
    for (const event of [
      new DocumentIngested('papers', ['p9']),
      new DocumentDeleted('papers', 'p1'),
      new CollectionReindexed('papers', 'text-embedding-3-small'),
    ]) {
      const { c, put } = cache();
      put(body());
      put(body({ collection: 'other' }));
      new AnswerCacheInvalidator(c).handle(event);
      expect(c.get(body()), event.constructor.name).toBeUndefined();
      expect(c.get(body({ collection: 'other' }))).toBeDefined();
    }
  });
});
