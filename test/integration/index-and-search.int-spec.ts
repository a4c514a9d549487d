import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INGESTION_PORT,
  RETRIEVAL_PORT,
  type IngestionPort,
  type RetrievalPort,
  type SearchMode,
} from '#contracts';
import { INGESTION_QUEUE, TITLE_WEIGHT, type IngestionQueue } from '#ingestion';
import { englishAnalyzer, termFrequencies } from '#text-analysis';
import { lexicalIndexMismatches, startTestApp, type DatabaseKind, type TestApp } from '#testing';
import { createApp } from '#app';

/**
 * The index through the contexts' ports, on real PostgreSQL + pgvector and on embedded PGlite: the
 * same SQL must behave the same on both.
 */
describe.each<DatabaseKind>(['postgres', 'pglite'])('ingest and search on %s', (kind) => {
  let t: TestApp;
  let ingestion: IngestionPort;
  let retrieval: RetrievalPort;
  let queue: IngestionQueue;

  const ingest = async (
    collection: string,
    documents: { id: string; text: string; title?: string; metadata?: Record<string, unknown> }[],
  ) => {
    const res = await ingestion.ingest({
      collection,
      documents: documents.map((d) => ({ metadata: {}, ...d })),
    });
    await queue.drained();
    return res;
  };

  beforeAll(async () => {
    t = await startTestApp(createApp, kind);
    ingestion = t.app.get(INGESTION_PORT);
    retrieval = t.app.get(RETRIEVAL_PORT);
    queue = t.app.get(INGESTION_QUEUE);
    await ingest('science', [
      {
        id: 'vitd',
        title: 'Vitamin D',
        text: 'Vitamin D supplementation improves bone mineral density in elderly women.',
        metadata: { year: 2019, tags: ['bone', 'nutrition'], source: 'trial' },
      },
      {
        id: 'statin',
        title: 'Statins',
        text: 'Statins lower LDL cholesterol and reduce cardiovascular events.',
        metadata: { year: 2021, source: 'review' },
      },
      {
        id: 'sleep',
        title: 'Sleep',
        text: 'Short sleep duration is associated with obesity in children.',
        metadata: { year: 2023, source: 'cohort', nested: { level: 2 } },
      },
    ]);
    await ingest('other', [
      { id: 'vitd', title: 'Elsewhere', text: 'Vitamin D in another collection entirely.' },
    ]);
  });

  afterAll(() => t?.close());

  it('indexes documents and counts them per status', async () => {
    const view = await ingestion.getCollection({ collection: 'science' });
    expect(view.documents).toEqual({ queued: 0, processing: 0, indexed: 3, failed: 0 });
    expect(view.chunks).toBe(3);
    const doc = await ingestion.getDocument({ collection: 'science', id: 'vitd' });
    expect(doc).toMatchObject({ id: 'vitd', status: 'indexed', chunkCount: 1, version: 1 });
    expect(doc.contentHash).toMatch(/^sha256:/);
  });

  it('scores sparse results with Okapi BM25 exactly', async () => {
    // A reference BM25 over the same chunks (the title's terms TITLE_WEIGHT times, then the text's, as
    // indexed), computed here in plain code.
    const docs = [
      ['Vitamin D', 'Vitamin D supplementation improves bone mineral density in elderly women.'],
      ['Statins', 'Statins lower LDL cholesterol and reduce cardiovascular events.'],
      ['Sleep', 'Short sleep duration is associated with obesity in children.'],
    ].map(([title, text]) => [
      ...Array.from({ length: TITLE_WEIGHT }, () => englishAnalyzer.terms(title)).flat(),
      ...englishAnalyzer.terms(text),
    ]);
    const { k1, b } = t.config.retrieval.bm25;
    const avgdl = docs.reduce((s, d) => s + d.length, 0) / docs.length;
    const query = 'vitamin D density and cholesterol in women';
    const qtf = termFrequencies(englishAnalyzer.terms(query));
    const expected = docs.map((d) => {
      const tf = termFrequencies(d);
      let score = 0;
      for (const [term, q] of qtf) {
        const df = docs.filter((x) => x.includes(term)).length;
        const f = tf.get(term) ?? 0;
        if (df === 0 || f === 0) continue;
        score +=
          q *
          Math.log(1 + (docs.length - df + 0.5) / (df + 0.5)) *
          ((f * (k1 + 1)) / (f + k1 * (1 - b + (b * d.length) / avgdl)));
      }
      return score;
    });
    const { results } = await retrieval.search({ collection: 'science', query, topK: 10, mode: 'sparse' });
    const byId = new Map(results.map((r) => [r.documentId, r.score]));
    expect(byId.get('vitd')).toBeCloseTo(expected[0], 5);
    expect(byId.get('statin')).toBeCloseTo(expected[1], 5);
    expect(byId.has('sleep')).toBe(false);
    expect(expected[2]).toBe(0);
  });

  it('keeps BM25 scores positive when a collection grew since its statistics were read', async () => {
    await ingest('growing', [{ id: 'g0', text: 'A note about kidney function.' }]);
    const first = await retrieval.search({
      collection: 'growing',
      query: 'kidney',
      topK: 10,
      mode: 'sparse',
    });
    expect(first.results.map((r) => r.documentId)).toEqual(['g0']);
    // Within the second the statistics are reused, the term's chunks outnumber the chunks they counted.
    await ingest(
      'growing',
      ['g1', 'g2', 'g3'].map((id) => ({ id, text: `Kidney injury marker ${id} in kidney disease.` })),
    );
    const { results } = await retrieval.search({
      collection: 'growing',
      query: 'kidney',
      topK: 10,
      mode: 'sparse',
    });
    expect(results).toHaveLength(4);
    for (const r of results) expect(r.score).toBeGreaterThan(0);
  });

  it.each<SearchMode>(['sparse', 'dense', 'hybrid'])(
    'finds the relevant document first in %s mode',
    async (mode) => {
      const { results } = await retrieval.search({
        collection: 'science',
        query: 'does vitamin D help bone density?',
        topK: 3,
        mode,
      });
      expect(results[0].documentId).toBe('vitd');
      expect(results[0].chunkId).toBe('vitd#0');
      expect(results[0].title).toBe('Vitamin D');
      expect(results[0].metadata).toMatchObject({ year: 2019 });
      for (let i = 1; i < results.length; i++)
        expect(results[i - 1].score).toBeGreaterThanOrEqual(results[i].score);
    },
  );

  it('never returns another collection’s rows', async () => {
    for (const mode of ['sparse', 'dense', 'hybrid'] as const) {
      const { results } = await retrieval.search({
        collection: 'other',
        query: 'vitamin D bone density statins sleep',
        topK: 10,
        mode,
      });
      expect(results.map((r) => r.title)).toEqual(['Elsewhere']);
    }
  });

  it('applies metadata filters in every mode', async () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [{ source: 'review' }, ['statin']],
      [{ year: { $gte: 2021 } }, ['sleep', 'statin']],
      [{ year: { $lt: 2021 } }, ['vitd']],
      [{ tags: 'bone' }, ['vitd']],
      [{ source: { $in: ['trial', 'cohort'] } }, ['sleep', 'vitd']],
      [{ source: { $nin: ['trial', 'cohort'] } }, ['statin']],
      [{ source: { $ne: 'trial' }, year: { $gt: 2020 } }, ['sleep', 'statin']],
      [{ 'nested.level': 2 }, ['sleep']],
      [{ missing: null }, ['sleep', 'statin', 'vitd']],
      [{ year: { $gte: '2020' } }, []],
    ];
    for (const mode of ['sparse', 'dense', 'hybrid'] as const) {
      for (const [filter, expected] of cases) {
        const { results } = await retrieval.search({
          collection: 'science',
          query: 'vitamin statins sleep bone cholesterol obesity',
          topK: 10,
          mode,
          filter: filter as never,
        });
        expect(
          [...new Set(results.map((r) => r.documentId))].sort(),
          `${mode} ${JSON.stringify(filter)}`,
        ).toEqual(expected);
      }
    }
  });

  it('treats the same text again as unchanged and costs nothing', async () => {
    const res = await ingest('science', [
      {
        id: 'statin',
        title: 'Statins',
        text: 'Statins lower LDL cholesterol and reduce cardiovascular events.',
        metadata: { year: 2021, source: 'review' },
      },
    ]);
    expect(res.documents).toEqual([{ id: 'statin', status: 'unchanged', jobId: expect.any(String) }]);
    expect((await ingestion.getDocument({ collection: 'science', id: 'statin' })).version).toBe(1);
  });

  it('replaces the chunks of a document given new text', async () => {
    const long = Array.from(
      { length: 30 },
      (_, i) => `Sentence ${i} about mitochondria and cellular respiration.`,
    ).join(' ');
    const res = await ingest('science', [{ id: 'statin', title: 'Mitochondria', text: long }]);
    expect(res.documents[0].status).toBe('queued');
    const doc = await ingestion.getDocument({ collection: 'science', id: 'statin' });
    expect(doc).toMatchObject({ status: 'indexed', version: 2 });
    expect(doc.chunkCount).toBeGreaterThan(1);
    const view = await ingestion.getCollection({ collection: 'science' });
    expect(view.chunks).toBe(2 + doc.chunkCount);
    const old = await retrieval.search({
      collection: 'science',
      query: 'statins cholesterol',
      topK: 10,
      mode: 'sparse',
    });
    expect(old.results.map((r) => r.documentId)).not.toContain('statin');
    const fresh = await retrieval.search({
      collection: 'science',
      query: 'mitochondria respiration',
      topK: 10,
      mode: 'hybrid',
    });
    expect(fresh.results[0].documentId).toBe('statin');
  });

  it('deletes a document with its chunks, vectors and postings', async () => {
    await ingestion.deleteDocument({ collection: 'science', id: 'sleep' });
    for (const mode of ['sparse', 'dense', 'hybrid'] as const) {
      const { results } = await retrieval.search({
        collection: 'science',
        query: 'sleep obesity children',
        topK: 10,
        mode,
      });
      expect(results.map((r) => r.documentId)).not.toContain('sleep');
    }
    await expect(ingestion.getDocument({ collection: 'science', id: 'sleep' })).rejects.toMatchObject({
      status: 404,
    });
    const view = await ingestion.getCollection({ collection: 'science' });
    expect(view.documents.indexed).toBe(2);
    const db = t.app.get((await import('typeorm')).DataSource);
    const [{ chunks }] = await db.query(
      `SELECT count(*)::int AS chunks FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.external_id = 'sleep'`,
    );
    expect(chunks).toBe(0);
    expect(await lexicalIndexMismatches(db, 'science')).toEqual({
      orphans: 0,
      missing: 0,
      wrongLength: 0,
      overlapping: [],
    });
  });

  it('vacuums and analyses the documents and the index tables once the queue is idle after a burst of documents', async () => {
    const docs = Array.from({ length: 520 }, (_, i) => ({
      id: `burst-${i}`,
      text: `burst document number ${i} about topic ${i % 7}`,
    }));
    await ingest('burst', docs);
    const db = t.app.get((await import('typeorm')).DataSource);
    const rows: { relname: string; vacuumed: boolean; analysed: boolean }[] = await db.query(
      `SELECT relname, last_vacuum IS NOT NULL AS vacuumed, last_analyze IS NOT NULL AS analysed
         FROM pg_stat_user_tables WHERE relname IN ('chunks', 'documents', 'lexical_blocks') ORDER BY relname`,
    );
    expect(rows).toEqual([
      { relname: 'chunks', vacuumed: true, analysed: true },
      { relname: 'documents', vacuumed: true, analysed: true },
      { relname: 'lexical_blocks', vacuumed: true, analysed: true },
    ]);
    const { results } = await retrieval.search({
      collection: 'burst',
      query: 'document number 42',
      topK: 1,
      mode: 'sparse',
    });
    expect(results[0].documentId).toBe('burst-42');
  });

  it('answers 404 for an unknown collection or document', async () => {
    await expect(
      retrieval.search({ collection: 'nope', query: 'x', topK: 1, mode: 'hybrid' }),
    ).rejects.toMatchObject({ status: 404 });
    await expect(ingestion.getCollection({ collection: 'nope' })).rejects.toMatchObject({ status: 404 });
    await expect(ingestion.deleteDocument({ collection: 'science', id: 'nope' })).rejects.toMatchObject({
      status: 404,
    });
  });
});
