import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  eventually,
  http,
  startTestApp,
  TEST_REDIS_URL,
  type TestApp,
  type TestDatabase,
} from '#testing';
import { createApp } from '#app';
import { CollectionRepository } from '../../libs/ingestion/src/infrastructure/collection.repository.js';
import { EmbeddingSetRepository } from '../../libs/ingestion/src/infrastructure/embedding-set.repository.js';

const DOCS = Array.from({ length: 120 }, (_, i) => ({
  id: `d${i}`,
  title: `Note ${i}`,
  text: `Observation ${i}: the ${['heart', 'lung', 'liver', 'kidney'][i % 4]} study measured marker ${i % 7} in ${i} patients.`,
}));

/**
 * An embedding model change, then a re-index, on real PostgreSQL, with the in-process queue and with
 * BullMQ. A collection filled by one model is searched with that model's vectors after the server moves
 * to another; the re-index fills a new set beside it while search keeps answering, then switches, and
 * afterwards every chunk has exactly one vector, of the new model.
 */
describe.each(['in-process', 'bullmq'])('re-index after a model change, %s queue', (queue) => {
  let db: TestDatabase;
  let t: TestApp | undefined;
  let sql: pg.Client;
  const env = (dimensions: string) => ({
    DATABASE_URL: db.url,
    EMBEDDINGS_DIMENSIONS: dimensions,
    // Small enough for these documents to get an HNSW index, and a slow re-index to watch.
    VECTOR_INDEX_MIN_CHUNKS: '50',
    EMBEDDINGS_BATCH_SIZE: '1',
    ...(queue === 'bullmq'
      ? { REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: `ragnest-ri-${randomBytes(4).toString('hex')}` }
      : {}),
  });
  const collection = () => http(t!.baseUrl, 'GET', '/rag/collections/notes').then((r) => r.body);
  const search = (mode: string) =>
    http(t!.baseUrl, 'POST', '/rag/search', { collection: 'notes', query: 'kidney marker', mode, topK: 5 });

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });

  afterAll(async () => {
    await t?.close();
    await sql?.end();
    await db?.drop();
  });

  it('indexes a first load, then builds its HNSW index in one pass', async () => {
    t = await startTestApp(createApp, 'postgres', env('384'));
    expect(
      (await http(t.baseUrl, 'POST', '/rag/collections/notes/documents', { documents: DOCS })).status,
    ).toBe(202);
    const view = await eventually(async () => {
      const c = await collection();
      return c.documents.indexed === DOCS.length && c.embedding.index === 'hnsw' ? c : undefined;
    }, 60_000);
    expect(view.embedding).toEqual({ model: 'hashing-v2-d384', dimensions: 384, index: 'hnsw' });
    const plan = await sql.query(
      `SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'chunk_vectors'::regclass AND indisvalid`,
    );
    expect(plan.rows.map((r) => r.name)).toContain(`chunk_vectors_set_${await activeSet()}_hnsw_half`);
    await t.close();
    t = undefined;
  });

  async function activeSet(): Promise<number> {
    const { rows } = await sql.query(
      `SELECT s.id FROM embedding_sets s JOIN collections c ON c.id = s.collection_id WHERE c.name = 'notes' AND s.state = 'active'`,
    );
    return rows[0].id;
  }

  it('keeps searching the old vectors after the model changes, re-indexes while answering, then switches', async () => {
    t = await startTestApp(createApp, 'postgres', env('256'));
    // The collection still holds 384-d vectors: its queries are embedded by that model.
    expect((await collection()).embedding.model).toBe('hashing-v2-d384');
    const before = await search('dense');
    expect(before.status).toBe(200);
    expect(before.body.results.length).toBeGreaterThan(0);

    const started = await http(t.baseUrl, 'POST', '/rag/collections/notes/reindex');
    expect(started.status).toBe(202);
    expect(started.body).toEqual({
      collection: 'notes',
      status: 'reindexing',
      model: 'hashing-v2-d256',
      dimensions: 256,
    });
    // A document added during the re-index gets vectors of both models.
    await http(t.baseUrl, 'POST', '/rag/collections/notes/documents', {
      documents: [
        { id: 'late', text: 'Zebrafish telomere lengths, noted while the collection was re-indexed.' },
      ],
    });

    let answeredDuring = 0;
    const statuses: number[] = [];
    for (;;) {
      const view = await collection();
      if (!view.reindex) break;
      expect(view.reindex).toMatchObject({ model: 'hashing-v2-d256', status: 'running' });
      expect(view.embedding.model).toBe('hashing-v2-d384');
      for (const mode of ['dense', 'hybrid']) {
        const r = await search(mode);
        statuses.push(r.status);
        if (r.status === 200 && r.body.results.length > 0) answeredDuring++;
      }
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(answeredDuring).toBeGreaterThan(0);

    const after = await eventually(async () => {
      const c = await collection();
      return c.embedding.model === 'hashing-v2-d256' && c.documents.indexed === DOCS.length + 1
        ? c
        : undefined;
    });
    expect(after.embedding).toEqual({ model: 'hashing-v2-d256', dimensions: 256, index: 'hnsw' });
    expect(after.reindex).toBeUndefined();

    // Every chunk has one vector in the active set, of the new model; the old set is dropped after its grace.
    const check = async () =>
      (
        await sql.query(
          `SELECT (SELECT count(*)::int FROM chunks) AS chunks,
                  (SELECT count(*)::int FROM chunk_vectors v JOIN embedding_sets s ON s.id = v.set_id
                    WHERE s.state = 'active' AND s.model = 'hashing-v2-d256' AND vector_dims(v.embedding) = 256) AS new_vectors,
                  (SELECT count(*)::int FROM chunk_vectors) AS all_vectors,
                  (SELECT count(*)::int FROM embedding_sets) AS sets`,
        )
      ).rows[0];
    const final = await eventually(async () => {
      const c = await check();
      return c.sets === 1 ? c : undefined;
    }, 30_000);
    expect(final.new_vectors).toBe(final.chunks);
    expect(final.all_vectors).toBe(final.chunks);

    const dense = await http(t.baseUrl, 'POST', '/rag/search', {
      collection: 'notes',
      query: 'zebrafish telomere',
      mode: 'dense',
      topK: 3,
    });
    expect(dense.status).toBe(200);
    expect(dense.body.results[0].documentId).toBe('late');

    // Nothing left to do: the collection is on the configured model.
    const again = await http(t.baseUrl, 'POST', '/rag/collections/notes/reindex');
    expect(again.body.status).toBe('current');
  });

  it('answers 404 for a collection that does not exist', async () => {
    const res = await http(t!.baseUrl, 'POST', '/rag/collections/nope/reindex');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('INGESTION.COLLECTION_NOT_FOUND');
  });

  it('answers 404, not 500, for a collection deleted between being found and its re-index starting', async () => {
    const ingested = await http(t!.baseUrl, 'POST', '/rag/collections/gone/documents', {
      documents: [{ id: 'g', text: 'soon deleted' }],
    });
    expect(ingested.status).toBe(202);
    // The reindex use case's two steps, with the delete landing between them.
    const found = await t!.app.get(CollectionRepository, { strict: false }).requireCollection('gone');
    expect((await http(t!.baseUrl, 'DELETE', '/rag/collections/gone')).status).toBe(204);
    const started = t!.app.get(EmbeddingSetRepository, { strict: false }).startReindex(found, 'other', 8);
    await expect(started).rejects.toMatchObject({ code: 'INGESTION.COLLECTION_NOT_FOUND' });
  });
});
