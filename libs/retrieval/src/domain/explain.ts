import type { HitExplain, RetrieverRank } from '#contracts';

/** An id with the score a retriever (or a fusion of them) gave it; lists are best first. */
export interface ScoredId {
  id: string;
  score: number;
  /** What each query term scored, where the retriever says (BM25). */
  terms?: Readonly<Record<string, number>>;
}

const NOT_RETURNED: RetrieverRank = { rank: null, score: null };

/**
 * Why each hit of a search ranked where it did: its rank and raw score in the list of every retriever
 * that ran (`legs`, by name, each best first), null where that retriever did not return it, and, when the
 * legs were fused, its rank and score in `ranked`, the fused list as the search returns it. The map has
 * an entry for every id of `ranked`. Nothing here depends on how many legs there are or how they fuse.
 */
export function explainHits(
  ranked: readonly ScoredId[],
  legs: Readonly<Record<string, readonly ScoredId[]>>,
  fused: boolean,
): Map<string, HitExplain> {
  const positions = Object.entries(legs).map(([name, list]) => [name, rankById(list)] as const);
  const explains = new Map<string, HitExplain>();
  ranked.forEach(({ id, score }, i) => {
    const retrievers: Record<string, RetrieverRank> = {};
    for (const [name, ranks] of positions) retrievers[name] = ranks.get(id) ?? NOT_RETURNED;
    explains.set(id, fused ? { retrievers, fused: { rank: i + 1, score: round(score) } } : { retrievers });
  });
  return explains;
}

/** 1-based rank and score of each id in a list; an id listed twice keeps its best rank, as fusion does. */
function rankById(list: readonly ScoredId[]): Map<string, RetrieverRank> {
  const ranks = new Map<string, RetrieverRank>();
  list.forEach(({ id, score, terms }, i) => {
    if (ranks.has(id)) return;
    const rank: RetrieverRank = { rank: i + 1, score: round(score) };
    if (terms) rank.terms = Object.fromEntries(Object.entries(terms).map(([t, s]) => [t, round(s)]));
    ranks.set(id, rank);
  });
  return ranks;
}

// As the hits' own scores are rounded: more digits only show floating-point noise.
function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
