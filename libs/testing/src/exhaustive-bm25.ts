import type { Bm25Scoring, Posting } from '#search-index';

/**
 * BM25 the plain way, for tests to hold the index against: every posting of every query term scored
 * (Lucene's idf, N at least df), summed per chunk in query-term order, sorted by score then chunk id, the
 * best `k` of the chunks `accept` lets through.
 */
export function exhaustiveBm25(
  postings: ReadonlyMap<string, readonly Posting[]>,
  query: readonly (readonly [string, number])[],
  scoring: Bm25Scoring,
  k: number,
  accept: (id: number) => boolean = () => true,
): { id: number; score: number }[] {
  const { k1, b, avgdl } = scoring;
  const perChunk = new Map<number, number[]>();
  query.forEach(([term, weight], t) => {
    const list = postings.get(term) ?? [];
    const df = list.length;
    const n = Math.max(scoring.chunks, df);
    const idf = weight * Math.log(1 + (n - df + 0.5) / (df + 0.5));
    for (const p of list) {
      if (!perChunk.has(p.chunkId))
        perChunk.set(
          p.chunkId,
          query.map(() => 0),
        );
      perChunk.get(p.chunkId)![t] = (idf * p.tf * (k1 + 1)) / (p.tf + k1 * (1 - b + (b * p.len) / avgdl));
    }
  });
  return [...perChunk]
    .filter(([id]) => accept(id))
    .map(([id, terms]) => ({ id, score: terms.reduce((s, x) => s + x, 0) }))
    .sort((x, y) => y.score - x.score || x.id - y.id)
    .slice(0, k);
}
