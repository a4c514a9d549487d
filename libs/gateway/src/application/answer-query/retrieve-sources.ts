import {
  normalizeQuery,
  type QueryBody,
  type QueryExplain,
  type RetrievalPort,
  type SearchExplain,
  type SearchHit,
  type SearchRequest,
  type SearchResponse,
  type UnderstandRequest,
  type UnderstoodQuery,
} from '#contracts';
import { reciprocalRankFusion } from '#search-index';
import { searchRetrieval } from '../search/search-retrieval.js';
import { explainCandidates, type CandidateExplain } from './query-explain.js';

/**
 * The understand and retrieve stages of the query path, as the gateway drives them: what it asks query
 * understanding, what it searches when understanding is unavailable, and how the variants of one
 * question (its other phrasings, a hypothetical answer) are searched and joined into one candidate list.
 */

/** RRF's customary k (Cormack et al., 2009): ranks further down still count, but much less. */
export const VARIANT_RRF_K = 60;

export function understandRequest(body: QueryBody): UnderstandRequest {
  return { collection: body.collection, query: body.query, history: body.history, expand: body.expand };
}

/** What is searched when query understanding cannot be reached: the question as typed. */
export function plainQuery(body: QueryBody): UnderstoodQuery {
  return { original: body.query, text: body.query, language: 'und', queries: [body.query] };
}

/** A search started before understanding answered, and its reply to come. */
export interface SearchAhead {
  request: SearchRequest;
  response: Promise<SearchResponse>;
}

/**
 * Starts the search of the question as understanding will hand it back when there is no conversation to
 * condense: normalised, in the request's mode. Understanding and this search then run at the same time,
 * and `searchVariants` uses the reply for the variant it matches (the question itself, also when
 * understanding adds other phrasings), so retrieval no longer waits a whole understanding call (a hop
 * of its own across processes) before it starts. A conversation's question will be rewritten, so none
 * is started then. A search that matches no variant is wasted work, and its failure nobody's error.
 */
export function searchAhead(
  retrieval: RetrievalPort,
  body: QueryBody,
  topK: number,
): SearchAhead | undefined {
  if (body.history && body.history.length > 0) return undefined;
  const request = variantSearch(body, normalizeQuery(body.query), body.mode, topK);
  const response = searchRetrieval(retrieval, request);
  response.catch(() => undefined);
  return { request, response };
}

function variantSearch(body: QueryBody, query: string, mode: QueryBody['mode'], topK: number): SearchRequest {
  return {
    collection: body.collection,
    query,
    topK,
    mode,
    filter: body.filter,
    ...(body.explain && { explain: true }),
  };
}

/** One searched variant of the question, and how it came to be searched. */
export type QueryVariant = QueryExplain['query']['variants'][number];

/** The candidates of the query path and, when the request asked for it, how they were found. */
export interface RetrievedSources {
  hits: SearchHit[];
  explain?: {
    variants: QueryVariant[];
    searches: SearchExplain[];
    fusion?: QueryExplain['fusion'];
    /** Each candidate's explain, by chunk id. */
    candidates: Map<string, CandidateExplain>;
  };
}

/**
 * Searches every variant of the question in parallel through the retrieval port, each for `topK`
 * candidates, and fuses the lists by reciprocal rank fusion, every variant weighing the same: a chunk
 * that several phrasings find rises, and one that only a phrasing finds still gets in. The hypothetical
 * passage is searched by meaning only (it is written like a document, not like a query), unless the
 * request asked for sparse search alone. A single variant is returned as retrieval ranked it. When any
 * search answered without its dense leg (the embedder was down), `dense` is added to `degraded` once.
 * With `body.explain`, each search is asked for its explain, which is gathered into `explain`; the hits
 * themselves are returned without it, since a candidate's explain spans the variants.
 */
export async function searchVariants(
  retrieval: RetrievalPort,
  body: QueryBody,
  understood: UnderstoodQuery,
  topK: number,
  degraded: string[] = [],
  ahead?: SearchAhead,
): Promise<RetrievedSources> {
  const searches: QueryVariant[] = understood.queries.map((text, i) => ({
    text,
    kind: i === 0 ? 'question' : 'rewrite',
    mode: body.mode,
  }));
  if (understood.hyde !== undefined)
    searches.push({ text: understood.hyde, kind: 'hyde', mode: body.mode === 'sparse' ? 'sparse' : 'dense' });
  const responses = await Promise.all(
    searches.map(({ text, mode }) =>
      ahead && ahead.request.query === text && ahead.request.mode === mode
        ? ahead.response
        : searchRetrieval(retrieval, variantSearch(body, text, mode, topK)),
    ),
  );
  if (responses.some((r) => r.degraded?.includes('dense')) && !degraded.includes('dense'))
    degraded.push('dense');
  const lists = responses.map((r) => r.results);
  const hits = lists.length === 1 ? lists[0] : fuseVariants(lists, topK);
  if (!body.explain) return { hits };
  const fused = lists.length > 1;
  return {
    hits: hits.map(withoutExplain),
    explain: {
      variants: searches,
      // Retrieval explains every search asked to; should one come back without, it keeps its place.
      searches: responses.map((r, i) => r.explain ?? { mode: searches[i].mode, retrievers: {} }),
      ...(fused && { fusion: { method: 'rrf' as const, k: VARIANT_RRF_K } }),
      candidates: explainCandidates(lists, hits, fused),
    },
  };
}

function fuseVariants(lists: SearchHit[][], topK: number): SearchHit[] {
  const hits = new Map<string, SearchHit>();
  for (const list of lists) for (const hit of list) if (!hits.has(hit.chunkId)) hits.set(hit.chunkId, hit);
  const fused = reciprocalRankFusion(
    lists.map((list) => ({ weight: 1, ids: list.map((hit) => hit.chunkId) })),
    VARIANT_RRF_K,
  );
  // Scaled so that 1 means first in every list, as a client reading `score` would expect.
  const best = lists.length / (VARIANT_RRF_K + 1);
  return fused.slice(0, topK).map(({ id, score }) => ({ ...hits.get(id)!, score: score / best }));
}

function withoutExplain({ explain: _explain, ...hit }: SearchHit): SearchHit {
  return hit;
}
