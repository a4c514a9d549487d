import { Logger } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError, ErrorCode } from '#contracts';
import { RequestContext, type RequestMeta, TransportContext, serializeError } from '#platform';
import { InProcessClient, InProcessServer } from './in-process.transport.js';

/** The in-process transport without Nest: envelope checks, JSON copies, request context and error shape. */

const PATTERN = 'retrieval.search';

function meta(overrides: Partial<RequestMeta> = {}): RequestMeta {
  return { requestId: 'req-42', deadline: Date.now() + 60_000, ...overrides };
}

describe('InProcessServer + InProcessClient', () => {
  let server: InProcessServer;
  let client: InProcessClient;

  beforeEach(() => {
    server = new InProcessServer();
    client = new InProcessClient(server);
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  const send = (pattern: string, data: unknown) => firstValueFrom(client.send<unknown>(pattern, data));

  it('answers with the handler reply', async () => {
    server.addHandler(PATTERN, async (payload: { query: string }) => ({ results: [payload.query.length] }));
    await expect(send(PATTERN, { meta: meta(), payload: { query: 'abc' } })).resolves.toEqual({
      results: [3],
    });
    expect(server.hasPattern(PATTERN)).toBe(true);
    expect(server.hasPattern('retrieval.other')).toBe(false);
  });

  it('hands the handler the pattern and meta as a TransportContext', async () => {
    const handler = vi.fn(async () => 'ok');
    server.addHandler(PATTERN, handler);
    const m = meta();
    await send(PATTERN, { meta: m, payload: {} });
    const ctx = handler.mock.calls[0] as unknown as [unknown, TransportContext];
    expect(ctx[1]).toBeInstanceOf(TransportContext);
    expect(ctx[1].pattern).toBe(PATTERN);
    expect(ctx[1].meta).toEqual(m);
  });

  describe('payload copies', () => {
    it('gives the handler a copy, so its mutations do not reach the caller', async () => {
      server.addHandler(PATTERN, async (payload: { tags: string[]; nested: { n: number } }) => {
        payload.tags.push('added');
        payload.nested.n = 99;
        return payload;
      });
      const payload = { tags: ['a'], nested: { n: 1 } };
      const reply = await send(PATTERN, { meta: meta(), payload });
      expect(payload).toEqual({ tags: ['a'], nested: { n: 1 } });
      expect(reply).toEqual({ tags: ['a', 'added'], nested: { n: 99 } });
      expect(reply).not.toBe(payload);
    });

    it('delivers a payload as it would arrive over the wire', async () => {
      const seen: unknown[] = [];
      server.addHandler(PATTERN, async (payload: unknown) => {
        seen.push(payload);
        return null;
      });
      const at = new Date('2024-05-06T07:08:09.010Z');
      await send(PATTERN, { meta: meta(), payload: { at, skip: undefined, n: Number.NaN } });
      expect(seen).toEqual([{ at: '2024-05-06T07:08:09.010Z', n: null }]);
    });

    it('copies the reply too, so the handler keeps no reference to what the caller holds', async () => {
      const kept = { items: [1] };
      server.addHandler(PATTERN, async () => ({ kept, at: new Date('2024-01-01T00:00:00.000Z') }));
      const reply = (await send(PATTERN, { meta: meta(), payload: {} })) as { kept: unknown; at: unknown };
      expect(reply).toEqual({ kept: { items: [1] }, at: '2024-01-01T00:00:00.000Z' });
      expect(reply.kept).not.toBe(kept);
    });
  });

  it('runs the handler inside a RequestContext carrying the meta', async () => {
    let inside: RequestMeta | undefined;
    server.addHandler(PATTERN, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      inside = RequestContext.current();
      return 'ok';
    });
    const m = meta({ requestId: 'req-ctx' });
    await send(PATTERN, { meta: m, payload: {} });
    expect(inside).toEqual(m);
    expect(RequestContext.current()).toBeUndefined();
  });

  describe('refusals', () => {
    it('rejects a passed deadline with TRANSPORT.TIMEOUT without calling the handler', async () => {
      const handler = vi.fn(async () => 'late');
      server.addHandler(PATTERN, handler);
      await expect(send(PATTERN, { meta: meta({ deadline: Date.now() - 1 }), payload: {} })).rejects.toEqual(
        expect.objectContaining({ code: ErrorCode.TransportTimeout, status: 504 }),
      );
      expect(handler).not.toHaveBeenCalled();
    });

    it('rejects an unknown pattern with TRANSPORT.UNAVAILABLE', async () => {
      await expect(send('nobody.home', { meta: meta(), payload: {} })).rejects.toEqual(
        expect.objectContaining({
          code: 'TRANSPORT.UNAVAILABLE',
          status: 503,
          message: 'no handler for nobody.home in this process',
        }),
      );
    });

    it.each([
      ['without meta', { payload: {} }],
      ['without payload', { meta: meta() }],
      ['with a meta missing its deadline', { meta: { requestId: 'r' }, payload: {} }],
      ['that is not an object', 'just a string'],
    ])('rejects a message %s with 400', async (_, data) => {
      const handler = vi.fn(async () => 'ok');
      server.addHandler(PATTERN, handler);
      await expect(send(PATTERN, data)).rejects.toEqual(
        expect.objectContaining({ code: ErrorCode.ValidationFailed, status: 400 }),
      );
      expect(handler).not.toHaveBeenCalled();
    });
  });

  describe('handler errors', () => {
    it('serialises an AppError with its code, status, message and details', async () => {
      server.addHandler(PATTERN, async () => {
        throw new AppError(ErrorCode.InvalidFilter, 'unknown filter operator $x', { op: '$x' });
      });
      const rejection: unknown = await send(PATTERN, { meta: meta(), payload: {} }).catch((e: unknown) => e);
      expect(rejection).not.toBeInstanceOf(Error);
      expect(rejection).toEqual({
        code: 'RETRIEVAL.INVALID_FILTER',
        message: 'unknown filter operator $x',
        status: 400,
        details: { op: '$x' },
      });
      expect(AppError.isSerialized(rejection)).toBe(true);
    });

    it('hides any other error behind INTERNAL.ERROR 500, without its message', async () => {
      server.addHandler(PATTERN, async () => {
        throw new TypeError('cannot read secret of undefined');
      });
      await expect(send(PATTERN, { meta: meta(), payload: {} })).rejects.toEqual({
        code: 'INTERNAL.ERROR',
        message: 'internal error',
        status: 500,
      });
    });
  });

  describe('events', () => {
    it('delivers an event with its context and swallows the handler failure', async () => {
      let inside: RequestMeta | undefined;
      const handler = vi.fn(async () => {
        inside = RequestContext.current();
        throw new Error('event failed');
      });
      server.addHandler('ingestion.indexed', handler, true);
      const m = meta();
      await server.dispatchEvent('ingestion.indexed', { meta: m, payload: { id: 'd1' } });
      expect(handler).toHaveBeenCalledWith({ id: 'd1' }, expect.any(TransportContext));
      expect(inside).toEqual(m);
    });

    it('ignores an event without a handler or without an envelope', async () => {
      const handler = vi.fn(async () => undefined);
      server.addHandler('ingestion.indexed', handler, true);
      await expect(
        server.dispatchEvent('nobody.home', { meta: meta(), payload: {} }),
      ).resolves.toBeUndefined();
      await expect(server.dispatchEvent('ingestion.indexed', { payload: {} })).resolves.toBeUndefined();
      expect(handler).not.toHaveBeenCalled();
    });
  });
});

describe('serializeError', () => {
  it('passes an already serialised error through unchanged', () => {
    const serialized = { code: 'GENERATION.UNAVAILABLE', message: 'down', status: 503 };
    expect(serializeError(serialized)).toBe(serialized);
  });

  it.each([new Error('x'), 'x', null, { message: 'no code' }])('hides %j as INTERNAL.ERROR', (err) => {
    expect(serializeError(err)).toEqual({ code: 'INTERNAL.ERROR', message: 'internal error', status: 500 });
  });
});
