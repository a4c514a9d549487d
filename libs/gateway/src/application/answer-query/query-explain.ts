import type { Citation, CitationExplain, HitExplain, SearchHit } from '#contracts';

/**
 * The pure parts of the query path's `explain`: how each candidate came out of the variants' searches,
 * where re-ranking moved it, and the citations with all of it attached.
 */

/** A candidate's explain before re-ranking. */
export type CandidateExplain = Omit<CitationExplain, 'reranked'>;

const NO_RETRIEVERS: HitExplain = { retrievers: {} };

/**
 * Each candidate's explain, by chunk id: its rank in every variant's results that hold it (the index
 * being that of the variant, and the hit's own search explain alongside) and, when the variants were
 * fused, its rank and score in `candidates`, the fused list.
 */
export function explainCandidates(
  lists: readonly (readonly SearchHit[])[],
  candidates: readonly SearchHit[],
  fused: boolean,
): Map<string, CandidateExplain> {
  const positions = lists.map((list) => {
    const at = new Map<string, number>();
    list.forEach((hit, i) => {
      if (!at.has(hit.chunkId)) at.set(hit.chunkId, i);
    });
    return at;
  });
  const explains = new Map<string, CandidateExplain>();
  candidates.forEach((candidate, i) => {
    const variants: CandidateExplain['variants'] = [];
    positions.forEach((at, variant) => {
      const index = at.get(candidate.chunkId);
      if (index === undefined) return;
      const { retrievers, fused: searchFused } = lists[variant][index].explain ?? NO_RETRIEVERS;
      variants.push({ variant, rank: index + 1, retrievers, ...(searchFused && { fused: searchFused }) });
    });
    explains.set(
      candidate.chunkId,
      fused ? { variants, fused: { rank: i + 1, score: candidate.score } } : { variants },
    );
  });
  return explains;
}

/**
 * Where re-ranking put each source, by chunk id: its rank and score among the sources, and its rank
 * among the candidates the reranker was given.
 */
export function explainReranked(
  candidates: readonly SearchHit[],
  sources: readonly SearchHit[],
): Map<string, NonNullable<CitationExplain['reranked']>> {
  const before = new Map<string, number>();
  candidates.forEach((hit, i) => {
    if (!before.has(hit.chunkId)) before.set(hit.chunkId, i + 1);
  });
  const reranked = new Map<string, NonNullable<CitationExplain['reranked']>>();
  sources.forEach((hit, i) => {
    const was = before.get(hit.chunkId);
    if (was !== undefined) reranked.set(hit.chunkId, { rank: i + 1, score: hit.score, before: was });
  });
  return reranked;
}

/** The citations, each with its explain; `reranked` is absent when the reranker did not answer. */
export function explainCitations(
  citations: readonly Citation[],
  candidates: ReadonlyMap<string, CandidateExplain>,
  reranked: ReadonlyMap<string, NonNullable<CitationExplain['reranked']>> | undefined,
): Citation[] {
  return citations.map((citation) => {
    const found = candidates.get(citation.chunkId) ?? { variants: [] };
    const moved = reranked?.get(citation.chunkId);
    return { ...citation, explain: moved ? { ...found, reranked: moved } : found };
  });
}
