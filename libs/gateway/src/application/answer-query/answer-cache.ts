import { createHash } from 'node:crypto';
import { EventsHandler, type IEventHandler } from '@nestjs/cqrs';
import {
  CollectionReindexed,
  DocumentDeleted,
  DocumentIngested,
  type DomainEvent,
  type QueryBody,
  type QueryResponse,
  type SearchHit,
} from '#contracts';

/**
 * Whole answers of the query path, kept in memory so that the same question about an unchanged
 * collection costs nothing the second time. Bounded in entries (least recently used go first) and in
 * age; a collection's answers go as soon as a document of it is indexed or deleted, or it is re-indexed.
 */

/** What a cache hit replays: the response as first computed (less its request id) and its sources. */
export interface CachedAnswer {
  response: Omit<QueryResponse, 'requestId'>;
  sources: SearchHit[];
}

/** `bypass`: the cache is turned off. */
export type AnswerCacheStatus = 'hit' | 'miss' | 'bypass';

export interface AnswerCacheOptions {
  maxEntries: number;
  ttlMs: number;
  /** The clock, in ms; tests set their own. */
  now?: () => number;
}

interface Entry {
  collection: string;
  answer: CachedAnswer;
  expiresAt: number;
}

export class AnswerCache {
  /** Map order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly keysByCollection = new Map<string, Set<string>>();
  /**
   * Bumped each time a collection is invalidated. An answer is stored only if its collection's epoch is
   * the one it started with, so an answer computed across an invalidation (from the old documents, in
   * part) never outlives it.
   */
  private readonly epochs = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: AnswerCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.maxEntries > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get(body: QueryBody): CachedAnswer | undefined {
    const key = answerCacheKey(body);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.answer;
  }

  /** Taken before computing an answer, and handed back to `set` with it. */
  epoch(collection: string): number {
    return this.epochs.get(collection) ?? 0;
  }

  /** Stores a complete answer; a degraded one (a stage fell back) is not kept. Says whether it was. */
  set(body: QueryBody, answer: CachedAnswer, epoch: number): boolean {
    if (!this.enabled || answer.response.degraded.length > 0 || epoch !== this.epoch(body.collection))
      return false;
    const key = answerCacheKey(body);
    this.remove(key);
    // A copy no caller holds, frozen, so that nothing done to a response can change what is replayed.
    this.entries.set(key, {
      collection: body.collection,
      answer: deepFreeze(structuredClone(answer)),
      expiresAt: this.now() + this.options.ttlMs,
    });
    let keys = this.keysByCollection.get(body.collection);
    if (!keys) this.keysByCollection.set(body.collection, (keys = new Set()));
    keys.add(key);
    while (this.entries.size > this.options.maxEntries) this.remove(this.entries.keys().next().value!);
    return true;
  }

  /** Drops every answer about the collection, and any being computed from its old state. */
  invalidate(collection: string): void {
    this.epochs.set(collection, this.epoch(collection) + 1);
    for (const key of this.keysByCollection.get(collection) ?? []) this.entries.delete(key);
    this.keysByCollection.delete(collection);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const keys = this.keysByCollection.get(entry.collection);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByCollection.delete(entry.collection);
  }
}

/**
 * The collection, then a hash of everything else in the request that can change the answer: all of
 * the body but `stream` (a streamed answer is the same answer), so a field added to the body later
 * is part of the key without anyone having to remember it. Object keys are sorted, so `{a,b}` and `{b,a}`
 * filters are one entry. The query's white space is collapsed and its Unicode composed: a subset of
 * what query understanding does first, so two queries with one key are understood alike.
 */
export function answerCacheKey(body: QueryBody): string {
  const { stream: _stream, collection, query, ...options } = body;
  const normalized = { ...options, query: query.normalize('NFC').replace(/\s+/g, ' ').trim() };
  const hash = createHash('sha256')
    .update(JSON.stringify(sortKeys(normalized)))
    .digest('base64url');
  return `${collection}\n${hash}`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(object)
      .sort()
      .map((k) => [k, sortKeys(object[k])]),
  );
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Keeps the cache in step with the collections, whichever process changed them. */
@EventsHandler(DocumentIngested, DocumentDeleted, CollectionReindexed)
export class AnswerCacheInvalidator implements IEventHandler<DomainEvent> {
  constructor(private readonly cache: AnswerCache) {}

  handle(event: DomainEvent): void {
    this.cache.invalidate(event.collection);
  }
}
