import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { QueryBody } from '#contracts';
import {
  AnswerCache,
  storable,
  type AnswerCacheOptions,
  type AnswerLookup,
  type CachedAnswer,
} from '../../application/answer-query/answer-cache.port.js';
import { answerGenerationKey, answerKeys } from '../../application/answer-query/answer-cache-keys.js';

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
