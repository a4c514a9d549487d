import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DistributedDeployment,
  eventually,
  http,
  PrivateRedis,
  startTestApp,
  type HttpResult,
  type TestApp,
  scifactAvailable,
  scifactDocuments,
} from '#testing';
import { createApp } from '#app';

/**
 * Chaos: Redis stopped for 10 s. The monolith has no Redis and does not notice. The distributed
 * deployment, whose contexts talk over Redis Streams, refuses queries at once with 503 and Retry-After
 * rather than hanging, and answers again once Redis is back, with no process restarted. Ingestion
 * loses no job: Redis restarts empty, and the ingestion process re-queues from the database what was
 * still pending. The Redis is the test's own, so the one other tests share keeps running. The counts are
 * printed so the README can quote them.
 */
const OUTAGE_MS = 10_000;
const DOCUMENTS = [
  { id: 'a1', title: 'Aspirin', text: 'Low-dose aspirin reduces the risk of a first stroke in women.' },
  { id: 'c1', title: 'Coffee', text: 'Coffee drinking is associated with a lower risk of liver cirrhosis.' },
];
const QUERY = { collection: 'redis', query: 'Does aspirin prevent stroke?' };
const SEARCH = { collection: 'redis', query: 'stroke prevention', mode: 'hybrid', topK: 3 };
// Posted just before Redis goes, so their ingestion is queued or running when it does.
const HAS_SCIFACT = scifactAvailable('chaos-redis.e2e-spec.ts');
const IN_FLIGHT = HAS_SCIFACT ? scifactDocuments(300) : [];

interface Outcome {
  path: string;
  status: number;
  ms: number;
  code?: string;
  retryAfter: string | null;
}

async function timed(baseUrl: string, method: string, path: string, body?: unknown): Promise<Outcome> {
  const start = performance.now();
  const res: HttpResult<{ error?: { code: string } }> = await http(baseUrl, method, path, body);
  return {
    path,
    status: res.status,
    ms: Math.round(performance.now() - start),
    code: res.body?.error?.code,
    retryAfter: res.headers.get('retry-after'),
  };
}

async function ingested(baseUrl: string, collection: string, n: number, timeoutMs = 120_000) {
  return eventually(
    async () => {
      const view = await http(baseUrl, 'GET', `/rag/collections/${collection}`);
      const docs = view.body.documents as Record<string, number> | undefined;
      return docs && docs.indexed === n && docs.queued + docs.processing === 0 ? docs : undefined;
    },
    timeoutMs,
    250,
  );
}

describe.skipIf(!HAS_SCIFACT)('chaos: Redis stopped for 10 s', () => {
  let redis: PrivateRedis;
  let d: DistributedDeployment;
  let monolith: TestApp;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    // No cached answers, so every query during the outage really needs the other processes.
    d = await DistributedDeployment.start({
      retrievalReplicas: 1,
      env: { REDIS_URL: redis.url, ANSWER_CACHE_SIZE: '0' },
    });
    monolith = await startTestApp(createApp, 'postgres');
    for (const baseUrl of [d.baseUrl, monolith.baseUrl]) {
      const res = await http(baseUrl, 'POST', '/rag/collections/redis/documents', { documents: DOCUMENTS });
      expect(res.status).toBe(202);
      await ingested(baseUrl, 'redis', DOCUMENTS.length);
    }
  }, 180_000);

  afterAll(async () => {
    // Back up if the test failed during the outage, so the processes shut down as usual.
    await redis?.restart();
    await d?.close();
    await monolith?.close();
    await redis?.kill();
  });

  it('the monolith does not notice; distributed calls fail fast with 503 and recover with no restart; no ingestion job is lost', async () => {
    expect((await http(d.baseUrl, 'POST', '/rag/query', QUERY)).status).toBe(200);
    const pids = [...d.services.values()].map((s) => s.child.pid);
    const posted = await http(d.baseUrl, 'POST', '/rag/collections/in-flight/documents', {
      documents: IN_FLIGHT,
    });
    expect(posted.status).toBe(202);
    const before = (await http(d.baseUrl, 'GET', '/rag/collections/in-flight')).body.documents as Record<
      string,
      number
    >;

    await redis.kill();
    const outageStart = performance.now();
    const outcomes: Outcome[] = [];
    const monolithStatuses: number[] = [];
    while (performance.now() - outageStart < OUTAGE_MS) {
      outcomes.push(await timed(d.baseUrl, 'POST', '/rag/query', QUERY));
      outcomes.push(await timed(d.baseUrl, 'POST', '/rag/search', SEARCH));
      outcomes.push(await timed(d.baseUrl, 'GET', '/health/live'));
      monolithStatuses.push((await http(monolith.baseUrl, 'POST', '/rag/query', QUERY)).status);
      await new Promise((r) => setTimeout(r, 100));
    }
    await redis.restart();
    const backAt = performance.now();
    const recovered = await eventually(
      async () => (await http(d.baseUrl, 'POST', '/rag/query', QUERY)).status === 200,
      15_000,
      100,
    );
    const recoverMs = Math.round(performance.now() - backAt);

    const calls = outcomes.filter((o) => o.path !== '/health/live');
    const fast503 = calls.filter((o) => o.status === 503 && o.ms < 2000 && o.retryAfter !== null);
    const slowest = Math.max(...calls.map((o) => o.ms));
    console.info(
      `Redis down ${OUTAGE_MS} ms: ${calls.length} query/search requests, ${fast503.length} fast 503s ` +
        `(codes ${[...new Set(calls.map((o) => o.code))].join(', ')}), slowest ${slowest} ms; ` +
        `monolith ${monolithStatuses.filter((s) => s === 200).length}/${monolithStatuses.length} 200s; ` +
        `queries answer 200 again ${recoverMs} ms after Redis is back; ` +
        `${before.queued + before.processing} of ${IN_FLIGHT.length} documents were queued or processing when it went`,
    );

    // The monolith has no Redis: it answers throughout.
    expect(monolithStatuses.every((s) => s === 200)).toBe(true);
    // The distributed deployment refuses at once, with a stable code and a hint when to retry.
    for (const o of calls) {
      expect(o, JSON.stringify(o)).toMatchObject({ status: 503, retryAfter: expect.any(String) });
      expect(['TRANSPORT.UNAVAILABLE', 'RETRIEVAL.UNAVAILABLE'], JSON.stringify(o)).toContain(o.code);
      expect(o.ms, JSON.stringify(o)).toBeLessThan(2000);
    }
    // The gateway's own process is alive all along.
    expect(outcomes.filter((o) => o.path === '/health/live').every((o) => o.status === 200)).toBe(true);

    // Redis went while there was ingestion to do, or nothing here shows that no job was lost.
    expect(before.queued + before.processing).toBeGreaterThan(0);
    // Back with no process restarted, and every document posted before the outage indexed.
    expect(recovered).toBe(true);
    expect((await http(d.baseUrl, 'POST', '/rag/search', SEARCH)).status).toBe(200);
    expect([...d.services.values()].map((s) => s.child.pid)).toEqual(pids);
    const docs = await ingested(d.baseUrl, 'in-flight', IN_FLIGHT.length);
    expect(docs.failed).toBe(0);
  }, 180_000);
});
