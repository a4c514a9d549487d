import type {
  QueryBody,
  RetrievalPort,
  SearchHit,
  SearchMode,
  UnderstandRequest,
  UnderstoodQuery,
} from '#contracts';
import { reciprocalRankFusion } from '#retrieval';
import { searchRetrieval } from '../search/search-retrieval.js';

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

/**
 * Searches every variant of the question in parallel through the retrieval port, each for `topK`
 * candidates, and fuses the lists by reciprocal rank fusion, every variant weighing the same: a chunk
 * that several phrasings find rises, and one that only a phrasing finds still gets in. The hypothetical
 * passage is searched by meaning only (it is written like a document, not like a query), unless the
 * request asked for sparse search alone. A single variant is returned as retrieval ranked it. When any
 * search answered without its dense leg (the embedder was down), `dense` is added to `degraded` once.
 */
export async function retrieveSources(
  retrieval: RetrievalPort,
  body: QueryBody,
  understood: UnderstoodQuery,
  topK: number,
  degraded: string[] = [],
): Promise<SearchHit[]> {
  const searches: { query: string; mode: SearchMode }[] = understood.queries.map((query) => ({
    query,
    mode: body.mode,
  }));
  if (understood.hyde !== undefined)
    searches.push({ query: understood.hyde, mode: body.mode === 'sparse' ? 'sparse' : 'dense' });
  const responses = await Promise.all(
    searches.map(({ query, mode }) =>
      searchRetrieval(retrieval, { collection: body.collection, query, topK, mode, filter: body.filter }),
    ),
  );
  if (responses.some((r) => r.degraded?.includes('dense')) && !degraded.includes('dense'))
    degraded.push('dense');
  const lists = responses.map((r) => r.results);
  if (lists.length === 1) return lists[0];
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
