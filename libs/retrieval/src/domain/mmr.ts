/**
 * Maximal marginal relevance: picks, one at a time, the candidate that best trades relevance against
 * similarity to what was already picked, so near-duplicate chunks (overlapping windows of one document,
 * boilerplate repeated across documents) do not crowd the context given to the generator.
 */
export interface MmrCandidate<T> {
  item: T;
  relevance: number;
  terms: ReadonlySet<string>;
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let shared = 0;
  for (const t of small) if (large.has(t)) shared++;
  return shared / (a.size + b.size - shared);
}

export function maximalMarginalRelevance<T>(
  candidates: readonly MmrCandidate<T>[],
  topK: number,
  lambda = 0.7,
): T[] {
  if (lambda < 0 || lambda > 1) throw new Error(`MMR lambda must be within [0, 1], got ${lambda}`);
  const max = Math.max(...candidates.map((c) => c.relevance), Number.MIN_VALUE);
  const remaining = candidates.map((c) => ({ ...c, relevance: c.relevance / max, maxSim: 0 }));
  const picked: T[] = [];
  while (picked.length < topK && remaining.length > 0) {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    remaining.forEach((c, i) => {
      const value = lambda * c.relevance - (1 - lambda) * c.maxSim;
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    });
    const [chosen] = remaining.splice(best, 1);
    picked.push(chosen.item);
    for (const c of remaining) c.maxSim = Math.max(c.maxSim, jaccard(c.terms, chosen.terms));
  }
  return picked;
}
