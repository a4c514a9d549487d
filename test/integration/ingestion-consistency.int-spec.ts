import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { INGESTION_PORT, RETRIEVAL_PORT, type IngestionPort, type RetrievalPort } from '#contracts';
import { INGESTION_QUEUE, type IngestionQueue } from '#ingestion';
import { startTestApp, type DatabaseKind, type TestApp } from '#testing';
import { createApp } from '../../apps/server/src/bootstrap.js';

/**
 * Deletes racing the indexer, and re-ingesting unchanged documents: the index and its counters stay
 * exactly consistent with the documents that exist, on PostgreSQL and on PGlite.
 */
describe.each<DatabaseKind>(['postgres', 'pglite'])('ingestion consistency on %s', (kind) => {
  let t: TestApp;
  let ingestion: IngestionPort;
  let retrieval: RetrievalPort;
  let queue: IngestionQueue;
  let db: DataSource;

  const docs = Array.from({ length: 300 }, (_, i) => ({
    id: `doc-${i}`,
    title: `Document ${i}`,
    metadata: { n: i },
    text: Array.from(
      { length: 12 },
      (_, j) => `Paragraph ${j} of document ${i} discusses topic ${i % 11} at length.`,
    ).join(' '),
  }));

  /** Everything the counters and postings claim, checked against the rows themselves. */
  async function invariants(collection: string) {
    const [row] = await db.query(
      `SELECT c.chunk_count::int AS counted,
              (SELECT count(*)::int FROM chunks k WHERE k.collection_id = c.id) AS chunks,
              c.token_count::int AS tokens,
              (SELECT coalesce(sum(token_count), 0)::int FROM chunks k WHERE k.collection_id = c.id) AS summed,
              (SELECT count(*)::int FROM chunk_terms t WHERE t.collection_id = c.id
                 AND NOT EXISTS (SELECT 1 FROM chunks k WHERE k.id = t.chunk_id)) AS orphan_postings,
              (SELECT count(*)::int FROM chunks k WHERE k.collection_id = c.id
                 AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = k.document_id)) AS orphan_chunks,
              (SELECT count(*)::int FROM chunk_vectors v JOIN embedding_sets s ON s.id = v.set_id
                WHERE s.collection_id = c.id AND NOT EXISTS (SELECT 1 FROM chunks k WHERE k.id = v.chunk_id)) AS orphan_vectors,
              (SELECT count(*)::int FROM chunks k JOIN embedding_sets s ON s.collection_id = k.collection_id AND s.state = 'active'
                WHERE k.collection_id = c.id
                  AND NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.set_id = s.id AND v.chunk_id = k.id)) AS unembedded
         FROM collections c WHERE c.name = $1`,
      [collection],
    );
    return row;
  }

  beforeAll(async () => {
    t = await startTestApp(createApp, kind);
    ingestion = t.app.get(INGESTION_PORT);
    retrieval = t.app.get(RETRIEVAL_PORT);
    queue = t.app.get(INGESTION_QUEUE);
    db = t.app.get(DataSource);
  });

  afterAll(() => t?.close());

  it('leaves nothing behind of documents deleted while they were being indexed', async () => {
    await ingestion.ingest({ collection: 'race', documents: docs });
    const deleted = docs.filter((_, i) => i % 3 === 0).map((d) => d.id);
    for (const id of deleted) await ingestion.deleteDocument({ collection: 'race', id });
    await queue.drained();

    const view = await ingestion.getCollection({ collection: 'race' });
    expect(view.documents).toEqual({
      queued: 0,
      processing: 0,
      indexed: docs.length - deleted.length,
      failed: 0,
    });
    const inv = await invariants('race');
    expect(inv.counted).toBe(inv.chunks);
    expect(inv.tokens).toBe(inv.summed);
    expect(inv).toMatchObject({ orphan_postings: 0, orphan_chunks: 0, orphan_vectors: 0, unembedded: 0 });
    const { results } = await retrieval.search({
      collection: 'race',
      query: 'document 3 topic 3',
      topK: 100,
      mode: 'hybrid',
    });
    expect(results.some((r) => deleted.includes(r.documentId))).toBe(false);
  });

  it('enqueues nothing when the same documents are sent again', async () => {
    const kept = docs.filter((_, i) => i % 3 !== 0);
    const before = await db.query(
      `SELECT external_id, version, updated_at FROM documents ORDER BY external_id`,
    );
    const res = await ingestion.ingest({ collection: 'race', documents: kept });
    expect(res.documents.every((d) => d.status === 'unchanged')).toBe(true);
    await queue.drained();
    const after = await db.query(
      `SELECT external_id, version, updated_at FROM documents ORDER BY external_id`,
    );
    expect(after).toEqual(before);
  });
});
