import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { INGESTION_PORT, RETRIEVAL_PORT, type IngestionPort, type RetrievalPort } from '#contracts';
import { INGESTION_QUEUE, type IngestionQueue } from '#ingestion';
import { englishAnalyzer, termFrequencies } from '#text-analysis';
import { LexicalIndex, type Posting } from '#search-index';
import type { AppConfig } from '#platform';
import {
  exhaustiveBm25,
  lexicalIndexMismatches,
  SCIFACT_DIR,
  scifactAvailable,
  scifactDocuments,
  startTestApp,
  type TestApp,
} from '#testing';
import { createApp } from '#app';
import { chunkTerms } from '../../libs/ingestion/src/domain/indexed-terms.js';

const QRELS = join(SCIFACT_DIR, 'qrels', 'test.tsv');
const QUERIES = join(SCIFACT_DIR, 'queries.jsonl');
const HAS_SCIFACT = scifactAvailable('bm25-exactness.int-spec.ts');

/**
 * The postings of the chunks' own text: every chunk analysed again (title weighting included, as
 * ingestion does). Nothing of the index is used, so scoring them exhaustively checks the index and
 * block-max together.
 */
function postingsFromText(
  chunks: { id: number; title: string | null; text: string }[],
): Map<string, Posting[]> {
  const postings = new Map<string, Posting[]>();
  for (const c of chunks) {
    const terms = chunkTerms(c.title ? englishAnalyzer.terms(c.title) : [], c.text);
    for (const [term, tf] of termFrequencies(terms)) {
      if (!postings.has(term)) postings.set(term, []);
      postings.get(term)!.push({ chunkId: c.id, tf, len: terms.length });
    }
  }
  return postings;
}

/**
 * The lexical index is exact: for every SciFact test query, the sparse top 10 is the exhaustive BM25 top
 * 10 of the same collection, ids, order and scores, ties included; and it stays so while documents are
 * replaced and deleted under a search load.
 */
