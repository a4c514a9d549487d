/**
 * The embedding port: turns texts into dense vectors for the vector index. Implementations: the local
 * hashing embedder (lexical, no model) and an OpenAI-compatible HTTP client.
 */
export interface Embedder {
  /** 'hashing' | 'openai'. */
  readonly provider: string;
  /** Identifies the vector space: vectors from different models must never be compared. */
  readonly model: string;
  readonly dimensions: number;
  /** One vector per text, in input order. */
  embedDocuments(texts: string[]): Promise<number[][]>;
  embedQuery(text: string): Promise<number[]>;
}

export const EMBEDDER = Symbol('Embedder');

/**
 * True when the vector has no direction (every component 0), e.g. the hashing embedding of a text with no
 * features. Cosine similarity with such a vector is undefined (pgvector returns NaN), so callers should
 * store it as "no embedding" or skip it in vector search rather than rank with it.
 */
export function isZeroVector(vector: ArrayLike<number>): boolean {
  for (let i = 0; i < vector.length; i++) if (vector[i] !== 0) return false;
  return true;
}
