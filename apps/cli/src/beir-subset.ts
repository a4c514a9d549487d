import type { IngestItem } from '#contracts';
import type { Qrels } from '#ranking-metrics';

/**
 * A smaller, fixed slice of a BEIR data set, for quick runs and the quality guard: every document the
 * split's judgments name (so no query loses a relevant document), plus the first `docs` other documents
 * of the corpus as distractors; and the first `queries` queries of the split, in the qrels' order. Both
 * are taken in file order, so the same options always give the same slice.
 */
export interface SubsetOptions {
  /** Unjudged documents kept; undefined keeps the whole corpus. */
  docs?: number;
  /** Queries kept; undefined keeps every query of the split. */
  queries?: number;
}

export function subsetCorpus(corpus: readonly IngestItem[], qrels: Qrels, docs?: number): IngestItem[] {
  if (docs === undefined) return [...corpus];
  const judged = new Set<string>();
  for (const relevant of qrels.values()) for (const id of relevant.keys()) judged.add(id);
  let others = 0;
  return corpus.filter((d) => {
    if (judged.has(d.id)) return true;
    others++;
    return others <= docs;
  });
}

export function subsetQrels(qrels: Qrels, queries?: number): Qrels {
  if (queries === undefined) return qrels;
  return new Map([...qrels].slice(0, queries));
}
