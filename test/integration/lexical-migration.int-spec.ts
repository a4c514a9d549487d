import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { INGESTION_PORT, RETRIEVAL_PORT, type IngestionPort, type RetrievalPort } from '#contracts';
import { INGESTION_QUEUE, type IngestionQueue } from '#ingestion';
import { LexicalIndex } from '#search-index';
import {
  lexicalIndexMismatches,
  scifactAvailable,
  scifactDocuments,
  startTestApp,
  type DatabaseKind,
  type TestApp,
} from '#testing';
import { createApp } from '#app';
import { LexicalMaintenance } from '../../libs/ingestion/src/infrastructure/queue/lexical-maintenance.js';
import { COLLECTION_STATS_TTL_MS } from '../../libs/retrieval/src/infrastructure/chunk-search.repository.js';

const HAS_SCIFACT = scifactAvailable('lexical-migration.int-spec.ts');
const QUERIES = [
  'vitamin D deficiency and bone fractures',
  'statins reduce cardiovascular mortality',
  'gene expression in tumour cells',
  'obesity in children and sleep',
  'antibiotic resistance in bacteria',
];

/**
 * A database from before the block index (its collections' postings as rows of `chunk_terms`) moves to
 * blocks without losing a posting, and its collections answer searches all through the move, with the
 * same results before, during and after it.
 */
describe.skipIf(!HAS_SCIFACT).each<DatabaseKind>(['postgres', 'pglite'])(
  'moving the lexical index to blocks on %s',
  (kind) => {
    let t: TestApp;
    let ingestion: IngestionPort;
    let retrieval: RetrievalPort;
    let queue: IngestionQueue;
    let db: DataSource;

    /**
     * Each query's top 10 as chunk ids with scores to 4 decimals: the postings layout sums a chunk's term
     * scores in SQL, in whatever order PostgreSQL aggregates, so the last digits may differ.
     */
    const top = async () =>
      Promise.all(
        QUERIES.map(async (query) =>
          (await retrieval.search({ collection: 'old', query, topK: 10, mode: 'sparse' })).results.map(
            (r) => `${r.chunkId} ${r.score.toFixed(4)}`,
          ),
        ),
      );

    beforeAll(async () => {
      t = await startTestApp(createApp, kind);
      ingestion = t.app.get(INGESTION_PORT);
      retrieval = t.app.get(RETRIEVAL_PORT);
      queue = t.app.get(INGESTION_QUEUE);
      db = t.app.get(DataSource);
    });

    afterAll(() => t?.close());

    it('moves a collection left in postings, answering searches the same all through the move', async () => {
      const docs = scifactDocuments(kind === 'postgres' ? 1500 : 400).map((d) => ({ ...d, metadata: {} }));
      for (let i = 0; i < docs.length; i += 1000)
        await ingestion.ingest({ collection: 'old', documents: docs.slice(i, i + 1000) });
      await queue.drained();
      const before = await top();

      // The collection as an older ragnest left it: every posting a row of chunk_terms, no blocks.
      const [{ id }] = await db.query(`SELECT id FROM collections WHERE name = 'old'`);
      const { postings } = await new LexicalIndex().dump(db, id);
      const rows = [...postings].flatMap(([term, list]) => list.map((p) => ({ term, ...p })));
      for (let i = 0; i < rows.length; i += 20_000) {
        const part = rows.slice(i, i + 20_000);
        await db.query(
          `INSERT INTO chunk_terms (collection_id, term, chunk_id, tf, len)
         SELECT $1, u.term, u.chunk_id, u.tf, u.len FROM unnest($2::text[], $3::bigint[], $4::real[], $5::int[])
             AS u(term, chunk_id, tf, len)`,
          [
            id,
            part.map((r) => r.term),
            part.map((r) => r.chunkId),
            part.map((r) => r.tf),
            part.map((r) => r.len),
          ],
        );
      }
      await db.query(`DELETE FROM lexical_blocks WHERE collection_id = $1`, [id]);
      await db.query(`UPDATE collections SET lexical_layout = 'postings' WHERE id = $1`, [id]);
      // Retrieval trusts a cached "blocks" (a layout never moves back, as it just did here) for a second.
      await new Promise((r) => setTimeout(r, COLLECTION_STATS_TTL_MS + 100));
      expect(await top()).toEqual(before);

      // The move, with searches and an edit arriving while it runs.
      let moving = true;
      const during: string[][][] = [];
      const searching = (async () => {
        while (moving) during.push(await top());
      })();
      const edit = ingestion
        .ingest({
          collection: 'old',
          documents: [
            {
              id: 'late',
              title: 'Late arrival',
              text: 'A document added while the index moves.',
              metadata: {},
            },
          ],
        })
        .then(() => queue.drained());
      await t.app.get(LexicalMaintenance).moveLegacyCollections();
      await edit;
      moving = false;
      await searching;

      expect(during.length).toBeGreaterThan(0);
      // Each search saw the collection before the late document or after it (its count moves N and the
      // average length, so every score), never a collection missing postings.
      const after = await top();
      for (const result of during) expect([before, after]).toContainEqual(result);
      const [{ layout, left }] = await db.query(
        `SELECT lexical_layout AS layout, (SELECT count(*)::int FROM chunk_terms WHERE collection_id = $1) AS left
         FROM collections WHERE id = $1`,
        [id],
      );
      expect({ layout, left }).toEqual({ layout: 'blocks', left: 0 });
      expect(after.map((q) => q.map((hit) => hit.split(' ')[0]))).toEqual(
        before.map((q) => q.map((hit) => hit.split(' ')[0])),
      );
      expect(await lexicalIndexMismatches(db, 'old')).toEqual({
        orphans: 0,
        missing: 0,
        wrongLength: 0,
        overlapping: [],
      });
      const { results } = await retrieval.search({
        collection: 'old',
        query: 'late arrival',
        topK: 1,
        mode: 'sparse',
      });
      expect(results[0].documentId).toBe('late');
    });
  },
);
