import type { QueryBody, QueryResponse, SearchHit } from '#contracts';

/**
 * Whole answers of the query path, so that the same question about an unchanged collection costs
 * nothing the second time. Each collection has a generation, moved on as soon as a document of it is
 * indexed or deleted, or it is re-indexed: answers are kept under the generation they were computed at,
 * so the old ones are never read again. Every complete answer is kept twice: under the whole request,
 * replayed before anything is computed, and under its question (the request less the options that only
 * shape the answer, such as `topK`), read only when the model is down, as the rung of the fallback
 * ladder above the extractive answer.
 *
 * Two implementations: in this process's memory (MemoryAnswerCache), or with Redis in one place shared
 * by every gateway replica (RedisAnswerCache), both under infrastructure/answer-cache/.
 */

/** What a cache hit replays: the response as first computed (less its request id) and its sources. */
export interface CachedAnswer {
  response: Omit<QueryResponse, 'requestId'>;
  sources: SearchHit[];
}

/**
 * `bypass`: the cache is turned off. `fallback`: the model failed, and an answer to the same question
 * was served from the cache in its place.
 */
export type AnswerCacheStatus = 'hit' | 'miss' | 'bypass' | 'fallback';

export interface AnswerCacheOptions {
  maxEntries: number;
  ttlMs: number;
  /** The clock, in ms; tests set their own. */
  now?: () => number;
}

/**
 * The answer to this very request, if cached, and the collection's generation, which an answer
 * computed now is stored under. No generation: it could not be read (Redis is down), so nothing is stored.
 */
export interface AnswerLookup {
  answer?: CachedAnswer;
  generation?: number;
}

/** The handler's view of the cache, whichever implementation the gateway module picked. */
export abstract class AnswerCache {
  abstract readonly enabled: boolean;

  abstract lookup(body: QueryBody): Promise<AnswerLookup>;

  /**
   * Stores a complete answer under the generation taken by `lookup` before computing it; a degraded one
   * (a stage fell back) is not kept. Says whether it was.
   */
  abstract set(body: QueryBody, answer: CachedAnswer, generation: number | undefined): Promise<boolean>;

  /** A cached answer to the same question in the same generation, whatever its other options. */
  abstract fallback(body: QueryBody, generation: number | undefined): Promise<CachedAnswer | undefined>;

  /** Moves the collection on to a new generation: its cached answers are never read again. */
  abstract invalidate(collection: string): Promise<void>;
}

/** Only a complete answer is kept: one where a stage fell back is not worth replaying. */
export function storable(enabled: boolean, answer: CachedAnswer): boolean {
  return enabled && answer.response.degraded.length === 0;
}
