import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DataSource } from 'typeorm';
import { INGESTION_PORT, RETRIEVAL_PORT, type IngestionPort, type RetrievalPort } from '#contracts';
import { INGESTION_QUEUE, type IngestionQueue } from '#ingestion';
import { eventually, startTestApp, type DatabaseKind, type TestApp } from '#testing';
import { createApp } from '#app';
import { IndexMaintenance } from '../../libs/ingestion/src/infrastructure/queue/index-maintenance.js';

/**
 * The one-pass HNSW build on PostgreSQL and on PGlite: a collection's first load is searched exactly
 * while it is under way (before the index exists), then, once ingestion is idle with enough chunks, its
 * set gets its HNSW index, dense search uses it, and results are those
 * of the exact scan (a small set: the graph finds every neighbour).
 */
describe.each<DatabaseKind>(['postgres', 'pglite'])('one-pass vector index on %s', (kind) => {
  let t: TestApp;
  let ingestion: IngestionPort;
  let retrieval: RetrievalPort;
  let db: DataSource;
  const topics = ['heart', 'lung', 'liver', 'kidney', 'bone', 'skin'];
  const documents = Array.from({ length: 40 }, (_, i) => ({
    id: `d${i}`,
    text: `Study ${i} of the ${topics[i % topics.length]}: marker ${i % 5} rose in ${i + 3} patients.`,
    metadata: {},
  }));
  const POOL_SIZE = 4;
  const dense = () =>
    retrieval.search({ collection: 'organs', query: 'kidney marker', mode: 'dense', topK: 5 });

  beforeAll(async () => {
    t = await startTestApp(createApp, kind, {
      VECTOR_INDEX_MIN_CHUNKS: '20',
      VECTOR_INDEX_BUILD_MEMORY_MB: '77',
      VECTOR_INDEX_SUSPEND_FOR_DOCUMENTS: '60',
      DATABASE_POOL_SIZE: String(POOL_SIZE),
    });
    ingestion = t.app.get(INGESTION_PORT);
    retrieval = t.app.get(RETRIEVAL_PORT);
    db = t.app.get(DataSource);
  });

  afterAll(() => t?.close());

  const hnswIndexes = (): Promise<{ name: string }[]> =>
    db.query(
      `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'chunk_vectors' AND indexname LIKE 'chunk_vectors_set_%_hnsw%'`,
    );

  /**
   * The HNSW index the plan of dense search's statement walks for a collection, if any (with a few dozen
   * rows in the table the planner prefers scanning them).
   */
  async function denseIndexUsed(collection: string): Promise<string | undefined> {
    const statements: string[] = [];
    const original = db.query.bind(db);
    const spy = vi.spyOn(db, 'query').mockImplementation(((sql: string, params?: unknown[]) => {
      if (sql.includes('FROM chunk_vectors v')) statements.push(sql);
      return original(sql, params);
    }) as typeof db.query);
    try {
      await retrieval.search({ collection, query: 'kidney marker', mode: 'dense', topK: 5 });
    } finally {
      spy.mockRestore();
    }
    const [{ id }] = await db.query(
      `SELECT s.id FROM embedding_sets s JOIN collections c ON c.id = s.collection_id WHERE c.name = $1 AND s.state = 'active'`,
      [collection],
    );
    const vector = `[${Array.from({ length: 384 }, (_, i) => (i === id % 384 ? 1 : 0)).join(',')}]`;
    const plan: { 'QUERY PLAN': string }[] = await db.query(`EXPLAIN ${statements[0]}`, [vector, 5]);
    return plan
      .map((r) => /Index Scan using (chunk_vectors_set_\d+_hnsw\w*)/.exec(r['QUERY PLAN'])?.[1])
      .find(Boolean);
  }

  it('searches exactly while the load is under way, then builds the index once and searches through it', async () => {
    // The load's first part: 10 chunks, below VECTOR_INDEX_MIN_CHUNKS, so no index is built yet and
    // dense search scans the set exactly, with the rest of the load still to come.
    const queue = t.app.get<IngestionQueue>(INGESTION_QUEUE);
    await ingestion.ingest({ collection: 'organs', documents: documents.slice(0, 10) });
    await queue.drained();
    const midway = await ingestion.getCollection({ collection: 'organs' });
    expect(midway).toMatchObject({ chunks: 10, embedding: { index: 'exact' } });
    expect(await hnswIndexes()).toHaveLength(0);
    const during = await dense();
    expect(during.results).toHaveLength(5);
    expect(during.results[0].text).toMatch(/kidney/);

    await ingestion.ingest({ collection: 'organs', documents: documents.slice(10) });
    await queue.drained();
    const view = await eventually(async () => {
      const c = await ingestion.getCollection({ collection: 'organs' });
      return c.embedding.index === 'hnsw' ? c : undefined;
    });
    expect(view.chunks).toBe(documents.length);
    const indexes = await hnswIndexes();
    expect(indexes).toHaveLength(1);
    if (kind === 'postgres') {
      // The build's own maintenance_work_mem does not stay on the connection it gives back to the pool:
      // none of the pooled connections (all held at once by the sleeps) has the build's 77 MB.
      const settings: { m: string }[][] = await Promise.all(
        Array.from({ length: POOL_SIZE }, () =>
          db.query(`SELECT current_setting('maintenance_work_mem') AS m, pg_sleep(0.1)`),
        ),
      );
      expect(settings.map((rows) => rows[0].m)).not.toContain('77MB');
      expect(settings).toHaveLength(POOL_SIZE);
    }

    expect(indexes[0].name).toMatch(/_hnsw_half$/);
    const viaIndex = await dense();
    expect(viaIndex.results).toHaveLength(5);
    expect(viaIndex.results[0].text).toMatch(/kidney/);
    // The same query without the index (an exact scan) finds neighbours as near (chunks tied on their
    // score may come in either order).
    await db.query(`DROP INDEX ${indexes[0].name}`);
    const exact = await dense();
    expect(viaIndex.results.map((r) => r.score)).toEqual(exact.results.map((r) => r.score));
  });

  it('drops the index for a large load into an indexed collection, and builds it again after', async () => {
    const queue = t.app.get<IngestionQueue>(INGESTION_QUEUE);
    const indexed = async (): Promise<boolean> =>
      (
        await db.query(
          `SELECT s.indexed FROM embedding_sets s JOIN collections c ON c.id = s.collection_id
            WHERE c.name = 'load' AND s.state = 'active'`,
        )
      )[0].indexed;
    const load = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => ({
        ...documents[(from + i) % documents.length],
        id: `l${from + i}`,
      }));
    await ingestion.ingest({ collection: 'load', documents: load(0, 30) });
    await queue.drained();
    await eventually(async () => (await indexed()) || undefined);

    // 120 documents waiting, four times what the collection holds, past the threshold of 60.
    const maintenance = t.app.get(IndexMaintenance);
    const suspended = maintenance.suspendedIndexes;
    await ingestion.ingest({ collection: 'load', documents: load(30, 150) });
    await queue.drained();
    await eventually(async () => (await indexed()) || undefined);
    expect(maintenance.suspendedIndexes).toBe(suspended + 1);
    expect(await ingestion.getCollection({ collection: 'load' })).toMatchObject({
      chunks: 150,
      embedding: { index: 'hnsw' },
    });
    const [set] = await db.query(
      `SELECT s.id FROM embedding_sets s JOIN collections c ON c.id = s.collection_id WHERE c.name = 'load'`,
    );
    expect((await hnswIndexes()).map((i) => i.name)).toContain(`chunk_vectors_set_${set.id}_hnsw_half`);
  });

  it('moves a set from a single-precision index built before to a half one, searching through one or the other throughout', async () => {
    const queue = t.app.get<IngestionQueue>(INGESTION_QUEUE);
    await ingestion.ingest({ collection: 'older', documents });
    await queue.drained();
    const set = await eventually(async () => {
      const [row] = await db.query(
        `SELECT s.id, s.indexed FROM embedding_sets s JOIN collections c ON c.id = s.collection_id
          WHERE c.name = 'older' AND s.state = 'active'`,
      );
      return row?.indexed ? row : undefined;
    });
    const before = await retrieval.search({
      collection: 'older',
      query: 'kidney marker',
      mode: 'dense',
      topK: 5,
    });
    // The set as a database from before half-precision indexes has it: a `vector` index, 'single'.
    await db.query(`DROP INDEX chunk_vectors_set_${set.id}_hnsw_half`);
    await db.query(
      `CREATE INDEX chunk_vectors_set_${set.id}_hnsw ON chunk_vectors
         USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE set_id = ${set.id}`,
    );
    await db.query(`UPDATE embedding_sets SET index_precision = 'single' WHERE id = $1`, [set.id]);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // retrieval's statistics, read again
    expect(await denseIndexUsed('older')).toBe(`chunk_vectors_set_${set.id}_hnsw`);
    const search = () =>
      retrieval.search({ collection: 'older', query: 'kidney marker', mode: 'dense', topK: 5 });
    expect((await search()).results.map((r) => r.score)).toEqual(before.results.map((r) => r.score));

    // Idle maintenance builds the half index beside it, switches the set, then drops the old one.
    await t.app.get(IndexMaintenance).whenIdle();
    expect((await hnswIndexes()).map((i) => i.name)).toContain(`chunk_vectors_set_${set.id}_hnsw_half`);
    expect((await hnswIndexes()).map((i) => i.name)).not.toContain(`chunk_vectors_set_${set.id}_hnsw`);
    const [after] = await db.query(`SELECT indexed, index_precision FROM embedding_sets WHERE id = $1`, [
      set.id,
    ]);
    expect(after).toEqual({ indexed: true, index_precision: 'half' });
    expect(await denseIndexUsed('older')).toBe(`chunk_vectors_set_${set.id}_hnsw_half`);
    expect((await search()).results.map((r) => r.score)).toEqual(before.results.map((r) => r.score));
  });

  it("gives every pooled connection ragnest's session settings, JIT off among them", async () => {
    const rows: { jit: string; ef: string }[][] = await Promise.all(
      Array.from({ length: kind === 'postgres' ? POOL_SIZE : 1 }, () =>
        db.query(
          `SELECT current_setting('jit') AS jit, current_setting('hnsw.ef_search') AS ef, pg_sleep(0.1)`,
        ),
      ),
    );
    expect(rows.map((r) => [r[0].jit, r[0].ef])).toEqual(rows.map(() => ['off', '100']));
  });
});
