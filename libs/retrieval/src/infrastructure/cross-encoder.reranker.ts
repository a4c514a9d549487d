/**
 * Re-ranking by a cross-encoder behind an HTTP rerank API, in one of two dialects:
 *
 * - `tei`: Hugging Face text-embeddings-inference, `POST {base}/rerank` with
 *   `{query, texts, raw_scores: false, truncate: true}`, answering `[{index, score}]` for every text.
 * - `cohere`: the Cohere-style `POST {base}/v1/rerank` (also Jina, vLLM, Infinity, LocalAI) with
 *   `{model, query, documents, top_n}`, answering `{results: [{index, relevance_score}]}`, best `top_n`.
 *
 * The first `maxDocuments` candidates go to the model, and the best `topK` of them by the model's score
 * come back, each carrying that score. No diversity pass follows and the fused order is not mixed back
 * in: the order is the model's. A reply that does not account for the documents sent (wrong length, an
 * index out of range or repeated, a score that is not a number, a body that is not JSON) is an error,
 * never a silently wrong order; so are 429 and 5xx. Errors are AppErrors with a 5xx status, so that the
 * gateway falls back to the fused order and names `rerank` in `degraded`.
 */
import { AppError, type SearchHit } from '#contracts';
import type { Reranker } from '../domain/reranker.js';
import { RERANK_FAILED } from '../domain/retrieval.errors.js';

export type RerankDialect = 'tei' | 'cohere';

export interface CrossEncoderRerankerOptions {
  dialect: RerankDialect;
  /** The server's root, e.g. `http://localhost:8080`; a Cohere-style root may already end in `/v1`. */
  baseUrl: string;
  /** Sent by the Cohere dialect (required there); TEI serves one model and is not told. */
  model?: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /** Bound on the whole call, retry included. */
  timeoutMs: number;
  /** How many of the fused candidates are sent to the model; the rest are dropped. */
  maxDocuments: number;
}

/** One document's score, by its position in the request. */
export interface RerankScore {
  index: number;
  score: number;
}

// What went wrong, in the error's details (its status is RERANK_FAILED's, from the one table): a timeout;
// an overloaded or unreachable server; anything else the server got wrong (its own errors, a refusal,
// a reply that cannot be used).
const TIMEOUT = 'timeout';
const UNAVAILABLE = 'unavailable';
const BAD_UPSTREAM = 'bad-upstream';
type Upstream = typeof TIMEOUT | typeof UNAVAILABLE | typeof BAD_UPSTREAM;
/** How much of an error body goes into the message: enough to see the server's reason. */
const ERROR_BODY_CHARS = 300;

export class CrossEncoderReranker implements Reranker {
  readonly name: string;
  private readonly endpoint: string;

  constructor(private readonly options: CrossEncoderRerankerOptions) {
    if (options.dialect === 'cohere' && !options.model) {
      throw new Error('CrossEncoderReranker: the cohere dialect needs a model name');
    }
    if (!Number.isInteger(options.maxDocuments) || options.maxDocuments < 1) {
      throw new Error(
        `CrossEncoderReranker: maxDocuments must be a positive integer, got ${options.maxDocuments}`,
      );
    }
    this.endpoint = rerankEndpoint(options.dialect, options.baseUrl);
    this.name = `${options.dialect}${options.model ? ` model "${options.model}"` : ''} at ${this.endpoint}`;
  }

