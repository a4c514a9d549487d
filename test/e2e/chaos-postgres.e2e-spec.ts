import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DistributedDeployment,
  eventually,
  http,
  PrivatePostgres,
  startTestApp,
  type TestApp,
  scifactAvailable,
  scifactDocuments,
} from '#testing';
import { createApp } from '#app';

/**
 * Chaos: PostgreSQL restarted (a fast shutdown, ~5 s down, started again) while ingestion runs, under
 * one process and under the distributed deployment. The readiness of every process holding the database
 * turns red at once (the gateway, which holds none, follows when search's circuit opens), queries and
 * searches fail fast with 503 RETRIEVAL.UNAVAILABLE and a Retry-After header, as the README says, instead
 * of hanging, and once the server is back ragnest recovers without
 * being restarted: ready again, answering, and every document posted is indexed with the chunk counter
 * matching the chunks stored. The PostgreSQL is the test's own
 * cluster, so the one other tests share keeps running. The counts are printed so the README can quote
 * them.
 */
const OUTAGE_MS = 5_000;
// A request slower than this is a hang as far as this test is concerned: it is cut off and recorded.
const HANG_MS = 10_000;
const SEED = [
  { id: 'a1', title: 'Aspirin', text: 'Low-dose aspirin reduces the risk of a first stroke in women.' },
  { id: 'c1', title: 'Coffee', text: 'Coffee drinking is associated with a lower risk of liver cirrhosis.' },
];
const QUERY = { collection: 'pg', query: 'Does aspirin prevent stroke?' };
const SEARCH = { collection: 'pg', query: 'stroke prevention', mode: 'hybrid', topK: 3 };
const HAS_SCIFACT = scifactAvailable('chaos-postgres.e2e-spec.ts');
// Posted just before PostgreSQL goes, so their ingestion is queued or running when it does.
const IN_FLIGHT = HAS_SCIFACT ? scifactDocuments(400) : [];

interface Outcome {
  path: string;
  status: number;
  ms: number;
  body: string;
  retryAfter: string | null;
}

/** One call, cut off after HANG_MS (recorded as status 0) so a hang fails the test instead of stalling it. */
async function timed(baseUrl: string, method: string, path: string, body?: unknown): Promise<Outcome> {
  const start = performance.now();
  try {
    const res = await fetch(baseUrl + path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(HANG_MS),
    });
    const text = await res.text();
    return {
      path,
      status: res.status,
      ms: Math.round(performance.now() - start),
      body: text,
      retryAfter: res.headers.get('retry-after'),
    };
  } catch (error) {
    return {
      path,
      status: 0,
      ms: Math.round(performance.now() - start),
      body: (error as Error).message,
      retryAfter: null,
    };
  }
}

async function ingested(baseUrl: string, collection: string, n: number, timeoutMs = 120_000) {
  return eventually(
    async () => {
      const view = await http(baseUrl, 'GET', `/rag/collections/${collection}`);
      const docs = view.body.documents as Record<string, number> | undefined;
      return docs && docs.queued + docs.processing === 0 && docs.indexed + docs.failed === n
        ? { docs, chunks: view.body.chunks as number }
        : undefined;
    },
    timeoutMs,
    250,
  );
}

