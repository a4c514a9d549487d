import { createHash } from 'node:crypto';
import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { EventsHandler, type IEventHandler } from '@nestjs/cqrs';
import { Redis } from 'ioredis';
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
 * Whole answers of the query path, so that the same question about an unchanged collection costs
 * nothing the second time. Each collection has a generation, moved on as soon as a document of it is
 * indexed or deleted, or it is re-indexed: answers are kept under the generation they were computed at,
 * so the old ones are never read again. Every complete answer is kept twice: under the whole request,
 * replayed before anything is computed, and under its question (the request less the options that only
 * shape the answer, such as `topK`), read only when the model is down, as the rung of the fallback
 * ladder above the extractive answer.
 *
 * Two implementations: in this process's memory (MemoryAnswerCache), or with Redis in one place shared
 * by every gateway replica (RedisAnswerCache).
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

interface Entry {
  collection: string;
  answer: CachedAnswer;
  expiresAt: number;
}

class Lru {
  /** Map order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly keysByCollection = new Map<string, Set<string>>();

  constructor(
    private readonly options: AnswerCacheOptions,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(collection: string, hash: string): CachedAnswer | undefined {
    const key = `${collection}\n${hash}`;
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

  set(collection: string, hash: string, answer: CachedAnswer): void {
    const key = `${collection}\n${hash}`;
    this.remove(key);
    this.entries.set(key, { collection, answer, expiresAt: this.now() + this.options.ttlMs });
    let keys = this.keysByCollection.get(collection);
    if (!keys) this.keysByCollection.set(collection, (keys = new Set()));
    keys.add(key);
    while (this.entries.size > this.options.maxEntries) this.remove(this.entries.keys().next().value!);
  }

  drop(collection: string): void {
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

export interface RedisAnswerCacheOptions extends AnswerCacheOptions {
  url: string;
  prefix: string;
}

/** A query waits this long at most on Redis before it counts as a miss. */
const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 2_000;

/**
 * Shared by every gateway replica. An answer expires by its age alone (Redis drops it, SET PX); its
 * size is Redis's affair, `maxEntries` only turning the cache off at 0. Invalidating a collection is one
 * INCR of its generation, so the news of a change is acted on once per gateway at the cost of one
 * command, however many answers it had. Redis being down never fails a query: a read that fails is a
 * miss and a write that fails is dropped, reported once per outage.
 */
export class RedisAnswerCache extends AnswerCache implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('AnswerCache');
  private readonly redis: Redis;
  /** Set while Redis fails, so an outage is reported once rather than for every query. */
  private failing = false;

