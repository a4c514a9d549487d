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
 * Vectors of another size than the index expects are refused, naming both sizes: stored, they would be
 * silently unsearchable (or mixed into the wrong space).
 */
export function assertVectorSize(vectors: ArrayLike<number>[], expected: number, model: string): void {
  for (const vector of vectors) {
    if (vector.length !== expected) {
      throw new Error(
        `${model} returned vectors of ${vector.length} dimensions, but the collection's index holds ${expected}`,
      );
    }
  }
}

/**
 * True when the vector has no direction (every component 0), e.g. the hashing embedding of a text with no
 * features. Cosine similarity with such a vector is undefined (pgvector returns NaN), so callers should
 * store it as "no embedding" or skip it in vector search rather than rank with it.
 */
export function isZeroVector(vector: ArrayLike<number>): boolean {
  for (let i = 0; i < vector.length; i++) if (vector[i] !== 0) return false;
  return true;
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TRANSIENT_NAMES = new Set([
  'APIConnectionError',
  'APIConnectionTimeoutError',
  'TimeoutError',
  'AbortError',
]);

/**
 * Whether an embedding call failed for a reason that passes (rate limited, the provider overloaded or
 * unreachable), and how long the provider asked us to wait. Looks through the error's causes, since
 * each layer (LangChain, the OpenAI client, fetch) wraps the one below.
 */
export function transientFailure(error: unknown): { retryAfterMs?: number } | undefined {
  for (let e: any = error, depth = 0; e && depth < 5; e = e.cause, depth++) {
    const status = typeof e.status === 'number' ? e.status : undefined;
    if (
      status === 429 ||
      (status !== undefined && status >= 500) ||
      TRANSIENT_CODES.has(e.code) ||
      TRANSIENT_NAMES.has(e.name)
    ) {
      const header =
        typeof e.headers?.get === 'function' ? e.headers.get('retry-after') : e.headers?.['retry-after'];
      const fromHeader =
        header !== undefined && header !== null && Number.isFinite(Number(header))
          ? Number(header) * 1000
          : undefined;
      const retryAfterMs = typeof e.retryAfterMs === 'number' ? e.retryAfterMs : fromHeader;
      return retryAfterMs !== undefined ? { retryAfterMs } : {};
    }
  }
  return undefined;
}
