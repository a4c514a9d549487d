/**
 * Weighted reciprocal rank fusion: score(c) = Σ_i w_i / (k + rank_i(c)), ranks 1-based. It needs no
 * score calibration between retrievers, which is why it is the default way to join BM25 and vectors.
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
  return [...items.values()].sort((a, b) => b.score - a.score || bestRank(a) - bestRank(b) || cmp(a.id, b.id));
}

function bestRank(item: FusedItem): number {
  let best = Number.POSITIVE_INFINITY;
  for (const r of item.ranks) if (r !== null && r < best) best = r;
  return best;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
