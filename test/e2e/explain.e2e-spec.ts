import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deploy,
  eventually,
  FakeLlmServer,
  FakeRerankServer,
  http,
  llmReply,
  openEventStream,
  type Deployment,
  type DeploymentKind,
} from '#testing';
import { createApp } from '#app';

/**
 * `"explain": true` on /rag/search and /rag/query, in one process and with every context in its own
 * process over Redis (where the explain travels inside the search response): each hit's rank and raw
 * score in each retriever, its fused rank, the query as BM25 saw it, and for the query path the
 * variants searched and where re-ranking moved each citation. Without the flag nothing of it appears.
 */

interface RetrieverRank {
  rank: number | null;
  score: number | null;
  terms?: Record<string, number>;
}

interface Hit {
  documentId: string;
  score: number;
  explain?: { retrievers: Record<string, RetrieverRank>; fused?: { rank: number; score: number } };
}

const DOCUMENTS = [
  { id: 'park', title: 'Park', text: 'Dogs love running in the park every morning.' },
  { id: 'marathon', title: 'Marathon', text: 'The runner trained for the marathon by running daily.' },
  { id: 'food', title: 'Dog food', text: 'A dog needs food with enough protein.' },
  { id: 'cats', title: 'Cats', text: 'Cats sleep most of the day in warm places.' },
  { id: 'weather', title: 'Weather', text: 'Rain is expected across the coast tomorrow.' },
];
const QUERY = 'Running dogs';
/** What BM25 makes of QUERY: normalised, stemmed. */
const TERMS = [
  { term: 'run', weight: 1 },
  { term: 'dog', weight: 1 },
];
const MATCHING = ['park', 'marathon', 'food'];

async function ingestPets(t: Deployment): Promise<void> {
  const res = await http(t.baseUrl, 'POST', '/rag/collections/pets/documents', { documents: DOCUMENTS });
  expect(res.status).toBe(202);
  await eventually(async () => {
    const c = await http(t.baseUrl, 'GET', '/rag/collections/pets');
    return c.body.documents?.indexed === DOCUMENTS.length;
  });
}

/** Every rank is null or a 1-based position, and a retriever's ranks follow its scores. */
function expectConsistentLegs(hits: Hit[], legs: string[]): void {
  for (const leg of legs) {
    const ranked = hits
      .map((h) => h.explain!.retrievers[leg])
      .filter((r) => r.rank !== null)
      .sort((a, b) => a.rank! - b.rank!);
    for (const r of ranked) expect(r.rank).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < ranked.length; i++)
      expect(ranked[i].score!).toBeLessThanOrEqual(ranked[i - 1].score!);
    for (const h of hits) {
      const r = h.explain!.retrievers[leg];
      expect(r.rank === null).toBe(r.score === null);
    }
  }
}

