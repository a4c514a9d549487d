import { describe, expect, it } from 'vitest';
import { QueryBody, type Citation, type RetrievalPort, type SearchHit, type SearchRequest } from '#contracts';
import { explainCandidates, explainCitations, explainReranked } from './query-explain.js';
import { plainQuery, searchVariants, VARIANT_RRF_K } from './retrieve-sources.js';

/** A hit as a search with explain returns it: found by BM25 at `rank`, by vectors not at all. */
const hit = (id: string, rank = 1): SearchHit => ({
  documentId: id,
  chunkId: `${id}#0`,
  score: 1 / rank,
  title: null,
  text: id,
  metadata: {},
  explain: { retrievers: { sparse: { rank, score: 10 - rank }, dense: { rank: null, score: null } } },
});

const citation = (id: string, index: number): Citation => ({
  index,
  documentId: id,
  chunkId: `${id}#0`,
  title: null,
  text: id,
  score: 1,
});

/** Answers each search with the scripted ids for its query, with explain when asked, recording requests. */
function fakeRetrieval(results: Record<string, string[]>) {
  const searches: SearchRequest[] = [];
  const port: RetrievalPort = {
    search: (request) => {
      searches.push(request);
      const hits = (results[request.query] ?? []).map((id, i) => hit(id, i + 1));
      return Promise.resolve(
        request.explain
          ? {
              results: hits,
              timings: {},
              explain: { mode: request.mode, retrievers: { sparse: { query: request.query, terms: [] } } },
            }
          : { results: hits.map(({ explain: _explain, ...h }) => h), timings: {} },
      );
    },
    rerank: () => Promise.reject(new Error('not used')),
  };
  return { port, searches };
}

const body = QueryBody.parse({ collection: 'c', query: 'q', explain: true });

describe('explainCandidates', () => {
  it('gives a candidate of a single variant its rank there and the search’s own explain, unfused', () => {
    const list = [hit('a', 1), hit('b', 2)];
    const explains = explainCandidates([list], list, false);
    expect(explains.get('b#0')).toEqual({ variants: [{ variant: 0, rank: 2, ...list[1].explain }] });
  });

  it('lists every variant that found a fused candidate, by index, and its fused rank and score', () => {
    const lists = [[hit('a', 1), hit('b', 2)], [], [hit('b', 1)]];
    const candidates = [
      { ...hit('b'), score: 0.9 },
      { ...hit('a'), score: 0.5 },
    ];
    const explains = explainCandidates(lists, candidates, true);
    expect(explains.get('b#0')).toEqual({
      variants: [
        { variant: 0, rank: 2, ...lists[0][1].explain },
        { variant: 2, rank: 1, ...lists[2][0].explain },
      ],
      fused: { rank: 1, score: 0.9 },
    });
    expect(explains.get('a#0')!.variants.map((v) => v.variant)).toEqual([0]);
    expect(explains.get('a#0')!.fused).toEqual({ rank: 2, score: 0.5 });
  });
});

describe('explainReranked and explainCitations', () => {
  const candidates = [hit('a'), hit('b'), hit('c')];
  const sources = [
    { ...hit('c'), score: 0.7 },
    { ...hit('a'), score: 0.4 },
  ];

  it('tells each source’s rank before and after re-ranking', () => {
    const reranked = explainReranked(candidates, sources);
    expect(reranked.get('c#0')).toEqual({ rank: 1, score: 0.7, before: 3 });
    expect(reranked.get('a#0')).toEqual({ rank: 2, score: 0.4, before: 1 });
    expect(reranked.has('b#0')).toBe(false);
  });

  it('attaches to each citation its candidate explain, and where re-ranking put it when it answered', () => {
    const found = explainCandidates([candidates], candidates, false);
    const citations = [citation('c', 1), citation('a', 2)];
    const explained = explainCitations(citations, found, explainReranked(candidates, sources));
    expect(explained[0].explain).toEqual({
      variants: [{ variant: 0, rank: 3, ...candidates[2].explain }],
      reranked: { rank: 1, score: 0.7, before: 3 },
    });
    const unranked = explainCitations(citations, found, undefined);
    expect(unranked[1].explain).toEqual({ variants: [{ variant: 0, rank: 1, ...candidates[0].explain }] });
    expect(citations[0]).not.toHaveProperty('explain');
  });
});

describe('searchVariants with explain', () => {
  it('asks each search for its explain and gathers it by variant, the hits left without it', async () => {
    const { port, searches } = fakeRetrieval({ q: ['a', 'b'], p1: ['b'], passage: ['h'] });
    const understood = { original: 'Q?', text: 'q', language: 'en', queries: ['q', 'p1'], hyde: 'passage' };
    const { hits, explain } = await searchVariants(port, body, understood, 10);
    expect(searches.every((s) => s.explain === true)).toBe(true);
    expect(explain!.variants).toEqual([
      { text: 'q', kind: 'question', mode: 'hybrid' },
      { text: 'p1', kind: 'rewrite', mode: 'hybrid' },
      { text: 'passage', kind: 'hyde', mode: 'dense' },
    ]);
    expect(explain!.searches.map((s) => s.retrievers.sparse!.query)).toEqual(['q', 'p1', 'passage']);
    expect(explain!.fusion).toEqual({ method: 'rrf', k: VARIANT_RRF_K });
    expect(hits.some((h) => 'explain' in h)).toBe(false);
    expect(hits.map((h) => h.documentId)).toEqual(['b', 'a', 'h']);
    expect(explain!.candidates.get('b#0')).toMatchObject({
      variants: [
        { variant: 0, rank: 2 },
        { variant: 1, rank: 1 },
      ],
      fused: { rank: 1, score: hits[0].score },
    });
  });

  it('does not fuse a single variant, and asks nothing more without explain', async () => {
    const one = fakeRetrieval({ q: ['a'] });
    const { explain } = await searchVariants(one.port, body, plainQuery(body), 10);
    expect(explain).not.toHaveProperty('fusion');
    expect(explain!.variants).toEqual([{ text: 'q', kind: 'question', mode: 'hybrid' }]);
    expect(explain!.candidates.get('a#0')).toEqual({
      variants: [{ variant: 0, rank: 1, ...hit('a').explain }],
    });

    const plain = fakeRetrieval({ q: ['a'] });
    const res = await searchVariants(plain.port, { ...body, explain: undefined }, plainQuery(body), 10);
    const { explain: _explain, ...unexplained } = hit('a');
    expect(res).toEqual({ hits: [unexplained] });
    expect(plain.searches[0]).not.toHaveProperty('explain');
  });
});
