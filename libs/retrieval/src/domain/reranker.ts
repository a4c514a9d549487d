import type { SearchHit } from '#contracts';

/**
 * The re-ranking port: orders the fused candidates of a search for one query and keeps the best `topK`.
 * RERANK_PROVIDER picks the implementation: lexical MMR (no model) or a cross-encoder over HTTP.
 */
export interface Reranker {
  /** Which reranker answered, for logs and error messages. */
  readonly name: string;
  /**
   * The best `topK` of `hits` for `query`, best first. `signal` aborts the work when the caller has given
   * up (its deadline passed); a reranker that cannot do its job throws rather than return a guessed order.
   */
  rerank(query: string, hits: readonly SearchHit[], topK: number, signal?: AbortSignal): Promise<SearchHit[]>;
}

export const RERANKER = Symbol('Reranker');
