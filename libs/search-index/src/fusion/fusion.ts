/**
 * Ways to join ranked lists into one, as pure functions: retrieval joins its BM25 and vector legs with
 * them (HYBRID_FUSION, `score` by default), and the gateway joins the searches of a question's variants.
 *
 * Weighted reciprocal rank fusion: score(c) = Σ_i w_i / (k + rank_i(c)), ranks 1-based. It needs no
 * score calibration between retrievers, which is why the variants of a question are joined with it;
 * the hybrid legs are joined by relative score fusion unless HYBRID_FUSION=rrf.
 */
export interface RankedList {
  weight: number;
  ids: readonly string[];
}

export interface FusedItem {
  id: string;
  score: number;
  /** 1-based rank in each input list, or null where the list did not return it. */
  ranks: (number | null)[];
}

export function reciprocalRankFusion(lists: readonly RankedList[], k: number): FusedItem[] {
  if (!(k > 0)) throw new Error(`RRF k must be positive, got ${k}`);
  const items = new Map<string, FusedItem>();
  lists.forEach((list, li) => {
    list.ids.forEach((id, i) => {
      let item = items.get(id);
      if (!item) {
        item = { id, score: 0, ranks: lists.map(() => null) };
        items.set(id, item);
      }
      if (item.ranks[li] !== null) return; // a list naming an id twice counts it once, at its best rank
      item.ranks[li] = i + 1;
      item.score += list.weight / (k + i + 1);
    });
  });
  return [...items.values()].sort(
    (a, b) => b.score - a.score || bestRank(a) - bestRank(b) || cmp(a.id, b.id),
  );
}

function bestRank(item: FusedItem): number {
  let best = Number.POSITIVE_INFINITY;
  for (const r of item.ranks) if (r !== null && r < best) best = r;
  return best;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ScoredList {
  weight: number;
  items: readonly { id: string; score: number }[];
}

/**
 * Relative score fusion: each list's scores are min-max normalised to [0, 1] and summed with their
 * weights (an id missing from a list gets 0 there). Unlike RRF it keeps how far ahead a result is, which
 * matters when one retriever is much stronger than the other.
 */
export function relativeScoreFusion(lists: readonly ScoredList[]): FusedItem[] {
  const items = new Map<string, FusedItem>();
  lists.forEach((list, li) => {
    if (list.items.length === 0) return;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const { score } of list.items) {
      if (score < min) min = score;
      if (score > max) max = score;
    }
    const range = max - min;
    list.items.forEach(({ id, score }, i) => {
      let item = items.get(id);
      if (!item) {
        item = { id, score: 0, ranks: lists.map(() => null) };
        items.set(id, item);
      }
      if (item.ranks[li] !== null) return;
      item.ranks[li] = i + 1;
      item.score += list.weight * (range > 0 ? (score - min) / range : 1);
    });
  });
  return [...items.values()].sort(
    (a, b) => b.score - a.score || bestRank(a) - bestRank(b) || cmp(a.id, b.id),
  );
}
