import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestApp, TEST_REDIS_URL, type TestApp } from '#testing';
import { createApp } from '#app';

/** Rate limits are per caller and per budget, and two gateways on one Redis draw from the same budget. */
describe('rate limits shared by every gateway through Redis', () => {
  let a: TestApp;
  let b: TestApp;
  const limits = {
    RATE_LIMIT_SEARCH: '5',
    RATE_LIMIT_QUERY: '2',
    RATE_LIMIT_INGESTION: '2',
    RATE_LIMIT_WINDOW_MS: '60000',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: `rl-${randomUUID().slice(0, 8)}`,
  };
  const search = (t: TestApp) => http(t.baseUrl, 'POST', '/rag/search', { collection: 'none', query: 'x' });

  beforeAll(async () => {
    a = await startTestApp(createApp, 'postgres', limits);
    b = await startTestApp(createApp, 'postgres', { ...limits, DATABASE_URL: a.config.database.url! });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('counts the requests of both gateways against one budget, then answers 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (const t of [a, b, a, b, a]) {
      const res = await search(t);
      statuses.push(res.status);
      expect(res.headers.get('ratelimit-policy')).toBe('"search";q=5;w=60');
      expect(res.headers.get('ratelimit')).toMatch(/^"search";r=\d+;t=\d+$/);
    }
    // The collection does not exist: a 404, but a request all the same.
    expect(statuses).toEqual([404, 404, 404, 404, 404]);
    for (const t of [a, b]) {
      const res = await search(t);
      expect(res.status).toBe(429);
      expect(res.body.error).toMatchObject({ code: 'GATEWAY.RATE_LIMITED', requestId: expect.any(String) });
      expect(res.body.error.message).toMatch(/5 search requests per 60 s/);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(res.headers.get('ratelimit')).toBe(`"search";r=0;t=${retryAfter}`);
    }
  });

  it('keeps a budget per kind of work: search spent, queries and ingestion still go', async () => {
    const query = await http(a.baseUrl, 'POST', '/rag/query', { collection: 'none', query: 'x' });
    expect(query.status).not.toBe(429);
    expect(query.headers.get('ratelimit-policy')).toBe('"query";q=2;w=60');
    const ingest = () =>
      http(b.baseUrl, 'POST', '/rag/collections/rl/documents', { documents: [{ id: 'a', text: 'alpha' }] });
    expect((await ingest()).status).toBe(202);
    expect((await ingest()).status).toBe(202);
    expect((await ingest()).status).toBe(429);
    // Health is never limited: probes must see the truth.
    for (let i = 0; i < 10; i++) expect((await http(a.baseUrl, 'GET', '/health/live')).status).toBe(200);
  });
});
