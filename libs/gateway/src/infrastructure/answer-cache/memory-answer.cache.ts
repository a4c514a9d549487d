import type { QueryBody } from '#contracts';
import {
  AnswerCache,
  storable,
  type AnswerCacheOptions,
  type AnswerLookup,
  type CachedAnswer,
} from '../../application/answer-query/answer-cache.port.js';
import { questionHash, requestHash } from '../../application/answer-query/answer-cache-keys.js';
import { Lru } from './lru.js';

/** Bounded in entries (least recently used go first) and in age, and lost when the process ends. */
export class MemoryAnswerCache extends AnswerCache {
  private readonly requests: Lru;
  private readonly questions: Lru;
  private readonly generations = new Map<string, number>();

  constructor(private readonly options: AnswerCacheOptions) {
    super();
    const now = options.now ?? Date.now;
    this.requests = new Lru(options, now);
    this.questions = new Lru(options, now);
  }

  get enabled(): boolean {
    return this.options.maxEntries > 0;
  }

  /** Answers held, whole requests only. */
  get size(): number {
    return this.requests.size;
  }

  lookup(body: QueryBody): Promise<AnswerLookup> {
    return Promise.resolve({
      answer: this.requests.get(body.collection, requestHash(body)),
      generation: this.generation(body.collection),
    });
  }

  set(body: QueryBody, answer: CachedAnswer, generation: number | undefined): Promise<boolean> {
    // An answer computed across an invalidation (from the old documents, in part) is not kept.
    if (!storable(this.enabled, answer) || generation !== this.generation(body.collection))
      return Promise.resolve(false);
    // A copy no caller holds, frozen, so that nothing done to a response can change what is replayed.
    const copy = deepFreeze(structuredClone(answer));
    this.requests.set(body.collection, requestHash(body), copy);
    this.questions.set(body.collection, questionHash(body), copy);
    return Promise.resolve(true);
  }

  fallback(body: QueryBody, generation: number | undefined): Promise<CachedAnswer | undefined> {
    if (generation !== this.generation(body.collection)) return Promise.resolve(undefined);
    return Promise.resolve(this.questions.get(body.collection, questionHash(body)));
  }

  invalidate(collection: string): Promise<void> {
    this.generations.set(collection, this.generation(collection) + 1);
    this.requests.drop(collection);
    this.questions.drop(collection);
    return Promise.resolve();
  }

  private generation(collection: string): number {
    return this.generations.get(collection) ?? 0;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
