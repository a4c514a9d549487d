import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  CollectionView,
  IngestionPort,
  RerankRequest,
  RetrievalPort,
  SearchHit,
  SearchRequest,
} from '#contracts';
import { subsetCorpus, subsetQrels } from './beir-subset.js';
import { parseEvalReport } from './compare.js';
import { withRerankedHead } from './eval-modes.js';
import { evaluate, formatResults, readQrels, type EvalOptions } from './evaluate.js';

const hit = (documentId: string, chunk = 0): SearchHit => ({
  documentId,
  chunkId: `${documentId}#${chunk}`,
  score: 1,
  title: null,
  text: documentId,
  metadata: {},
});
const doc = (id: string) => ({ id, text: id, metadata: {} });

describe('BEIR subsets', () => {
  const qrels = new Map([
    ['q1', new Map([['d5', 1]])],
    ['q2', new Map([['d2', 1]])],
    ['q3', new Map([['d9', 1]])],
  ]);
  const corpus = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd9'].map(doc);

  it('keeps every judged document and the first N others, in corpus order', () => {
    expect(subsetCorpus(corpus, qrels, 2).map((d) => d.id)).toEqual(['d1', 'd2', 'd3', 'd5', 'd9']);
    expect(subsetCorpus(corpus, qrels, 0).map((d) => d.id)).toEqual(['d2', 'd5', 'd9']);
    expect(subsetCorpus(corpus, qrels, undefined)).toEqual(corpus);
  });

  it('keeps the first N queries in qrels order', () => {
    expect([...subsetQrels(qrels, 2).keys()]).toEqual(['q1', 'q2']);
    expect(subsetQrels(qrels, undefined)).toBe(qrels);
  });
});

describe('the re-ranked head of a fused list', () => {
  it("puts the re-ranker's order first, then the rest in the fused order", () => {
    const fused = ['a', 'b', 'c', 'd', 'e'].map((id) => hit(id));
    // b was sent but not returned: it keeps its fused place among the rest.
    const reranked = [hit('c'), hit('a')];
    expect(withRerankedHead(fused, reranked).map((h) => h.documentId)).toEqual(['c', 'a', 'b', 'd', 'e']);
  });
});

/**
 * evaluate() over fake ports on a tiny BEIR directory: what it searches and re-ranks, what it scores,
 * and what it writes for --compare.
 */
describe('evaluate', () => {
  let dir: string;
  let searches: SearchRequest[];
  let reranks: RerankRequest[];
  let held: number;
  // Every query finds the chunks d3#0, d2#0, d3#1, in that fused order.
  const fused = [hit('d3'), hit('d2'), hit('d3', 1)];
  const retrieval: RetrievalPort = {
    async search(request) {
      searches.push(request);
      return { results: fused, timings: {} };
    },
    // The re-ranker reverses what it is sent.
    async rerank(request) {
      reranks.push(request);
      return { results: [...request.hits].reverse() };
    },
  };
  const ingestion = {
    async getCollection(): Promise<CollectionView> {
      return {
        name: 'c',
        documents: { queued: 0, processing: 0, indexed: held, failed: 0 },
        chunks: held,
        embedding: { model: 'hashing', dimensions: 8, index: 'hnsw' },
      };
    },
  } as unknown as IngestionPort;
  const options = (over: Partial<EvalOptions> = {}): EvalOptions => ({
    dir,
    collection: 'c',
    modes: ['hybrid', 'hybrid-rerank'],
    split: 'test',
    progress: false,
    rerankDocuments: 2,
    ...over,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ragnest-eval-'));
    mkdirSync(join(dir, 'qrels'));
    const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n');
    writeFileSync(
      join(dir, 'corpus.jsonl'),
      jsonl(['d1', 'd2', 'd3', 'd4'].map((id) => ({ _id: id, text: id }))),
    );
    writeFileSync(
      join(dir, 'queries.jsonl'),
      jsonl([
        { _id: 'q1', text: 'first question' },
        { _id: 'q2', text: 'second question' },
      ]),
    );
    writeFileSync(join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\n');
    searches = [];
    reranks = [];
    held = 2;
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('re-ranks the first rerankDocuments fused chunks of a hybrid search, the rest after them', async () => {
    const results = await evaluate(ingestion, retrieval, options({ docs: 0, queries: 1 }));
    expect(searches.map((s) => s.mode)).toEqual(['hybrid', 'hybrid']);
    expect(reranks).toHaveLength(1);
    expect(reranks[0]).toMatchObject({ query: 'first question', topK: 2 });
    expect(reranks[0].hits.map((h) => h.chunkId)).toEqual(['d3#0', 'd2#0']);
    const [hybrid, reranked] = results;
    expect(hybrid.perQuery.q1.ranked).toEqual(['d3', 'd2']);
    expect(reranked.perQuery.q1.ranked).toEqual(['d2', 'd3']);
    expect(reranked.metrics.ndcg10).toBe(1);
    expect(hybrid.metrics.ndcg10).toBeCloseTo(1 / Math.log2(3), 12);
    expect(formatResults(results)).toMatch(/\| hybrid-rerank \| 1\.0000 \|/);
  });

  it('counts the queries whose search came back degraded, by missing leg, and says so in the table', async () => {
    let calls = 0;
    const flaky: RetrievalPort = {
      ...retrieval,
      async search(request) {
        searches.push(request);
        // Every other search answered without its dense leg, as when the embedder is down.
        return calls++ % 2 === 0
          ? { results: fused, timings: {} }
          : { results: fused, timings: {}, degraded: ['dense'] };
      },
    };
    const results = await evaluate(ingestion, flaky, options({ docs: 0, queries: 2, modes: ['hybrid'] }));
    expect(results[0]).toMatchObject({ queries: 2, degraded: 1, degradedLegs: { dense: 1 } });
    expect(results[0].perQuery.q2.degraded).toEqual(['dense']);
    expect(results[0].perQuery.q1.degraded).toBeUndefined();
    expect(formatResults(results)).toMatch(
      /WARNING: hybrid: 1 of 2 queries came back degraded \(dense missing 1×\)/,
    );
  });

  it('writes an output that --compare reads back, with the subset and the query texts', async () => {
    const output = join(dir, 'out.json');
    await evaluate(ingestion, retrieval, options({ docs: 0, queries: 2, output }));
    const json = JSON.parse(readFileSync(output, 'utf8'));
    expect(json).toMatchObject({
      format: 'ragnest-eval',
      datasetName: dir.split('/').pop(),
      split: 'test',
      subset: { docs: 0, queries: 2 },
      corpusDocuments: 2,
      rerankDocuments: 2,
    });
    expect(json.results[0].perQuery.q2).toMatchObject({
      query: 'second question',
      ranked: ['d3', 'd2'],
    });
    const report = parseEvalReport(json, output);
    expect(report.modes.get('hybrid-rerank')!.get('q1')!.query).toBe('first question');
  });

  it('refuses a collection holding more documents than the corpus evaluated', async () => {
    held = 3;
    await expect(evaluate(ingestion, retrieval, options({ docs: 0 }))).rejects.toThrow(
      'collection "c" holds 3 documents, more than the 2 evaluated',
    );
    expect(searches).toEqual([]);
  });

  it('reads qrels in file order', async () => {
    expect([...(await readQrels(join(dir, 'qrels', 'test.tsv'))).keys()]).toEqual(['q1', 'q2']);
  });
});
