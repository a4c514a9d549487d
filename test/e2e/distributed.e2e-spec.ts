import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextName } from '#contracts';
import { deploy, DistributedDeployment, eventually, http, type Deployment } from '#testing';
import { createApp } from '#app';

/**
 * The distributed deployment: one OS process per context over Redis Streams, two retrieval replicas.
 * It must answer as the monolith does, share work between replicas, and survive replicas dying.
 */
const CALL_TIMEOUT_MS = 5_000;
const DOCUMENTS = [
  {
    id: 'a1',
    title: 'Aspirin',
    text: 'Low-dose aspirin reduces the risk of a first stroke in women.',
    metadata: { year: 2005, kind: 'trial' },
  },
  {
    id: 'c1',
    title: 'Coffee',
    text: 'Coffee drinking is associated with a lower risk of liver cirrhosis.',
    metadata: { year: 2016, kind: 'cohort' },
  },
  {
    id: 'e1',
    title: 'Exercise',
    text: 'Aerobic exercise reduces symptoms of depression in adults.',
    metadata: { year: 2020, kind: 'trial' },
  },
  {
    id: 'v1',
    title: 'Vitamin D',
    text: 'Vitamin D supplements did not prevent fractures in older adults.',
    metadata: { year: 2019, kind: 'trial' },
  },
];

async function ingest(baseUrl: string): Promise<void> {
  const res = await http(baseUrl, 'POST', '/rag/collections/same/documents', { documents: DOCUMENTS });
  expect(res.status).toBe(202);
  await eventually(async () => {
    const view = await http(baseUrl, 'GET', '/rag/collections/same');
    return view.body.documents?.indexed === DOCUMENTS.length;
  });
}

/** Timings and request ids differ by nature; everything else must be equal. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !['timings', 'requestId', 'updatedAt'].includes(k))
        // A job id's tag is signed with its database's own key, and the two deployments have their own.
        .map(([k, v]) => [
          k,
          k === 'jobId' && typeof v === 'string' ? v.replace(/:[0-9a-f]+$/, ':<tag>') : normalise(v),
        ]),
    );
  }
  return value;
}

describe('distributed deployment', () => {
  let d: DistributedDeployment;
  let mono: Deployment;

  beforeAll(async () => {
    [d, mono] = await Promise.all([
      DistributedDeployment.start({ env: { CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS) } }),
      deploy('postgres', createApp),
    ]);
    await Promise.all([ingest(d.baseUrl), ingest(mono.baseUrl)]);
  });

  afterAll(async () => {
    await Promise.all([d?.close(), mono?.close()]);
  });

  it('answers with the same bodies as the monolith, apart from timings, request ids and job id tags', async () => {
    const requests: [string, string, unknown?][] = [
      ['POST', '/rag/search', { collection: 'same', query: 'stroke prevention', mode: 'hybrid', topK: 3 }],
      ['POST', '/rag/search', { collection: 'same', query: 'liver disease', mode: 'sparse' }],
      [
        'POST',
        '/rag/search',
        { collection: 'same', query: 'depression', mode: 'dense', filter: { kind: 'trial' } },
      ],
      ['POST', '/rag/query', { collection: 'same', query: 'Does exercise help depression?' }],
      ['GET', '/rag/collections/same'],
      ['GET', '/rag/collections/same/documents/c1'],
      ['GET', '/rag/collections/same/documents/missing'],
      ['POST', '/rag/search', { collection: 'missing', query: 'x' }],
      ['POST', '/rag/search', { collection: 'same', query: '' }],
      ['POST', '/rag/collections/same/documents', { documents: [DOCUMENTS[1]] }],
    ];
    for (const [method, path, body] of requests) {
      const [a, b] = await Promise.all([
        http(d.baseUrl, method, path, body),
        http(mono.baseUrl, method, path, body),
      ]);
      expect(a.status, `${method} ${path}`).toBe(b.status);
      expect(normalise(a.body), `${method} ${path}`).toEqual(normalise(b.body));
    }
  });

  it('has each request handled by exactly one retrieval replica, and both get work', async () => {
    const before = await Promise.all(['retrieval-1', 'retrieval-2'].map((n) => d.handled(n)));
    const N = 120;
    const queries = Array.from({ length: N }, (_, i) =>
      DOCUMENTS[i % DOCUMENTS.length].text.split(' ').slice(0, 3).join(' '),
    );
    const results = await Promise.all(
      queries.map((query) => http(d.baseUrl, 'POST', '/rag/search', { collection: 'same', query, topK: 2 })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const after = await Promise.all(['retrieval-1', 'retrieval-2'].map((n) => d.handled(n)));
    const served = after.map((a, i) => (a['retrieval.search'] ?? 0) - (before[i]['retrieval.search'] ?? 0));
    expect(served[0] + served[1]).toBe(N);
    expect(served[0]).toBeGreaterThan(0);
    expect(served[1]).toBeGreaterThan(0);
  });

  it('keeps serving when a retrieval replica is killed under load, and no request waits past its deadline', async () => {
    const N = 150;
    let sent = 0;
    const outcomes: { status: number; ms: number }[] = [];
    const worker = async () => {
      while (sent < N) {
        const i = sent++;
        if (i === 40) void d.kill('retrieval-1', 'SIGKILL');
        const t = performance.now();
        const res = await http(d.baseUrl, 'POST', '/rag/search', {
          collection: 'same',
          query: `aspirin stroke ${i}`,
          topK: 2,
        });
        outcomes.push({ status: res.status, ms: performance.now() - t });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(outcomes).toHaveLength(N);
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(CALL_TIMEOUT_MS + 500);
    await d.startService('retrieval-1', ContextName.Retrieval);
  });

  it('answers 503 RETRIEVAL.UNAVAILABLE at once with no retrieval replica, and recovers without a gateway restart', async () => {
    await Promise.all([d.kill('retrieval-1', 'SIGTERM'), d.kill('retrieval-2', 'SIGTERM')]);
    await new Promise((r) => setTimeout(r, 400)); // the client's view of live replicas is cached for at most 250 ms
    const t = performance.now();
    const res = await http(d.baseUrl, 'POST', '/rag/search', { collection: 'same', query: 'coffee' });
    const ms = performance.now() - t;
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({
      code: 'RETRIEVAL.UNAVAILABLE',
      details: { cause: 'TRANSPORT.NO_REPLICA' },
    });
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(ms).toBeLessThan(100);
    const ready = await http(d.baseUrl, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.contexts).toMatchObject({ status: 'down', missing: ['retrieval'] });

    await d.startService('retrieval-1', ContextName.Retrieval);
    await eventually(
      async () =>
        (await http(d.baseUrl, 'POST', '/rag/search', { collection: 'same', query: 'coffee' })).status ===
        200,
      15_000,
    );
    await d.waitReady();
  });
});