describe('BM25 over block-max posting blocks', () => {
  let t: TestApp;
  let ingestion: IngestionPort;
  let retrieval: RetrievalPort;
  let queue: IngestionQueue;
  let db: DataSource;

  beforeAll(async () => {
    t = await startTestApp(createApp, 'postgres');
    ingestion = t.app.get(INGESTION_PORT);
    retrieval = t.app.get(RETRIEVAL_PORT);
    queue = t.app.get(INGESTION_QUEUE);
    db = t.app.get(DataSource);
  });

  afterAll(() => t?.close());

  it.skipIf(!HAS_SCIFACT)('returns the exhaustive BM25 top 10 for all 300 SciFact test queries', async () => {
    const docs = scifactDocuments(Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < docs.length; i += 1000)
      await ingestion.ingest({
        collection: 'scifact',
        documents: docs.slice(i, i + 1000).map((d) => ({ ...d, metadata: {} })),
      });
    await queue.drained();
    const chunks: {
      id: string;
      title: string | null;
      text: string;
      external_id: string;
      position: number;
    }[] = await db.query(
      `SELECT c.id, c.title, c.text, d.external_id, c.position FROM chunks c JOIN documents d ON d.id = c.document_id
          JOIN collections k ON k.id = c.collection_id WHERE k.name = 'scifact'`,
    );
    const [{ chunk_count, token_count }] = await db.query(
      `SELECT chunk_count, token_count FROM collections WHERE name = 'scifact'`,
    );
    const { k1, b } = t.config.retrieval.bm25;
    const postings = postingsFromText(
      chunks.map((c) => ({ id: Number(c.id), title: c.title, text: c.text })),
    );
    const scoring = { chunks: Number(chunk_count), avgdl: Number(token_count) / Number(chunk_count), k1, b };
    const exhaustive = (query: string, k: number) =>
      exhaustiveBm25(postings, [...termFrequencies(englishAnalyzer.terms(query))], scoring, k);
    const chunkName = new Map(chunks.map((c) => [Number(c.id), `${c.external_id}#${c.position}`]));

    const ids = new Set(
      readFileSync(QRELS, 'utf8')
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split('\t')[0]),
    );
    const queries = readFileSync(QUERIES, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { _id: string; text: string })
      .filter((q) => ids.has(q._id));
    expect(queries).toHaveLength(300);
    for (const q of queries) {
      const { results } = await retrieval.search({
        collection: 'scifact',
        query: q.text,
        topK: 10,
        mode: 'sparse',
      });
      const expected = exhaustive(q.text, 10);
      expect(
        results.map((r) => r.chunkId),
        q.text,
      ).toEqual(expected.map((e) => chunkName.get(e.id)));
      expect(results.map((r) => r.score)).toEqual(expected.map((e) => Math.round(e.score * 1e6) / 1e6));
    }

    // Again, 8 searches at a time through a block cache of one 1 MiB page (the index is several): pages
    // are reclaimed under searches that decoded from them, and every search stays exact.
    const lexical = new LexicalIndex({ retrieval: { lexicalBlockCacheMb: 1 } } as AppConfig);
    const [{ id: collectionId }] = await db.query(`SELECT id FROM collections WHERE name = 'scifact'`);
    const wrong: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < queries.length) {
        const q = queries[next++];
        const terms = termFrequencies(englishAnalyzer.terms(q.text));
        const { hits } = await lexical.search(db, { collectionId, layout: 'blocks', terms, k: 10, scoring });
        const expected = exhaustive(q.text, 10);
        const same =
          hits.length === expected.length &&
          hits.every((h, i) => h.id === expected[i].id && Math.abs(h.score - expected[i].score) < 1e-9);
        if (!same) wrong.push(q._id);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(wrong).toEqual([]);
    expect(lexical.cache.allocated()).toBe(1 << 20);
    expect(lexical.cache.size()).toBeLessThanOrEqual(1 << 20);
    expect(lexical.cache.hits).toBeGreaterThan(0);
    expect(lexical.cache.misses).toBeGreaterThan(0);
    // The terms' headers too were kept between searches (1,024 a MiB of the block cache): the collection
    // did not change.
    expect(lexical.headers.hits).toBeGreaterThan(0);
    expect(lexical.headers.size()).toBeLessThanOrEqual(1024);
  });

  it('never returns a deleted chunk or a replaced version once the change has committed, under a search load', async () => {
    const docs = Array.from({ length: 200 }, (_, i) => ({
      id: `d${i}`,
      title: `Report ${i}`,
      text: `Marker version0 report ${i} on glucose insulin topic ${i % 9}. ${'Padding sentence about metabolism. '.repeat(i % 5)}`,
      metadata: {},
    }));
    await ingestion.ingest({ collection: 'churn', documents: docs });
    await queue.drained();

    // Changes committed so far: a document deleted, or at a version whose older texts must not appear.
    const deletedAt = new Map<string, number>();
    const replacedAt = new Map<string, { version: number; at: number }>();
    const violations: string[] = [];
    let searching = true;
    let searches = 0;
    const searcher = async () => {
      while (searching) {
        const started = performance.now();
        const deleted = new Map(deletedAt);
        const replaced = new Map(replacedAt);
        for (const mode of ['sparse', 'hybrid'] as const) {
          const { results } = await retrieval.search({
            collection: 'churn',
            query: 'marker glucose insulin report',
            topK: 50,
            mode,
          });
          searches++;
          for (const r of results) {
            if ((deleted.get(r.documentId) ?? Infinity) < started)
              violations.push(`${mode}: deleted ${r.documentId}`);
            const version = Number(/version(\d+)/.exec(r.text)?.[1]);
            const current = replaced.get(r.documentId);
            if (current && current.at < started && version < current.version)
              violations.push(`${mode}: ${r.documentId} at version ${version} after ${current.version}`);
          }
        }
      }
    };
    const load = [searcher(), searcher()];
    const lexical = (await import('../../libs/ingestion/src/infrastructure/queue/lexical-maintenance.js'))
      .LexicalMaintenance;
    for (let round = 1; round <= 4; round++) {
      const merge = t.app.get(lexical).mergeAll();
      const edited = docs
        .filter((_, i) => i % 4 === round % 4 && !deletedAt.has(`d${i}`))
        .map((d) => ({ ...d, text: d.text.replace(/version\d+/, `version${round}`) }));
      await ingestion.ingest({ collection: 'churn', documents: edited });
      for (const d of docs.filter((_, i) => i % 17 === round)) {
        await ingestion.deleteDocument({ collection: 'churn', id: d.id });
        deletedAt.set(d.id, performance.now());
      }
      await queue.drained();
      for (const d of edited) replacedAt.set(d.id, { version: round, at: performance.now() });
      await merge;
    }
    searching = false;
    await Promise.all(load);
    expect(searches).toBeGreaterThan(20);
    expect(violations).toEqual([]);
    expect(await lexicalIndexMismatches(db, 'churn')).toEqual({
      orphans: 0,
      missing: 0,
      wrongLength: 0,
      overlapping: [],
    });
  });
});