  async rerank(
    query: string,
    hits: readonly SearchHit[],
    topK: number,
    signal?: AbortSignal,
  ): Promise<SearchHit[]> {
    const candidates = hits.slice(0, this.options.maxDocuments);
    if (candidates.length === 0 || topK < 1) return [];
    const wanted = Math.min(topK, candidates.length);
    const documents = candidates.map(documentText);
    const body = JSON.stringify(
      this.options.dialect === 'tei'
        ? // Truncated rather than refused: a chunk longer than the model's window is still worth scoring.
          { query, texts: documents, raw_scores: false, truncate: true }
        : { model: this.options.model, query, documents, top_n: wanted },
    );
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const bounded = signal ? AbortSignal.any([timeout, signal]) : timeout;
    let text: string;
    try {
      let response = await this.post(body, bounded);
      // One retry, for 5xx only. This call is on the synchronous query path with a user waiting, and
      // without it the gateway still answers in the fused order, so more attempts would spend the
      // request's time for little gain; one rides out a replica restarting behind a load balancer. A 429
      // is not retried: the server has said it is overloaded, and asking again at once adds to its load.
      if (response.status >= 500) {
        await response.body?.cancel();
        response = await this.post(body, bounded);
      }
      text = await response.text();
      if (!response.ok) {
        throw this.error(
          response.status === 429 ? UNAVAILABLE : BAD_UPSTREAM,
          `answered ${response.status}: ${text.slice(0, ERROR_BODY_CHARS) || response.statusText}`,
        );
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (timeout.aborted) throw this.error(TIMEOUT, `did not answer within ${this.options.timeoutMs} ms`);
      if (signal?.aborted) throw this.error(TIMEOUT, 'was cut short: the request deadline passed');
      const cause = (error as Error).cause;
      const reason = cause instanceof Error ? cause.message : (error as Error).message;
      throw this.error(UNAVAILABLE, `could not be reached: ${reason}`);
    }
    let reply: unknown;
    try {
      reply = JSON.parse(text);
    } catch {
      throw this.error(
        BAD_UPSTREAM,
        `replied with a body that is not JSON: ${text.slice(0, ERROR_BODY_CHARS)}`,
      );
    }
    let scores: RerankScore[];
    try {
      scores = parseRerankReply(this.options.dialect, reply, candidates.length, wanted);
    } catch (error) {
      throw this.error(BAD_UPSTREAM, `replied with an unusable body: ${(error as Error).message}`);
    }
    return scores.slice(0, wanted).map(({ index, score }) => ({ ...candidates[index], score }));
  }

  private post(body: string, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    return fetch(this.endpoint, { method: 'POST', headers, body, signal });
  }

  private error(upstream: Upstream, reason: string): AppError {
    return new AppError(RERANK_FAILED, `reranker ${this.name} ${reason}`, { upstream });
  }
}

/**
 * Where the dialect's rerank call goes. A Cohere-style root given with its version (`…/v1`, as
 * EMBEDDINGS_BASE_URL is written) is used as it is, so both spellings of the same server work.
 */
export function rerankEndpoint(dialect: RerankDialect, baseUrl: string): string {
  const root = baseUrl.replace(/\/+$/, '');
  if (dialect === 'tei') return `${root}/rerank`;
  return /\/v\d+$/.test(root) ? `${root}/rerank` : `${root}/v1/rerank`;
}

/** What the model reads of a chunk: its title, when it has one, then its text. */
function documentText(hit: SearchHit): string {
  return hit.title ? `${hit.title}\n${hit.text}` : hit.text;
}

/**
 * Checks a rerank reply against the request and returns its scores best first (ties in request order,
 * which is the fused order). TEI scores every document; a Cohere-style server returns its best `top_n`,
 * or more when it ignores `top_n` (the extra are dropped by the caller), never fewer.
 */
export function parseRerankReply(
  dialect: RerankDialect,
  reply: unknown,
  sent: number,
  wanted: number,
): RerankScore[] {
  let items: unknown;
  let scoreField: string;
  let least: number;
  if (dialect === 'tei') {
    items = reply;
    scoreField = 'score';
    least = sent;
    if (!Array.isArray(items)) throw new Error(`expected an array of {index, score}, got ${describe(items)}`);
  } else {
    items = isRecord(reply) ? reply.results : undefined;
    scoreField = 'relevance_score';
    least = wanted;
    if (!Array.isArray(items)) {
      throw new Error(`expected {results: [{index, relevance_score}]}, got ${describe(reply)}`);
    }
  }
  if (items.length < least || items.length > sent) {
    const expected = least === sent ? `${sent}` : `${least} to ${sent}`;
    throw new Error(`${items.length} results for ${sent} documents sent, expected ${expected}`);
  }
  const seen = new Set<number>();
  const scores = items.map((item: unknown, position): RerankScore => {
    if (!isRecord(item)) throw new Error(`result #${position} is ${describe(item)}, not an object`);
    const { index } = item;
    const score = item[scoreField];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= sent) {
      throw new Error(
        `result #${position} has index ${JSON.stringify(index)}, outside the ${sent} documents sent`,
      );
    }
    if (seen.has(index)) throw new Error(`result #${position} repeats index ${index}`);
    seen.add(index);
    if (typeof score !== 'number' || !Number.isFinite(score)) {
      throw new Error(`result #${position} has ${scoreField} ${JSON.stringify(score)}, not a finite number`);
    }
    return { index, score };
  });
  return scores.sort((a, b) => b.score - a.score || a.index - b.index);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