  constructor(private readonly options: RedisAnswerCacheOptions) {
    super();
    // Commands fail at once while Redis is away, rather than queue: a query does not wait for it.
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      connectionName: 'answer-cache',
    });
    this.redis.on('error', (error: Error) => this.down(error));
  }

  get enabled(): boolean {
    return this.options.maxEntries > 0;
  }

  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.redis.connect();
    } catch (error) {
      this.down(error);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  async lookup(body: QueryBody): Promise<AnswerLookup> {
    if (!this.enabled) return {};
    const generation = await this.attempt(async () =>
      Number(await this.redis.get(this.generationKey(body.collection))),
    );
    if (generation === undefined) return {};
    const key = answerKeys(this.options.prefix, body, generation).request;
    return { answer: await this.read(key), generation };
  }

  async set(body: QueryBody, answer: CachedAnswer, generation: number | undefined): Promise<boolean> {
    if (!storable(this.enabled, answer) || generation === undefined) return false;
    // Stored under the generation computed from: if the collection moved on meanwhile, nobody reads it.
    const keys = answerKeys(this.options.prefix, body, generation);
    const value = JSON.stringify(answer);
    const ttl = this.options.ttlMs;
    const stored = await this.attempt(async () => {
      const results = await this.redis
        .multi()
        .set(keys.request, value, 'PX', ttl)
        .set(keys.question, value, 'PX', ttl)
        .exec();
      const failed = results?.find(([error]) => error)?.[0];
      if (failed) throw failed;
      return true;
    });
    return stored === true;
  }

  async fallback(body: QueryBody, generation: number | undefined): Promise<CachedAnswer | undefined> {
    if (!this.enabled || generation === undefined) return undefined;
    return this.read(answerKeys(this.options.prefix, body, generation).question);
  }

  async invalidate(collection: string): Promise<void> {
    if (!this.enabled) return;
    // Lost while Redis is down: the answers then in it go only when their time is up.
    await this.attempt(() => this.redis.incr(this.generationKey(collection)));
  }

  /** The counter key of a collection's generation; it has no expiry, as every answer key depends on it. */
  generationKey(collection: string): string {
    return answerGenerationKey(this.options.prefix, collection);
  }

  private async read(key: string): Promise<CachedAnswer | undefined> {
    const raw = await this.attempt(() => this.redis.get(key));
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as CachedAnswer;
    } catch {
      return undefined;
    }
  }

  private async attempt<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await fn();
      if (this.failing) this.log.log('the answer cache reaches Redis again');
      this.failing = false;
      return result;
    } catch (error) {
      this.down(error);
      return undefined;
    }
  }

  private down(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.log.warn(
      `the answer cache cannot reach Redis (${error instanceof Error ? error.message : String(error)}); ` +
        'queries are answered without it meanwhile',
    );
  }
}

/** `<prefix>:answers:<collection>:generation`: the counter that invalidating a collection increments. */
export function answerGenerationKey(prefix: string, collection: string): string {
  return `${prefix}:answers:${collection}:generation`;
}

/**
 * The Redis keys of an answer: `<prefix>:answers:<collection>:<generation>:<hash>` for the whole request
 * and `…:<generation>:question:<hash>` for its question. Collection names have no `:`, so neither can
 * be taken for the generation counter.
 */
export function answerKeys(
  prefix: string,
  body: QueryBody,
  generation: number,
): { request: string; question: string } {
  const base = `${prefix}:answers:${body.collection}:${generation}`;
  return { request: `${base}:${requestHash(body)}`, question: `${base}:question:${questionHash(body)}` };
}

/**
 * A hash of everything in the request but its collection that can change the answer: all of the body
 * but `stream` (a streamed answer is the same answer), so a field added to the body later is part of the
 * key without anyone having to remember it. Object keys are sorted, so `{a,b}` and `{b,a}` filters are one
 * entry. The query's white space is collapsed and its Unicode composed: a subset of what query
 * understanding does first, so two queries with one key are understood alike. `explain` is left out too:
 * a request asking for it does not use the cache (see AnswerQueryHandler), and `"explain": false` is the
 * same request as none.
 */
export function requestHash(body: QueryBody): string {
  const { stream: _stream, collection: _collection, explain: _explain, query, ...options } = body;
  return hash({ ...options, query: normalizeQuery(query) });
}

/**
 * The question of a request: as `requestHash`, less `topK`, which only shapes the answer (how many
 * sources it draws on). Any answer to the question beats an extractive one when the model is down.
 */
export function questionHash(body: QueryBody): string {
  const {
    stream: _stream,
    collection: _collection,
    explain: _explain,
    topK: _topK,
    query,
    ...options
  } = body;
  return hash({ ...options, query: normalizeQuery(query) });
}

function normalizeQuery(query: string): string {
  return query.normalize('NFC').replace(/\s+/g, ' ').trim();
}

function hash(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(sortKeys(value)))
    .digest('base64url');
}

function storable(enabled: boolean, answer: CachedAnswer): boolean {
  return enabled && answer.response.degraded.length === 0;
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

  handle(event: DomainEvent): Promise<void> {
    return this.cache.invalidate(event.collection);
  }
}
