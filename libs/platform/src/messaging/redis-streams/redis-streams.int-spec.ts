import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { firstValueFrom, interval, lastValueFrom, map, Observable, take, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '#contracts';
import { RequestContext } from '../../context/request-context.js';
import type { Envelope, TransportContext } from '../envelope.js';
import { RedisStreamsClient } from './redis-streams.client.js';
import { redisStreamsKeys } from './redis-streams.keys.js';
import { RedisStreamsServer, type RedisStreamsServerOptions } from './redis-streams.server.js';

/**
 * The Redis Streams transport against a real Redis, without Nest: work sharing between replicas, claims
 * from dead replicas, deadlines, events per group, liveness and shutdown. Every key lives under a prefix
 * of its own, deleted at the end, so the suite can share a Redis with anyone.
 */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `ragnest-test-${randomUUID().slice(0, 8)}`;
const keys = redisStreamsKeys(prefix);

let admin: Redis;
let servers: RedisStreamsServer[] = [];
let clients: RedisStreamsClient[] = [];
let contexts = 0;

/** A context name of its own for each test, so no test sees another's streams or replicas. */
const newContext = () => `ctx${++contexts}`;

type Handlers = Record<string, MessageHandler | { event: MessageHandler }>;

async function startServer(
  context: string,
  handlers: Handlers,
  options: Partial<RedisStreamsServerOptions> = {},
): Promise<RedisStreamsServer> {
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
}

function newClient(url = REDIS_URL, idempotent?: (pattern: string) => boolean): RedisStreamsClient {
  const client = new RedisStreamsClient({ url, prefix, ...(idempotent && { idempotent }) });
  clients.push(client);
  return client;
}

function envelope(payload: unknown, timeoutMs = 5_000): Envelope {
  return { meta: { requestId: randomUUID(), deadline: Date.now() + timeoutMs }, payload };
}

function call<T = unknown>(
  client: RedisStreamsClient,
  pattern: string,
  payload: unknown,
  timeoutMs?: number,
) {
  return firstValueFrom(client.send<T>(pattern, envelope(payload, timeoutMs)));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(20);
  }
}

async function groupConsumers(stream: string, group: string): Promise<string[]> {
  const rows = (await admin.xinfo('CONSUMERS', stream, group)) as unknown[][];
  return rows.map((row) => String(row[row.indexOf('name') + 1]));
}