/** The documents of a collection by status, stage and error, as stored: what to report if some are stuck. */
async function storedStates(url: string, collection: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT status, stage, error, count(*)::int AS n FROM documents
       WHERE collection_id = (SELECT id FROM collections WHERE name = $1) GROUP BY 1, 2, 3`,
      [collection],
    );
    return rows;
  } finally {
    await client.end();
  }
}

/** The chunks of a collection as stored, counted afresh. */
async function storedChunks(url: string, collection: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM chunks WHERE collection_id = (SELECT id FROM collections WHERE name = $1)',
      [collection],
    );
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

/** Seeds the collection queries use; it must answer before the outage. */
async function seed(baseUrl: string): Promise<void> {
  const res = await http(baseUrl, 'POST', '/rag/collections/pg/documents', { documents: SEED });
  expect(res.status).toBe(202);
  await ingested(baseUrl, 'pg', SEED.length);
}

/**
 * Posts the in-flight documents, restarts PostgreSQL under them, and checks the outage and the recovery.
 * `withDatabase` are the processes that hold a database connection (their readiness checks it); the
 * one `baseUrl` names is probed as well, as the load balancer in front would.
 */
async function outage(
  label: string,
  baseUrl: string,
  withDatabase: string[],
  postgres: PrivatePostgres,
  databaseUrl: string,
) {
  const everyProcess = [...new Set([baseUrl, ...withDatabase])];
  const allReady = async () => {
    const probes = await Promise.all(everyProcess.map((url) => timed(url, 'GET', '/health/ready')));
    return probes.find((o) => o.status !== 200) ?? true;
  };
  expect((await http(baseUrl, 'POST', '/rag/query', QUERY)).status).toBe(200);
  const posted = await http(baseUrl, 'POST', '/rag/collections/in-flight/documents', {
    documents: IN_FLIGHT,
  });
  expect(posted.status).toBe(202);
  const before = (await http(baseUrl, 'GET', '/rag/collections/in-flight')).body.documents as Record<
    string,
    number
  >;

  await postgres.stop();
  const outageStart = performance.now();
  const probes: Outcome[] = [];
  const entryProbes: Outcome[] = [];
  const calls: Outcome[] = [];
  while (performance.now() - outageStart < OUTAGE_MS) {
    for (const url of withDatabase) probes.push(await timed(url, 'GET', '/health/ready'));
    if (!withDatabase.includes(baseUrl)) entryProbes.push(await timed(baseUrl, 'GET', '/health/ready'));
    calls.push(await timed(baseUrl, 'POST', '/rag/query', QUERY));
    calls.push(await timed(baseUrl, 'POST', '/rag/search', SEARCH));
    await new Promise((r) => setTimeout(r, 100));
  }
  await postgres.restart();
  const backAt = performance.now();
  // When every process sees its database again (the database check alone; circuits are looked at next).
  const databaseBack = await eventually(
    async () => {
      const probes = await Promise.all(withDatabase.map((url) => timed(url, 'GET', '/health/ready')));
      return probes.every(
        (o) =>
          (JSON.parse(o.body) as { details?: { database?: { status: string } } }).details?.database
            ?.status === 'up',
      );
    },
    20_000,
    100,
  ).catch(() => false);
  const databaseBackMs = databaseBack ? Math.round(performance.now() - backAt) : -1;
  // First as a load balancer sees it: readiness alone, no traffic sent to a replica that is not ready.
  let lastProbe: Outcome | true = true;
  const ready = await eventually(async () => (lastProbe = await allReady()) === true, 20_000, 100).catch(
    () => false,
  );
  const readyMs = ready ? Math.round(performance.now() - backAt) : -1;
  const answering = await eventually(
    async () => (await timed(baseUrl, 'POST', '/rag/query', QUERY)).status === 200,
    30_000,
    100,
  ).catch(() => false);
  const recoverMs = Math.round(performance.now() - backAt);
  const readyAfterQueries = await eventually(async () => (await allReady()) === true, 10_000, 100).catch(
    () => false,
  );

  const statuses = (list: Outcome[]) =>
    [...new Set(list.map((o) => `${o.path} ${o.status}`))].sort().join(', ');
  const downChecks = (o: Outcome | true) =>
    o === true ? 'none' : Object.keys((JSON.parse(o.body) as { error?: object }).error ?? {}).join(', ');
  console.info(
    `${label}: PostgreSQL down ${OUTAGE_MS} ms: ${calls.length} query/search requests (statuses ` +
      `${statuses(calls)}, slowest ${Math.max(...calls.map((o) => o.ms))} ms); ${probes.length} readiness ` +
      `probes of processes with a database (statuses ${[...new Set(probes.map((o) => o.status))].join(', ')}, ` +
      `slowest ${Math.max(...probes.map((o) => o.ms))} ms)` +
      (entryProbes.length ? `; gateway readiness ${entryProbes.map((o) => o.status).join(' ')}` : '') +
      `; database check up again ${databaseBackMs} ms, ready again ${readyMs} ms (-1: not within 20 s without traffic; checks still down: ` +
      `${downChecks(lastProbe)}) and queries answer 200 ${recoverMs} ms after PostgreSQL is back; ` +
      `ready after queries answered: ${readyAfterQueries}; ` +
      `${before.queued + before.processing} of ${IN_FLIGHT.length} documents were queued or processing when it went`,
  );

  // Readiness of every process with a database turns red at once, saying it is the database.
  for (const o of probes) {
    expect(o.status, JSON.stringify(o)).toBe(503);
    expect(JSON.parse(o.body), JSON.stringify(o)).toMatchObject({
      error: { database: { status: 'down' } },
    });
    expect(o.ms, JSON.stringify(o)).toBeLessThan(2500);
  }
  // Queries and searches fail fast, and none hangs, with what the README promises a client: 503
  // RETRIEVAL.UNAVAILABLE and when to try again.
  expect(calls.length).toBeGreaterThan(0);
  for (const o of calls) {
    expect(o.status, JSON.stringify(o)).toBe(503);
    expect(JSON.parse(o.body), JSON.stringify(o)).toMatchObject({ error: { code: 'RETRIEVAL.UNAVAILABLE' } });
    expect(o.retryAfter, JSON.stringify(o)).toMatch(/^\d+$/);
    expect(o.ms, JSON.stringify(o)).toBeLessThan(2000);
  }

  // PostgreSQL went while there was ingestion to do, or nothing here shows that no document was lost.
  expect(before.queued + before.processing).toBeGreaterThan(0);
  // Back with no restart of ragnest, and every document posted before the outage indexed.
  expect(databaseBack).toBe(true);
  expect(answering).toBe(true);
  expect((await http(baseUrl, 'POST', '/rag/search', SEARCH)).status).toBe(200);
  const settled = await ingested(baseUrl, 'in-flight', IN_FLIGHT.length, 90_000).catch(() => undefined);
  console.info(
    `${label}: documents after recovery: ${JSON.stringify(await storedStates(databaseUrl, 'in-flight'))}`,
  );
  expect(settled, 'every document posted settles').toBeDefined();
  const { docs, chunks } = settled!;
  expect(docs).toMatchObject({ indexed: IN_FLIGHT.length, failed: 0 });
  expect(chunks).toBe(await storedChunks(databaseUrl, 'in-flight'));
  // Ready again on its own, before any traffic: a load balancer sends none to a replica that is not.
  expect(ready, `last probe: ${JSON.stringify(lastProbe)}`).toBe(true);
  expect(readyAfterQueries).toBe(true);
}

// No cached answers, so every query during the outage really needs the database.
const ENV = { ANSWER_CACHE_SIZE: '0' };

describe.skipIf(!HAS_SCIFACT)('chaos: PostgreSQL restarted under one process', () => {
  let postgres: PrivatePostgres;
  let databaseUrl: string;
  let monolith: TestApp;

  beforeAll(async () => {
    postgres = await PrivatePostgres.start();
    databaseUrl = await postgres.createDatabase('ragnest');
    monolith = await startTestApp(createApp, 'postgres', { ...ENV, DATABASE_URL: databaseUrl });
    await seed(monolith.baseUrl);
  });

  afterAll(async () => {
    // Back up if the test failed during the outage, so the process shuts down as usual.
    await postgres?.restart();
    await monolith?.close();
    await postgres?.close();
  });

  it(
    'readiness red and fast 503 RETRIEVAL.UNAVAILABLE with Retry-After during the outage; recovery with no restart; no document lost',
    () => outage('one process', monolith.baseUrl, [monolith.baseUrl], postgres, databaseUrl),
    180_000,
  );
});

describe.skipIf(!HAS_SCIFACT)('chaos: PostgreSQL restarted under the distributed deployment', () => {
  let postgres: PrivatePostgres;
  let databaseUrl: string;
  let d: DistributedDeployment;

  beforeAll(async () => {
    postgres = await PrivatePostgres.start();
    databaseUrl = await postgres.createDatabase('ragnest');
    d = await DistributedDeployment.start({
      retrievalReplicas: 1,
      env: { ...ENV, DATABASE_URL: databaseUrl },
    });
    await seed(d.baseUrl);
  });

  afterAll(async () => {
    await postgres?.restart();
    await d?.close();
    await postgres?.close();
  });

  it('readiness red and fast 503 RETRIEVAL.UNAVAILABLE with Retry-After during the outage; recovery with no restart; no document lost', async () => {
    const pids = [...d.services.values()].map((s) => s.child.pid);
    const withDatabase = ['ingestion', 'retrieval-1'].map(
      (name) => `http://127.0.0.1:${d.services.get(name)!.port}`,
    );
    await outage('distributed', d.baseUrl, withDatabase, postgres, databaseUrl);
    expect([...d.services.values()].map((s) => s.child.pid)).toEqual(pids);
  }, 180_000);
});
