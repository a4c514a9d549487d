import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextName } from '#contracts';
import {
  deploy,
  DistributedDeployment,
  eventually,
  FakeEmbeddingsServer,
  http,
  type Deployment,
} from '#testing';
import { createApp } from '#app';

/**
 * The fallback ladder, as a client sees it: with the embedder down, search answers from BM25 alone and
 * says so (`degraded: ["dense"]`), and so does the query path, whose degraded answers are not cached;
 * with no retrieval replica at all, the gateway answers 503 RETRIEVAL.UNAVAILABLE with Retry-After at
 * once, for /rag/query as for /rag/search.
 */
const DOCUMENTS = [
  { id: 'a1', title: 'Aspirin', text: 'Low-dose aspirin reduces the risk of a first stroke in women.' },
  { id: 'c1', title: 'Coffee', text: 'Coffee drinking is associated with a lower risk of liver cirrhosis.' },
  { id: 'e1', title: 'Exercise', text: 'Aerobic exercise reduces symptoms of depression in adults.' },
];

async function ingest(baseUrl: string): Promise<void> {
  const res = await http(baseUrl, 'POST', '/rag/collections/ladder/documents', { documents: DOCUMENTS });
  expect(res.status).toBe(202);
  await eventually(async () => {
    const view = await http(baseUrl, 'GET', '/rag/collections/ladder');
    return view.body.documents?.indexed === DOCUMENTS.length;
  }, 30_000);
}

describe('fallback ladder: the embedder down', () => {
  let fake: FakeEmbeddingsServer;
  let t: Deployment;

  beforeAll(async () => {
    fake = await new FakeEmbeddingsServer(8).start();
    t = await deploy('postgres', createApp, {
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_MODEL: 'fake-embedder',
      EMBEDDINGS_BASE_URL: fake.baseUrl,
      EMBEDDINGS_API_KEY: 'test',
      EMBEDDINGS_DIMENSIONS: '8',
      EMBEDDINGS_MAX_RETRIES: '0',
    });
    await ingest(t.baseUrl);
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('answers a hybrid search with both legs while the embedder is up', async () => {
    const res = await http(t.baseUrl, 'POST', '/rag/search', {
      collection: 'ladder',
      query: 'coffee liver',
      mode: 'hybrid',
    });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('degraded');
  });

  it('answers hybrid and dense searches from BM25 alone once the embedder fails, and says so', async () => {
    fake.reply({ status: 500 });
    for (const mode of ['hybrid', 'dense']) {
      const res = await http(t.baseUrl, 'POST', '/rag/search', {
        collection: 'ladder',
        query: 'coffee liver',
        mode,
      });
      expect(res.status).toBe(200);
      expect(res.body.degraded).toEqual(['dense']);
      expect(res.body.results[0].documentId).toBe('c1');
    }
  });

  it('answers a query from BM25 alone, marked degraded and not cached, until the embedder is back', async () => {
    fake.reply({ status: 500 });
    const body = { collection: 'ladder', query: 'does coffee protect the liver?' };
    for (let i = 0; i < 2; i++) {
      const res = await http(t.baseUrl, 'POST', '/rag/query', body);
      expect(res.status).toBe(200);
      expect(res.body.degraded).toContain('dense');
      expect(res.body.citations.map((c: { documentId: string }) => c.documentId)).toContain('c1');
      expect(res.headers.get('cache-status')).not.toMatch(/; hit/);
    }

    fake.reply({ status: 200 });
    const res = await http(t.baseUrl, 'POST', '/rag/query', body);
    expect(res.status).toBe(200);
    expect(res.body.degraded).not.toContain('dense');
  });
});

describe('fallback ladder: no retrieval replica', () => {
  let d: DistributedDeployment;

  beforeAll(async () => {
    d = await DistributedDeployment.start({ retrievalReplicas: 1 });
    await ingest(d.baseUrl);
  });

  afterAll(async () => {
    await d?.close();
  });

  it('answers 503 RETRIEVAL.UNAVAILABLE with Retry-After at once, and recovers when a replica is back', async () => {
    await d.kill('retrieval-1', 'SIGTERM');
    await new Promise((r) => setTimeout(r, 400)); // the client's view of live replicas is cached for at most 250 ms
    for (const [path, body] of [
      ['/rag/query', { collection: 'ladder', query: 'does coffee protect the liver?' }],
      ['/rag/search', { collection: 'ladder', query: 'coffee' }],
      ['/rag/query', { collection: 'ladder', query: 'what prevents a stroke?' }],
    ] as const) {
      const started = performance.now();
      const res = await http(d.baseUrl, 'POST', path, body);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('RETRIEVAL.UNAVAILABLE');
      expect(res.body.error.message).toMatch(/retrieval is unavailable/);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    await d.startService('retrieval-1', ContextName.Retrieval);
    await eventually(
      async () =>
        (await http(d.baseUrl, 'POST', '/rag/query', { collection: 'ladder', query: 'coffee' })).status ===
        200,
      30_000,
    );
  });
});
