/**
 * Ranking metrics as BEIR computes them (pytrec_eval): nDCG with gain = relevance grade and a log2
 * discount, recall as the share of relevant documents retrieved, MRR of the first relevant hit.
 */
export type Qrels = Map<string, Map<string, number>>;

export interface QueryMetrics {
  ndcg10: number;
  recall10: number;
  recall100: number;
  mrr10: number;
}

export function ndcgAt(ranked: readonly string[], relevant: ReadonlyMap<string, number>, k: number): number {
  let dcg = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) {
    const rel = relevant.get(ranked[i]) ?? 0;
    if (rel > 0) dcg += rel / Math.log2(i + 2);
  }
  const ideal = [...relevant.values()].filter((r) => r > 0).sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += ideal[i] / Math.log2(i + 2);
  return idcg === 0 ? 0 : dcg / idcg;
}

export function recallAt(
  ranked: readonly string[],
  relevant: ReadonlyMap<string, number>,
  k: number,
): number {
  const wanted = [...relevant].filter(([, r]) => r > 0).map(([id]) => id);
  if (wanted.length === 0) return 0;
  const top = new Set(ranked.slice(0, k));
  return wanted.filter((id) => top.has(id)).length / wanted.length;
}

export function mrrAt(ranked: readonly string[], relevant: ReadonlyMap<string, number>, k: number): number {
  for (let i = 0; i < Math.min(k, ranked.length); i++)
    if ((relevant.get(ranked[i]) ?? 0) > 0) return 1 / (i + 1);
  return 0;
}

export function queryMetrics(ranked: readonly string[], relevant: ReadonlyMap<string, number>): QueryMetrics {
  return {
    ndcg10: ndcgAt(ranked, relevant, 10),
    recall10: recallAt(ranked, relevant, 10),
    recall100: recallAt(ranked, relevant, 100),
    mrr10: mrrAt(ranked, relevant, 10),
  };
}

export function meanMetrics(all: readonly QueryMetrics[]): QueryMetrics {
  const n = all.length || 1;
  const sum = (f: (m: QueryMetrics) => number) => all.reduce((s, m) => s + f(m), 0) / n;
  return {
    ndcg10: sum((m) => m.ndcg10),
    recall10: sum((m) => m.recall10),
    recall100: sum((m) => m.recall100),
    mrr10: sum((m) => m.mrr10),
  };
}

/** Chunks ranked best first → documents ranked by their best chunk. */
export function documentRanking(chunks: readonly { documentId: string }[]): string[] {
  const seen = new Set<string>();
  for (const c of chunks) seen.add(c.documentId);
  return [...seen];
}
