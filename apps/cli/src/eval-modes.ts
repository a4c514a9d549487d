import { SearchMode, type SearchHit } from '#contracts';

/**
 * What `ragnest eval` scores: each search mode as the API offers it, and `hybrid-rerank`, the hybrid
 * search followed by the re-ranking stage as the query path runs it. The last is not a search mode: no
 * search request can ask for it, so it stays out of SearchMode.
 */
export const EVAL_MODES = [...SearchMode.options, 'hybrid-rerank'] as const;
export type EvalMode = (typeof EVAL_MODES)[number];

export const DEFAULT_EVAL_MODES: EvalMode[] = ['sparse', 'dense', 'hybrid', 'hybrid-rerank'];

export function isEvalMode(value: string): value is EvalMode {
  return (EVAL_MODES as readonly string[]).includes(value);
}

/**
 * The fused list with its head in the re-ranker's order: the chunks it returned first, then every other
 * fused chunk (those not sent, and any sent but not returned) in the fused order.
 */
export function withRerankedHead(fused: readonly SearchHit[], reranked: readonly SearchHit[]): SearchHit[] {
  const placed = new Set(reranked.map((h) => h.chunkId));
  return [...reranked, ...fused.filter((h) => !placed.has(h.chunkId))];
}
