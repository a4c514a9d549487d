import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { firstValueFrom, interval, lastValueFrom, map, Observable, take, toArray } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { AppError } from '#contracts';
import { RequestContext } from '#platform';
import type { TransportContext } from '#platform';
import { call, deferred, envelope, until, useTransportHarness } from './redis-streams.int-harness.js';

/**
 * The Redis Streams transport against a real Redis, without Nest: requests and errors, work sharing between
 * replicas, events per group, Redis outages, shutdown and streamed replies. What happens when a replica
 * dies with work in hand is in redis-streams.failover.int-spec.ts.
 */

describe('Redis Streams transport', () => {
  const h = useTransportHarness();
  const { keys, newClient, newContext, startServer, groupConsumers } = h;

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
        throw new AppError('INGESTION.DOCUMENT_NOT_FOUND', 'no document d1');
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
    expect(await h.admin.xlen(keys.requests(context))).toBe(0);
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
    await until(async () => ((await h.admin.xpending(keys.events, z)) as [number])[0] === 0);
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

    const ours = ((await h.admin.client('LIST')) as string)
      .split('\n')
      .filter((line) => / name=(\S+):/.test(line))
      .filter((line) => line.includes(` name=${consumer}:`) || line.includes(` name=${client.callerId}:`))
      .map((line) => /\bid=(\d+)/.exec(line)![1]);
    expect(ours).toHaveLength(5);
    for (const id of ours) await h.admin.client('KILL', 'ID', id);
    await until(answered);

    // As after a restart of a Redis without persistence: the stream and its group are gone.
    await h.admin.del(keys.requests(context));
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
          setTimeout(() => subscriber.error(new AppError('TEST.DOWN', 'model went away')), 10);
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
