import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { MessageHandler } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, vi } from 'vitest';
import type { Envelope } from '#platform';
import { RedisStreamsClient } from './redis-streams.client.js';
import { redisStreamsKeys, type RedisStreamsKeys } from './redis-streams.keys.js';
import { RedisStreamsServer, type RedisStreamsServerOptions } from './redis-streams.server.js';

/**
 * What the Redis Streams transport's integration suites share: servers and clients on a real Redis, every
 * key under a prefix of its own (deleted at the end, so the suites can share a Redis with anyone), a
 * context of its own per test, and everything started closed after each test.
 */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type Handlers = Record<string, MessageHandler | { event: MessageHandler }>;

export interface TransportHarness {
  /** A plain connection for looking at the transport's keys; set before the first test. */
  admin: Redis;
  keys: RedisStreamsKeys;
  /** A context name of its own for each test, so no test sees another's streams or replicas. */
  newContext(): string;
  startServer(
    context: string,
    handlers: Handlers,
    options?: Partial<RedisStreamsServerOptions>,
  ): Promise<RedisStreamsServer>;
  newClient(url?: string, idempotent?: (pattern: string) => boolean): RedisStreamsClient;
  groupConsumers(stream: string, group: string): Promise<string[]>;
}

/** Registers the suite's hooks; call inside `describe`. */
export function useTransportHarness(): TransportHarness {
  const prefix = `ragnest-test-${randomUUID().slice(0, 8)}`;
  let servers: RedisStreamsServer[] = [];
  let clients: RedisStreamsClient[] = [];
  let contexts = 0;

  const harness: TransportHarness = {
    admin: undefined as unknown as Redis,
    keys: redisStreamsKeys(prefix),
    newContext: () => `ctx${++contexts}`,
    async startServer(context, handlers, options = {}) {
      const server = new RedisStreamsServer({
        url: REDIS_URL,
        prefix,
        context,
        claimIdleMs: 400,
        heartbeatMs: 100,
        ...options,
      });
      for (const [pattern, handler] of Object.entries(handlers)) {
        if (typeof handler === 'function') server.addHandler(pattern, handler);
        else server.addHandler(pattern, handler.event, true);
      }
      servers.push(server);
      await new Promise<void>((resolve, reject) =>
        server.listen((error?: Error) => (error ? reject(error) : resolve())),
      );
      return server;
    },
    newClient(url = REDIS_URL, idempotent) {
      const client = new RedisStreamsClient({ url, prefix, ...(idempotent && { idempotent }) });
      clients.push(client);
      return client;
    },
    async groupConsumers(stream, group) {
      const rows = (await harness.admin.xinfo('CONSUMERS', stream, group)) as unknown[][];
      return rows.map((row) => String(row[row.indexOf('name') + 1]));
    },
  };

  beforeAll(() => {
    harness.admin = new Redis(REDIS_URL);
  });

  afterEach(async () => {
    await Promise.all([...servers.map((s) => s.close()), ...clients.map((c) => c.close())]);
    servers = [];
    clients = [];
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    const own = await harness.admin.keys(`${prefix}:*`);
    if (own.length > 0) await harness.admin.del(...own);
    await harness.admin.quit();
  });

  return harness;
}

export function envelope(payload: unknown, timeoutMs = 5_000): Envelope {
  return { meta: { requestId: randomUUID(), deadline: Date.now() + timeoutMs }, payload };
}

export function call<T = unknown>(
  client: RedisStreamsClient,
  pattern: string,
  payload: unknown,
  timeoutMs?: number,
): Promise<T> {
  return firstValueFrom(client.send<T>(pattern, envelope(payload, timeoutMs)));
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(20);
  }
}
