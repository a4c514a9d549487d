import { describe, expect, it } from 'vitest';
import { AppError, QueryBody, type RetrievalPort, type SearchHit, type SearchRequest } from '#contracts';
import {
  plainQuery,
  searchAhead,
  searchVariants,
  understandRequest,
  VARIANT_RRF_K,
} from './retrieve-sources.js';

const hit = (id: string): SearchHit => ({
  documentId: id,
  chunkId: `${id}#0`,
  score: 1,
  title: null,
  text: id,
  metadata: {},
});

/** Answers each search with the scripted ids for its query, recording what was asked. */
function fakeRetrieval(results: Record<string, string[]>) {
  const searches: SearchRequest[] = [];
  const port: RetrievalPort = {
    search: (request) => {
      searches.push(request);
      return Promise.resolve({ results: (results[request.query] ?? []).map(hit), timings: {} });
    },
    rerank: () => Promise.reject(new Error('not used')),
  };
  return { port, searches };
}

const body = QueryBody.parse({ collection: 'c', query: 'q', filter: { year: 2020 } });

describe('searchVariants', () => {
  it('returns a single query’s results as retrieval ranked them', async () => {
    const { port, searches } = fakeRetrieval({ q: ['a', 'b'] });
    const { hits } = await searchVariants(port, body, plainQuery(body), 20);
    expect(hits).toEqual([hit('a'), hit('b')]);
    expect(searches).toEqual([
      { collection: 'c', query: 'q', topK: 20, mode: 'hybrid', filter: { year: 2020 } },
    ]);
  });

  it('searches every phrasing and fuses them by reciprocal rank, up to topK', async () => {
    const { port, searches } = fakeRetrieval({ q: ['a', 'b', 'c'], p1: ['b', 'd'], p2: ['b', 'a', 'e'] });
    const understood = { original: 'q', text: 'q', language: 'und', queries: ['q', 'p1', 'p2'] };
    const { hits } = await searchVariants(port, body, understood, 4);
    expect(searches.map((s) => [s.query, s.mode])).toEqual([
      ['q', 'hybrid'],
      ['p1', 'hybrid'],
      ['p2', 'hybrid'],
    ]);
    // b: found by all three (ranks 2, 1, 1); a: ranks 1 and 2; d only by a phrasing still gets in.
    expect(hits.map((h) => h.documentId)).toEqual(['b', 'a', 'd', 'c']);
    const best = 3 / (VARIANT_RRF_K + 1);
    expect(hits[0].score).toBeCloseTo((1 / 62 + 1 / 61 + 1 / 61) / best, 10);
    expect(hits[0].score).toBeLessThanOrEqual(1);
  });

  it('searches the hypothetical passage by meaning, unless the request is sparse only', async () => {
    const { port, searches } = fakeRetrieval({ q: ['a'], passage: ['h'] });
    const understood = { ...plainQuery(body), hyde: 'passage' };
    const { hits } = await searchVariants(port, body, understood, 10);
    expect(searches.map((s) => [s.query, s.mode])).toEqual([
      ['q', 'hybrid'],
      ['passage', 'dense'],
    ]);
    expect(hits.map((h) => h.documentId).sort()).toEqual(['a', 'h']);

    const sparse = fakeRetrieval({});
    await searchVariants(sparse.port, { ...body, mode: 'sparse' }, understood, 10);
    expect(sparse.searches.map((s) => s.mode)).toEqual(['sparse', 'sparse']);
  });

  it('fails when a search fails: there is no answer without sources', async () => {
    const port: RetrievalPort = {
      search: (r) =>
        r.query === 'p1' ? Promise.reject(new Error('down')) : Promise.resolve({ results: [], timings: {} }),
      rerank: () => Promise.reject(new Error('not used')),
    };
    const understood = { original: 'q', text: 'q', language: 'und', queries: ['q', 'p1'] };
    await expect(searchVariants(port, body, understood, 10)).rejects.toMatchObject({
      code: 'RETRIEVAL.UNAVAILABLE',
      status: 503,
    });
  });

  it('keeps the code of a failure of the caller’s making', async () => {
    const port: RetrievalPort = {
      search: () => Promise.reject(new AppError('RETRIEVAL.INVALID_FILTER', 'bad filter')),
      rerank: () => Promise.reject(new Error('not used')),
    };
    await expect(searchVariants(port, body, plainQuery(body), 10)).rejects.toMatchObject({
      code: 'RETRIEVAL.INVALID_FILTER',
    });
  });

  it('names dense search once in degraded when any search answered without it', async () => {
    const port: RetrievalPort = {
      search: (r) =>
        Promise.resolve({ results: [hit(r.query)], timings: {}, degraded: r.query === 'q' ? [] : ['dense'] }),
      rerank: () => Promise.reject(new Error('not used')),
    };
    const degraded: string[] = [];
    const understood = { original: 'q', text: 'q', language: 'und', queries: ['q', 'p1', 'p2'] };
    const { hits } = await searchVariants(port, body, understood, 10, degraded);
    expect(hits).toHaveLength(3);
    expect(degraded).toEqual(['dense']);
  });
});

describe('understandRequest', () => {
  it('passes the conversation and the expansion asked for', () => {
    const asked = QueryBody.parse({
      collection: 'c',
      query: 'and then?',
      history: [{ role: 'user', content: 'what happened?' }],
      expand: { hyde: true },
    });
    expect(understandRequest(asked)).toEqual({
      collection: 'c',
      query: 'and then?',
      history: [{ role: 'user', content: 'what happened?' }],
      expand: { hyde: true },
    });
  });
});

describe('searchAhead', () => {
  it('searches the normalised question at once, and the matching variant uses its reply', async () => {
    const { port, searches } = fakeRetrieval({ 'q r': ['a'], p1: ['b'] });
    const typed = QueryBody.parse({ collection: 'c', query: '  q\u00a0 r ' });
    const ahead = searchAhead(port, typed, 20);
    expect(searches.map((s) => s.query)).toEqual(['q r']);
    const understood = { original: typed.query, text: 'q r', language: 'und', queries: ['q r', 'p1'] };
    const { hits } = await searchVariants(port, typed, understood, 20, [], ahead);
    // The question was not searched a second time; only the other phrasing was.
    expect(searches.map((s) => s.query)).toEqual(['q r', 'p1']);
    expect(hits.map((h) => h.documentId).sort()).toEqual(['a', 'b']);
  });

  it('is not used when understanding rewrote the question, and its failure is then nobody’s', async () => {
    const searches: string[] = [];
    const port: RetrievalPort = {
      search: (request) => {
        searches.push(request.query);
        return request.query === 'q'
          ? Promise.reject(new AppError('RETRIEVAL.INVALID_FILTER', 'boom'))
          : Promise.resolve({ results: [hit('z')], timings: {} });
      },
      rerank: () => Promise.reject(new Error('not used')),
    };
    const ahead = searchAhead(port, body, 10);
    const understood = { original: 'q', text: 'standalone', language: 'und', queries: ['standalone'] };
    const { hits } = await searchVariants(port, body, understood, 10, [], ahead);
    expect(searches).toEqual(['q', 'standalone']);
    expect(hits).toEqual([hit('z')]);
  });

  it('starts nothing for a conversation, whose question will be rewritten', () => {
    const { port, searches } = fakeRetrieval({});
    const followUp = QueryBody.parse({
      collection: 'c',
      query: 'and in mice?',
      history: [{ role: 'user', content: 'does aspirin help?' }],
    });
    expect(searchAhead(port, followUp, 10)).toBeUndefined();
    expect(searches).toEqual([]);
  });
});
