/**
 * The shapes of the API's answers the playground reads (docs/api.md), written here rather than imported
 * from #contracts, whose sources need Node and Nest to type-check.
 */
export interface Rank {
  rank: number | null;
  score: number | null;
}

export interface HitExplain {
  retrievers: Record<string, Rank>;
  fused?: { rank: number; score: number };
}

export interface Citation {
  index: number;
  documentId: string;
  chunkId: string;
  title: string | null;
  text: string;
  score: number;
  explain?: {
    variants: ({ variant: number; rank: number } & HitExplain)[];
    fused?: { rank: number; score: number };
    reranked?: { rank: number; score: number; before: number };
  };
}

export interface SearchExplain {
  mode: string;
  retrievers: {
    sparse?: { query: string; terms: { term: string; weight: number }[] };
    dense?: { query: string; model: string; dimensions: number };
  };
  fusion?: { method: string; weights: Record<string, number>; k?: number };
  degraded?: string[];
}

export interface QueryExplain {
  query: {
    original: string;
    text: string;
    language: string;
    variants: { text: string; kind: string; mode: string }[];
  };
  searches: SearchExplain[];
  fusion?: { method: string; k: number };
  rerank: { provider: string; degraded?: true };
}

export interface Answer {
  answer: string;
  citations: Citation[];
  degraded: string[];
  timings: Record<string, number>;
  requestId?: string;
  explain?: QueryExplain;
}

export interface SearchHit {
  documentId: string;
  chunkId: string;
  score: number;
  title: string | null;
  text: string;
}
