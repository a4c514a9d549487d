import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ContextName } from '#contracts';
import {
  DistributedDeployment,
  eventually,
  http,
  PrivateRedis,
  scifactAvailable,
  scifactDocuments,
} from '#testing';

/**
 * Ingestion on BullMQ with real processes, real Redis and real PostgreSQL: a worker killed mid-ingest
 * and a Redis restart, each while work is still pending, lose no document and duplicate no chunk: the
 * collection ends with the same chunks, document by document, as a clean ingest of the same documents.
 */
const HAS_SCIFACT = scifactAvailable('ingestion-durability.e2e-spec.ts');
const documents = scifactDocuments;

async function post(
  d: DistributedDeployment,
  collection: string,
  docs: ReturnType<typeof documents>,
): Promise<void> {
  for (let i = 0; i < docs.length; i += 500) {
    const res = await http(d.baseUrl, 'POST', `/rag/collections/${collection}/documents`, {
      documents: docs.slice(i, i + 500),
    });
    expect(res.status).toBe(202);
  }
}

async function view(d: DistributedDeployment, collection: string) {
  const res = await http(d.baseUrl, 'GET', `/rag/collections/${collection}`);
  return res.status === 200 ? (res.body as { documents: Record<string, number>; chunks: number }) : undefined;
}

async function allIndexed(d: DistributedDeployment, collection: string, n: number, timeoutMs = 180_000) {
  return eventually(
    async () => {
      const v = await view(d, collection);
      return v && v.documents.indexed === n && v.documents.queued + v.documents.processing === 0
        ? v
        : undefined;
    },
    timeoutMs,
    250,
  );
}

async function duplicateChunks(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM (SELECT document_id, position FROM chunks GROUP BY 1, 2 HAVING count(*) > 1) d`,
    );
    return rows[0].n;
  } finally {
    await client.end();
  }
}

/** How many chunks each document of a collection has, by its external id, as stored. */
async function chunksPerDocument(databaseUrl: string, collection: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; n: number }>(
      `SELECT d.external_id AS id, count(c.id)::int AS n
         FROM documents d JOIN collections col ON col.id = d.collection_id
         LEFT JOIN chunks c ON c.document_id = d.id
        WHERE col.name = $1 GROUP BY 1`,
      [collection],
    );
    return Object.fromEntries(rows.map((r) => [r.id, r.n]));
  } finally {
    await client.end();
  }
}

/** The same documents ingested with nothing going wrong end with the same chunks, document by document. */
async function expectChunksOfACleanRun(
  d: DistributedDeployment,
  faulted: { chunks: number },
  collection: string,
  docs: ReturnType<typeof documents>,
) {
  await post(d, 'clean', docs);
  const clean = await allIndexed(d, 'clean', docs.length);
  expect(faulted.chunks).toBe(clean.chunks);
  const perDocument = await chunksPerDocument(d.env.DATABASE_URL, collection);
  expect(Object.keys(perDocument)).toHaveLength(docs.length);
  expect(perDocument).toEqual(await chunksPerDocument(d.env.DATABASE_URL, 'clean'));
}

describe.skipIf(!HAS_SCIFACT)('durable ingestion', () => {
  let d: DistributedDeployment | undefined;
  let redis: PrivateRedis | undefined;

  afterEach(async () => {
    await d?.close();
    d = undefined;
  });
  afterAll(async () => {
    await redis?.kill();
  });

  it('finishes a 2,000-document ingest after its worker is killed with SIGKILL, with the chunks of a clean run', async () => {
    d = await DistributedDeployment.start({ retrievalReplicas: 1 });
    const docs = documents(2000);
    await post(d, 'killed', docs);
    const before = await eventually(
      async () => {
        const indexed = (await view(d!, 'killed'))?.documents.indexed ?? 0;
        return indexed >= 300 ? indexed : undefined;
      },
      120_000,
      100,
    );
    await d.kill('ingestion', 'SIGKILL');
    // Killed part-way: there was work left for the restarted worker.
    expect(before).toBeLessThan(2000);
    await d.startService('ingestion', ContextName.Ingestion);
    const killed = await allIndexed(d, 'killed', 2000);
    expect(killed.documents.failed).toBe(0);
    await expectChunksOfACleanRun(d, killed, 'killed', docs);
    expect(await duplicateChunks(d.env.DATABASE_URL)).toBe(0);
  }, 300_000);

  it('finishes a 1,000-document ingest after Redis restarts empty under pending work, with the chunks of a clean run', async () => {
    redis = await PrivateRedis.start();
    d = await DistributedDeployment.start({ retrievalReplicas: 1, env: { REDIS_URL: redis.url } });
    const docs = documents(1000);
    await post(d, 'restart', docs);
    const before = await eventually(
      async () => {
        const v = await view(d!, 'restart');
        return v && v.documents.indexed >= 150 ? v.documents : undefined;
      },
      120_000,
      100,
    );
    await redis.kill();
    // Redis went while there was work pending, or nothing here shows that none was lost.
    expect(before.queued + before.processing).toBeGreaterThan(0);
    expect(before.indexed).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 1_500));
    await redis.restart();
    const done = await allIndexed(d, 'restart', 1000);
    expect(done.documents.failed).toBe(0);
    await expectChunksOfACleanRun(d, done, 'restart', docs);
    expect(await duplicateChunks(d.env.DATABASE_URL)).toBe(0);
  }, 300_000);
});