describe.each<DeploymentKind>(['postgres', 'distributed'])('explain on %s', (kind) => {
  let t: Deployment;
  const search = (body: Record<string, unknown>) =>
    http(t.baseUrl, 'POST', '/rag/search', { collection: 'pets', query: QUERY, ...body });
  const query = (body: Record<string, unknown>) =>
    http(t.baseUrl, 'POST', '/rag/query', { collection: 'pets', query: QUERY, topK: 3, ...body });

  beforeAll(async () => {
    t = await deploy(kind, createApp);
    await ingestPets(t);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('explains a hybrid search: the retrievers, the fusion, and each hit in both lists', async () => {
    const res = await search({ explain: true });
    expect(res.status).toBe(200);
    expect(res.body.explain).toMatchObject({
      mode: 'hybrid',
      retrievers: {
        sparse: { query: QUERY, terms: TERMS },
        dense: { query: QUERY, model: expect.any(String), dimensions: expect.any(Number) },
      },
      fusion: { weights: { sparse: expect.any(Number), dense: expect.any(Number) } },
    });
    // Whichever fusion is configured; RRF names its k.
    const { fusion } = res.body.explain;
    expect(['score', 'rrf']).toContain(fusion.method);
    if (fusion.method === 'rrf') expect(fusion.k).toBeGreaterThan(0);
    else expect(fusion).not.toHaveProperty('k');
    const hits = res.body.results as Hit[];
    expect(hits).toHaveLength(DOCUMENTS.length);
    // The fused order is the order of the results.
    expect(hits.map((h) => h.explain!.fused)).toEqual(hits.map((h, i) => ({ rank: i + 1, score: h.score })));
    expectConsistentLegs(hits, ['sparse', 'dense']);
    const byId = new Map(hits.map((h) => [h.documentId, h.explain!.retrievers]));
    // BM25 finds exactly the documents with a query term; vectors rank the whole small collection.
    for (const id of MATCHING) {
      expect(byId.get(id)!.sparse.rank).not.toBeNull();
      expect(byId.get(id)!.sparse.score).toBeGreaterThan(0);
      expect(byId.get(id)!.dense.rank).not.toBeNull();
    }
    expect(byId.get('park')!.sparse.rank).toBe(1); // the one document with both terms
    // Each BM25 score is its terms' scores added up; park has both terms, marathon only "run".
    expect(Object.keys(byId.get('park')!.sparse.terms!).sort()).toEqual(['dog', 'run']);
    expect(Object.keys(byId.get('marathon')!.sparse.terms!)).toEqual(['run']);
    for (const id of MATCHING) {
      const { score, terms } = byId.get(id)!.sparse;
      expect(Object.values(terms!).reduce((a, b) => a + b, 0)).toBeCloseTo(score!, 5);
    }
    for (const id of ['cats', 'weather']) {
      expect(byId.get(id)!.sparse).toEqual({ rank: null, score: null });
      expect(byId.get(id)!.dense.rank).toBeGreaterThanOrEqual(1);
    }
  });

  it('explains a sparse search by its one retriever, with nothing fused', async () => {
    const res = await search({ mode: 'sparse', explain: true });
    expect(res.status).toBe(200);
    expect(res.body.explain).toEqual({
      mode: 'sparse',
      retrievers: { sparse: { query: QUERY, terms: TERMS } },
    });
    const hits = res.body.results as Hit[];
    expect(hits.map((h) => h.documentId).sort()).toEqual([...MATCHING].sort());
    expect(hits.map((h) => h.explain)).toEqual(
      hits.map((h, i) => ({
        retrievers: { sparse: { rank: i + 1, score: h.score, terms: expect.any(Object) } },
      })),
    );
  });

  it('adds nothing to a search that does not ask, and refuses an explain that is not a boolean', async () => {
    for (const body of [{}, { explain: false }]) {
      const res = await search(body);
      expect(res.status).toBe(200);
      expect(res.body).not.toHaveProperty('explain');
      expect((res.body.results as Hit[]).some((h) => 'explain' in h)).toBe(false);
    }
    for (const path of ['/rag/search', '/rag/query']) {
      const res = await http(t.baseUrl, 'POST', path, { collection: 'pets', query: QUERY, explain: 'yes' });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/explain/);
    }
  });

  it('documents the flag in the OpenAPI document', async () => {
    const doc = await http(t.baseUrl, 'GET', '/docs/openapi.json');
    for (const path of ['/rag/search', '/rag/query']) {
      const body = doc.body.paths[path].post.requestBody.content['application/json'].schema;
      expect(body.properties.explain).toMatchObject({
        type: 'boolean',
        description: expect.stringMatching(/explain/),
      });
      expect(body.required).not.toContain('explain');
    }
  });

  it('explains a query: the variants searched, their search, and where re-ranking moved each citation', async () => {
    const res = await query({ explain: true });
    expect(res.status).toBe(200);
    // Explain requests bypass the answer cache.
    expect(res.headers.get('cache-status')).toBe('ragnest; fwd=bypass');
    const { explain, citations } = res.body;
    expect(explain.query).toMatchObject({
      original: QUERY,
      variants: [{ text: explain.query.text, kind: 'question', mode: 'hybrid' }],
    });
    expect(explain.searches).toHaveLength(1);
    expect(explain.searches[0]).toMatchObject({ mode: 'hybrid', retrievers: { sparse: { terms: TERMS } } });
    expect(explain).not.toHaveProperty('fusion');
    expect(explain.rerank).toEqual({ provider: 'mmr' });
    expect(citations.length).toBeGreaterThan(0);
    for (const c of citations) {
      expect(c.explain.variants).toHaveLength(1);
      expect(c.explain.variants[0]).toMatchObject({ variant: 0, retrievers: { sparse: expect.anything() } });
      expect(c.explain.variants[0].rank).toBeGreaterThanOrEqual(1);
      expect(c.explain.variants[0].fused.rank).toBe(c.explain.variants[0].rank);
      expect(c.explain.reranked.before).toBeGreaterThanOrEqual(1);
      expect(c.explain.reranked.rank).toBeGreaterThanOrEqual(1);
      expect(c.explain.reranked.score).toBe(c.score);
      expect(c.explain).not.toHaveProperty('fused');
    }
    // Each citation's rank before re-ranking is its rank in the search, as the search itself reports it.
    const searched = (await search({ topK: 12, explain: true })).body.results as (Hit & {
      chunkId: string;
    })[];
    for (const c of citations) {
      const at = searched.findIndex((h) => h.chunkId === c.chunkId);
      expect(c.explain.reranked.before).toBe(at + 1);
    }
  });

  it('keeps explain out of the answer cache both ways, and out of answers that do not ask', async () => {
    const ask = (explain?: boolean) =>
      query({ query: 'dogs in the park', ...(explain !== undefined && { explain }) });
    const first = await ask();
    expect(first.status).toBe(200);
    expect(first.body).not.toHaveProperty('explain');
    expect(first.body.citations.some((c: object) => 'explain' in c)).toBe(false);
    await eventually(async () => (await ask()).headers.get('cache-status') === 'ragnest; hit');
    const explained = await ask(true);
    expect(explained.headers.get('cache-status')).toBe('ragnest; fwd=bypass');
    expect(explained.body.explain.query.original).toBe('dogs in the park');
    expect(explained.body.citations.every((c: { explain?: unknown }) => c.explain)).toBe(true);
    // An explicit false is the same request as none: served from the cache, without explain.
    const plain = await ask(false);
    expect(plain.headers.get('cache-status')).toBe('ragnest; hit');
    expect(plain.body).not.toHaveProperty('explain');
  });

  it('carries explain in the streamed answer’s done event', async () => {
    const stream = await openEventStream(`${t.baseUrl}/rag/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ collection: 'pets', query: QUERY, topK: 3, stream: true, explain: true }),
    });
    expect(stream.status).toBe(200);
    const events = await stream.readUntil();
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data.explain.query.variants).toHaveLength(1);
    expect(done.data.citations[0].explain.reranked.before).toBeGreaterThanOrEqual(1);
    // The sources sent first are the plain hits; their explain is the citations'.
    expect(events[0].data.sources.some((s: object) => 'explain' in s)).toBe(false);
  });
});

/**
 * The query path with an LLM (a fake OpenAI-compatible server) that writes other phrasings of the
 * question, and a cross-encoder (a fake TEI server): several variants fused, and each stage's failure
 * reported as what happened rather than breaking explain.
 */
describe.each<DeploymentKind>(['postgres', 'distributed'])('explain of an expanded query on %s', (kind) => {
  let llm: FakeLlmServer;
  let reranker: FakeRerankServer;
  let t: Deployment;
  const query = () =>
    http(t.baseUrl, 'POST', '/rag/query', {
      collection: 'pets',
      query: QUERY,
      topK: 3,
      expand: { multiQuery: true, hyde: false },
      explain: true,
    });

  beforeAll(async () => {
    llm = await new FakeLlmServer().start();
    reranker = await new FakeRerankServer().start();
    t = await deploy(kind, createApp, {
      ...llm.openaiEnv,
      RERANK_PROVIDER: 'tei',
      RERANK_BASE_URL: reranker.baseUrl,
    });
    await ingestPets(t);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await reranker?.close();
    await llm?.close();
  });

  it('explains each variant’s search, their fusion, and the cross-encoder’s order', async () => {
    llm.reset();
    llm.reply(llmReply.text('Dogs that run\nCats sleeping'), llmReply.text('Dogs run in the park [1].'));
    // Scores rising with the position sent: the model reverses the fused order.
    reranker.reply({ scores: (_query, _document, index) => (index + 1) / 10 });
    const res = await query();
    expect(res.status).toBe(200);
    expect(res.body.degraded).toEqual([]);
    const { explain, citations } = res.body;
    expect(explain.query.variants).toEqual([
      { text: QUERY, kind: 'question', mode: 'hybrid' },
      { text: 'Dogs that run', kind: 'rewrite', mode: 'hybrid' },
      { text: 'Cats sleeping', kind: 'rewrite', mode: 'hybrid' },
    ]);
    expect(
      explain.searches.map((s: { retrievers: { sparse: { query: string } } }) => s.retrievers.sparse.query),
    ).toEqual(explain.query.variants.map((v: { text: string }) => v.text));
    expect(explain.searches[2].retrievers.sparse.terms).toEqual([
      { term: 'cat', weight: 1 },
      { term: 'sleep', weight: 1 },
    ]);
    expect(explain.fusion).toEqual({ method: 'rrf', k: expect.any(Number) });
    expect(explain.rerank).toEqual({ provider: 'tei' });
    expect(citations.length).toBeGreaterThan(0);
    const sent = reranker.requests.at(-1)!.documents.length;
    for (const c of citations) {
      expect(c.explain.fused.rank).toBeGreaterThanOrEqual(1);
      expect(c.explain.reranked).toEqual({
        rank: expect.any(Number),
        score: c.score,
        before: c.explain.fused.rank,
      });
      // The model reversed the order it was sent.
      expect(c.explain.reranked.rank).toBe(sent - c.explain.reranked.before + 1);
      expect(c.explain.variants.length).toBeGreaterThan(0);
      for (const v of c.explain.variants) {
        expect(v.variant).toBeLessThan(3);
        expect(v.rank).toBeGreaterThanOrEqual(1);
        expect(Object.keys(v.retrievers).sort()).toEqual(['dense', 'sparse']);
      }
    }
  });

  it('reports a failed understanding and a failed reranker instead of breaking explain', async () => {
    llm.reset(); // nothing scripted: every model call fails
    reranker.reply({ status: 500, message: 'model crashed' });
    const res = await query();
    expect(res.status).toBe(200);
    expect(res.body.degraded).toEqual(expect.arrayContaining(['understanding', 'rerank']));
    const { explain, citations } = res.body;
    expect(explain.query.variants).toEqual([{ text: QUERY, kind: 'question', mode: 'hybrid' }]);
    expect(explain).not.toHaveProperty('fusion');
    expect(explain.rerank).toEqual({ provider: 'tei', degraded: true });
    expect(citations.length).toBeGreaterThan(0);
    for (const c of citations) {
      expect(c.explain).not.toHaveProperty('reranked');
      expect(c.explain.variants).toHaveLength(1);
    }
  });
});