describe('Redis Streams transport', () => {
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });

  afterEach(async () => {
    await Promise.all([...servers.map((s) => s.close()), ...clients.map((c) => c.close())]);
    servers = [];
    clients = [];
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    const own = await admin.keys(`${prefix}:*`);
    if (own.length > 0) await admin.del(...own);
    await admin.quit();
  });

  it('answers a request, with the pattern, request id and deadline reaching the handler', async () => {
    const context = newContext();
    const pattern = `${context}.echo`;
    await startServer(context, {
      [pattern]: async (payload: unknown, ctx: TransportContext) => ({
        payload,
        pattern: ctx.pattern,
        current: RequestContext.current(),
      }),
    });
    const sent = envelope({ query: 'vitamin d' });
    const reply = await firstValueFrom(newClient().send(pattern, sent));
    expect(reply).toEqual({ payload: { query: 'vitamin d' }, pattern, current: sent.meta });
  });

  it('carries errors as code, message and status; other failures as a generic internal error', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const context = newContext();
    await startServer(context, {
      [`${context}.missing`]: async () => {
        throw AppError.notFound('INGESTION.DOCUMENT_NOT_FOUND', 'no document d1');
      },
      [`${context}.broken`]: async () => {
        throw new Error('secret detail');
      },
    });
    const client = newClient();
    await expect(call(client, `${context}.missing`, {})).rejects.toMatchObject({
      code: 'INGESTION.DOCUMENT_NOT_FOUND',
      message: 'no document d1',
      status: 404,
    });
    await expect(call(client, `${context}.broken`, {})).rejects.toEqual({
      code: 'INTERNAL.ERROR',
      message: 'internal error',
      status: 500,
    });
    await expect(call(client, `${context}.unknown`, {})).rejects.toMatchObject({
      code: 'TRANSPORT.UNAVAILABLE',
      status: 503,
    });
  });

  it('shares requests between replicas, each handled exactly once', async () => {
    const context = newContext();
    const pattern = `${context}.work`;
    const handledBy = new Map<number, string[]>();
    const replica =
      (name: string) =>
      async ({ n }: { n: number }) => {
        await delay(n % 3);
        handledBy.set(n, [...(handledBy.get(n) ?? []), name]);
        return { n, by: name };
      };
    await startServer(context, { [pattern]: replica('a') }, { consumer: 'a', concurrency: 8 });
    await startServer(context, { [pattern]: replica('b') }, { consumer: 'b', concurrency: 8 });
    const client = newClient();
    expect((await client.liveReplicas(context)).sort()).toEqual(['a', 'b']);

    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, n) => call<{ n: number; by: string }>(client, pattern, { n })),
    );

    expect(replies.map((r) => r.n)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    expect(handledBy.size).toBe(200);
    expect([...handledBy.values()].every((by) => by.length === 1)).toBe(true);
    const perReplica = { a: 0, b: 0 };
    for (const reply of replies) perReplica[reply.by as 'a' | 'b'] += 1;
    expect(perReplica.a).toBeGreaterThan(0);
    expect(perReplica.b).toBeGreaterThan(0);
    expect(await admin.xlen(keys.requests(context))).toBe(0);
  });

  it('lets a live replica keep a request that runs far longer than the claim threshold', async () => {
    const context = newContext();
    const pattern = `${context}.slow`;
    const calls: string[] = [];
    const slow = (name: string) => async () => {
      calls.push(name);
      await delay(1_200);
      return name;
    };
    await startServer(context, { [pattern]: slow('a') }, { consumer: 'a' });
    await startServer(context, { [pattern]: slow('b') }, { consumer: 'b' });
    const by = await call<string>(newClient(), pattern, {});
    expect(calls).toEqual([by]);
  });

  /** A replica that takes `pattern` and never answers, until `die` cuts its connections as a SIGKILL would. */
  async function hangingReplica(context: string, pattern: string, consumer: string) {
    const taken = deferred();
    const never = deferred();
    const server = await startServer(
      context,
      {
        [pattern]: async () => {
          taken.resolve();
          await never.promise;
          return consumer;
        },
      },
      { consumer, heartbeatMs: 1_000 },
    );
    return {
      taken: taken.promise,
      die() {
        for (const connection of server.unwrap<Redis[]>()) connection.disconnect();
        // Its timers would beat into closed connections; a killed process has none.
        never.resolve();
      },
    };
  }

  it('sends an idempotent call held by a replica that dies to another, within a second', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const context = newContext();
    const pattern = `${context}.work`;
    const a = await hangingReplica(context, pattern, 'a');
    const client = newClient(REDIS_URL, (p) => p === pattern);
    const reply = call<string>(client, pattern, {}, 8_000);
    await a.taken;
    const ranOnB: string[] = [];
    await startServer(context, { [pattern]: async () => (ranOnB.push('b'), 'b') }, { consumer: 'b' });

    // Replica a dies: its connections drop with the request unacknowledged, its heartbeat still valid.
    const started = Date.now();
    a.die();

    await expect(reply).resolves.toBe('b');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(ranOnB).toEqual(['b']);
    expect(await client.liveReplicas(context)).toEqual(['b']);
    // The entry a held was removed: no peer claims it and runs it a second time.
    expect(await admin.xlen(keys.requests(context))).toBe(0);
  });

  it('fails a call that is not idempotent at once when its replica dies, and no peer runs it later', async () => {
    const CLAIM_IDLE_MS = 2_000;
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const context = newContext();
    const pattern = `${context}.write`;
    const a = await hangingReplica(context, pattern, 'a');
    const ranOnB: string[] = [];
    // b claims what a dead peer left idle after its default 2 s, not the 400 ms of the other tests here:
    // the caller must have failed and removed a's call well before that (under CI's load b's claim at
    // 400 ms once came first, and ran the call that a had taken).
    await startServer(
      context,
      { [pattern]: async () => (ranOnB.push('b'), 'b') },
      { consumer: 'b', claimIdleMs: CLAIM_IDLE_MS },
    );
    const client = newClient(REDIS_URL, () => false);
    // Two replicas share the work: send until a takes one.
    const replies = [0, 1, 2, 3].map(() => call<string>(client, pattern, {}, 8_000).catch((e: unknown) => e));
    await a.taken;
    const started = Date.now();
    a.die();

    const outcomes = await Promise.all(replies);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(outcomes.filter((o) => o === 'b').length).toBe(ranOnB.length);
    // However many of the four a had taken (one at least; on a busy machine it may read several before
    // b starts), each failed at once, and none was run by b.
    const failed = outcomes.filter((o) => o !== 'b');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const f of failed)
      expect(f).toEqual({
        code: 'TRANSPORT.UNAVAILABLE',
        message: `the replica handling ${pattern} died before answering`,
        status: 503,
      });
    // Past b's claim threshold, the failed calls have still not been run by b.
    await delay(CLAIM_IDLE_MS + 500);
    expect(ranOnB.length).toBe(outcomes.length - failed.length);
  });

  it('fails calls held or queued at once when the last replica of their context dies', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const context = newContext();
    const pattern = `${context}.work`;
    const a = await hangingReplica(context, pattern, 'a');
    const client = newClient(REDIS_URL, () => true);
    const held = call(client, pattern, {}, 8_000).catch((e: unknown) => e);
    await a.taken;
    const started = Date.now();
    a.die();
    const noReplica = { code: 'TRANSPORT.NO_REPLICA', message: `no live replica of ${context}`, status: 503 };
    expect(await held).toEqual(noReplica);
    expect(Date.now() - started).toBeLessThan(1_000);
    // And a call sent now fails before it is queued, though a's heartbeat has not expired.
    const sentAfter = performance.now();
    await expect(call(client, pattern, {}, 8_000)).rejects.toEqual(noReplica);
    expect(performance.now() - sentAfter).toBeLessThan(250);
  });

  it('has a request held by a replica that stopped answering claimed by a peer when no caller watches', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const context = newContext();
    const pattern = `${context}.work`;
    const a = await hangingReplica(context, pattern, 'a');
    // The request is queued by a caller that then goes away (closed without waiting for the answer).
    const gone = newClient();
    void call(gone, pattern, {}, 4_000).catch(() => undefined);
    await a.taken;
    const ranOnB = deferred();
    await startServer(context, { [pattern]: async () => (ranOnB.resolve(), 'b') }, { consumer: 'b' });
    a.die();
    await gone.close();
    // Claimed by b once idle past its claim threshold, as the server's own backstop.
    await ranOnB.promise;
    // Once its heartbeat has expired and nothing is pending under it, a is removed from the group.
    await until(async () => !(await groupConsumers(keys.requests(context), context)).includes('a'), 6_000);
  });

  it('acknowledges a request whose deadline passed in the queue without running it', async () => {
    const context = newContext();
    const slowStarted = deferred();
    let fastCalls = 0;
    await startServer(
      context,
      {
        [`${context}.slow`]: async () => {
          slowStarted.resolve();
          await delay(500);
          return 'slow';
        },
        [`${context}.fast`]: async () => {
          fastCalls += 1;
          return 'fast';
        },
      },
      { concurrency: 1 },
    );
    const client = newClient();
    const slow = call(client, `${context}.slow`, {});
    await slowStarted.promise;
    await expect(call(client, `${context}.fast`, {}, 150)).rejects.toMatchObject({
      code: 'TRANSPORT.TIMEOUT',
      status: 504,
    });
    await expect(slow).resolves.toBe('slow');
    await until(async () => (await admin.xlen(keys.requests(context))) === 0);
    const [pendingCount] = (await admin.xpending(keys.requests(context), context)) as [number];
    expect(pendingCount).toBe(0);
    expect(fastCalls).toBe(0);
  });

  it('delivers an event once to each subscribing context, to one replica in it', async () => {
    const [x, y, z] = [newContext(), newContext(), newContext()];
    const event = `${x}.indexed`;
    const seen: Record<string, number[]> = { x1: [], x2: [], y1: [], y2: [], z1: [] };
    const record = (replica: string) => ({
      event: async ({ n }: { n: number }) => {
        seen[replica].push(n);
      },
    });
    await startServer(x, { [event]: record('x1') }, { consumer: 'x1' });
    await startServer(x, { [event]: record('x2') }, { consumer: 'x2' });
    await startServer(y, { [event]: record('y1') }, { consumer: 'y1' });
    await startServer(y, { [event]: record('y2') }, { consumer: 'y2' });
    await startServer(z, { [`${z}.other`]: record('z1') }, { consumer: 'z1' });
    const client = newClient();

    for (let n = 0; n < 20; n += 1) await lastValueFrom(client.emit(event, envelope({ n })));

    const all = Array.from({ length: 20 }, (_, n) => n);
    const sorted = (...lists: number[][]) => lists.flat().sort((p, q) => p - q);
    await until(() => seen.x1.length + seen.x2.length === 20 && seen.y1.length + seen.y2.length === 20);
    await until(async () => ((await admin.xpending(keys.events, z)) as [number])[0] === 0);
    await delay(100);
    expect(sorted(seen.x1, seen.x2)).toEqual(all);
    expect(sorted(seen.y1, seen.y2)).toEqual(all);
    expect(seen.z1).toEqual([]);
  });

  it('fails at once when the context has no live replica', async () => {
    const client = newClient();
    await client.connect();
    const started = performance.now();
    await expect(call(client, `${newContext()}.search`, {})).rejects.toEqual({
      code: 'TRANSPORT.NO_REPLICA',
      message: expect.stringContaining('no live replica'),
      status: 503,
    });
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('fails fast, and does not hang, when Redis cannot be reached', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const client = newClient('redis://127.0.0.1:1');
    const started = performance.now();
    await expect(call(client, `${newContext()}.search`, {})).rejects.toMatchObject({
      code: 'TRANSPORT.UNAVAILABLE',
      status: 503,
    });
    await expect(lastValueFrom(client.emit(`${newContext()}.indexed`, envelope({})))).rejects.toMatchObject({
      code: 'TRANSPORT.UNAVAILABLE',
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('keeps serving after Redis drops its connections and after its stream vanishes', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const context = newContext();
    const pattern = `${context}.ping`;
    const consumer = `${context}-a`;
    await startServer(context, { [pattern]: async () => 'pong' }, { consumer });
    const client = newClient();
    expect(await call(client, pattern, {})).toBe('pong');
    const answered = async () => (await call(client, pattern, {}, 1_000).catch(() => 'failed')) === 'pong';

    const ours = ((await admin.client('LIST')) as string)
      .split('\n')
      .filter((line) => / name=(\S+):/.test(line))
      .filter((line) => line.includes(` name=${consumer}:`) || line.includes(` name=${client.callerId}:`))
      .map((line) => /\bid=(\d+)/.exec(line)![1]);
    expect(ours).toHaveLength(5);
    for (const id of ours) await admin.client('KILL', 'ID', id);
    await until(answered);

    // As after a restart of a Redis without persistence: the stream and its group are gone.
    await admin.del(keys.requests(context));
    await until(answered);
  });

  it('fails to start when Redis cannot be reached', async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await expect(startServer(newContext(), {}, { url: 'redis://127.0.0.1:1' })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });

  it('finishes the request in hand on close, then takes no more; what it left queued fails at once', async () => {
    const context = newContext();
    const pattern = `${context}.work`;
    const started = deferred();
    const handledByA: number[] = [];
    const a = await startServer(
      context,
      {
        [pattern]: async ({ n }: { n: number }) => {
          started.resolve();
          await delay(300);
          handledByA.push(n);
          return 'a';
        },
      },
      { consumer: 'a' },
    );
    const client = newClient();
    const first = call<string>(client, pattern, { n: 1 });
    await started.promise;

    const closing = a.close();
    const second = call<string>(client, pattern, { n: 2 }).catch((e: unknown) => e);
    await expect(first).resolves.toBe('a');
    await closing;
    expect(await client.liveReplicas(context)).toEqual([]);
    expect(await groupConsumers(keys.requests(context), context)).toEqual([]);
    // No replica is left to read the second call: it fails now rather than at its deadline.
    expect(await second).toMatchObject({ code: 'TRANSPORT.NO_REPLICA', status: 503 });
    const ranOnB: string[] = [];
    await startServer(context, { [pattern]: async () => (ranOnB.push('b'), 'b') }, { consumer: 'b' });
    await delay(200);
    expect(ranOnB).toEqual([]);
    expect(handledByA).toEqual([1]);
  });

  it('answers sequential calls with a sub-millisecond-scale median round trip', async () => {
    const context = newContext();
    const pattern = `${context}.ping`;
    await startServer(context, { [pattern]: async (payload: unknown) => payload });
    const client = newClient();
    await call(client, pattern, {});
    const samples: number[] = [];
    for (let i = 0; i < 1_000; i += 1) {
      const started = performance.now();
      await call(client, pattern, { i });
      samples.push(performance.now() - started);
    }
    samples.sort((p, q) => p - q);
    const p50 = samples[500];
    const p99 = samples[990];
    console.info(
      `redis-streams round trip over 1,000 calls: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms`,
    );
    expect(p50).toBeLessThan(5);
  });

  it('streams the values of a handler that returns an Observable, in order, then completes', async () => {
    const context = newContext();
    const pattern = `${context}.count`;
    await startServer(context, {
      [pattern]: async (payload: unknown) =>
        interval(5).pipe(
          take((payload as { n: number }).n),
          map((i) => ({ i })),
        ),
    });
    const client = newClient();
    const values = await lastValueFrom(client.send(pattern, envelope({ n: 20 })).pipe(toArray()));
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));
  });

  it('ends a streamed reply with the error the handler raised mid-way, after the values before it', async () => {
    const context = newContext();
    const pattern = `${context}.fails`;
    await startServer(context, {
      [pattern]: async () =>
        new Observable((subscriber) => {
          subscriber.next('one');
          setTimeout(() => subscriber.error(AppError.unavailable('TEST.DOWN', 'model went away')), 10);
        }),
    });
    const seen: unknown[] = [];
    await expect(lastValueFrom(client(pattern).pipe(map((v) => (seen.push(v), v))))).rejects.toMatchObject({
      code: 'TEST.DOWN',
    });
    expect(seen).toEqual(['one']);

    function client(p: string) {
      return newClient().send(p, envelope({}));
    }
  });

  it('cancels a streamed reply at the replica when the caller unsubscribes', async () => {
    const context = newContext();
    const pattern = `${context}.endless`;
    const stopped = deferred();
    await startServer(context, {
      [pattern]: async () =>
        new Observable<number>((subscriber) => {
          const timer = setInterval(() => subscriber.next(1), 5);
          return () => {
            clearInterval(timer);
            stopped.resolve();
          };
        }),
    });
    const client = newClient();
    const first = await firstValueFrom(client.send(pattern, envelope({}, 10_000)));
    expect(first).toBe(1);
    // firstValueFrom unsubscribed after the first value: the replica must stop producing.
    await Promise.race([
      stopped.promise,
      delay(2_000).then(() => {
        throw new Error('the handler was not cancelled');
      }),
    ]);
  });
});
