import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { type DynamicModule, type INestApplicationContext, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventBus, EventsHandler, type IEventHandler } from '@nestjs/cqrs';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DocumentDeleted, DocumentIngested, encodeDomainEvent } from '#contracts';
import { CONFIG, loadConfig } from '#platform';
import { domainEventsChannel, DomainEventsModule, isFromRemote } from './domain-events.module.js';

/**
 * Domain events between two Nest application contexts (two processes, as far as the bridge can tell)
 * on a real Redis, under a prefix of their own.
 */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `ragnest-test-${randomUUID().slice(0, 8)}`;
const channel = domainEventsChannel(prefix);
/** Long enough for a message to cross Redis and back many times over on one machine. */
const SETTLE_MS = 300;

@EventsHandler(DocumentIngested, DocumentDeleted)
class Recorder implements IEventHandler<DocumentIngested | DocumentDeleted> {
  readonly seen: (DocumentIngested | DocumentDeleted)[] = [];
  handle(event: DocumentIngested | DocumentDeleted): void {
    this.seen.push(event);
  }
}

@Module({})
class TestRoot {
  static forRoot(env: Record<string, string>): DynamicModule {
    return {
      module: TestRoot,
      global: true,
      imports: [DomainEventsModule],
      providers: [{ provide: CONFIG, useValue: loadConfig(env) }, Recorder],
      exports: [CONFIG],
    };
  }
}

async function start(env: Record<string, string>): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(TestRoot.forRoot(env), { logger: false });
  await app.init();
  return app;
}

const seen = (app: INestApplicationContext) => app.get(Recorder).seen;
const publish = (app: INestApplicationContext, event: object) => app.get(EventBus).publish(event);

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(10);
  }
}

describe('DomainEventsModule over Redis', () => {
  let a: INestApplicationContext;
  let b: INestApplicationContext;
  let admin: Redis;

  beforeAll(async () => {
    const env = { REDIS_URL, REDIS_PREFIX: prefix };
    [a, b] = await Promise.all([start(env), start(env)]);
    admin = new Redis(REDIS_URL);
  });

  afterEach(() => {
    seen(a).length = 0;
    seen(b).length = 0;
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    admin?.disconnect();
  });

  it('runs a handler once in each process for an event published in one of them', async () => {
    const event = new DocumentIngested('papers', ['p1', 'p2']);
    publish(a, event);
    expect(seen(a)).toEqual([event]); // locally, at once
    await until(() => seen(b).length > 0);
    await delay(SETTLE_MS);
    expect(seen(a)).toHaveLength(1); // its own message, echoed by Redis, is not handled again
    expect(seen(b)).toHaveLength(1);
    expect(seen(b)[0]).toBeInstanceOf(DocumentIngested);
    expect(seen(b)[0]).toEqual(event);
    expect(isFromRemote(seen(b)[0])).toBe(true);
    expect(isFromRemote(seen(a)[0])).toBe(false);
  });

  it('carries events both ways', async () => {
    publish(b, new DocumentDeleted('papers', 'p1'));
    await until(() => seen(a).length > 0);
    await delay(SETTLE_MS);
    expect(seen(a)).toEqual([new DocumentDeleted('papers', 'p1')]);
    expect(seen(b)).toHaveLength(1);
  });

  it('drops a malformed message with a warning, and goes on', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn');
    await admin.publish(channel, 'not json at all');
    await admin.publish(channel, JSON.stringify({ name: 'DocumentDeleted', origin: 'x', data: {} }));
    await admin.publish(channel, encodeDomainEvent(new DocumentDeleted('papers', 'p7'), 'elsewhere')!);
    await until(() => seen(a).length > 0 && seen(b).length > 0);
    await delay(SETTLE_MS);
    expect(seen(a)).toEqual([new DocumentDeleted('papers', 'p7')]);
    expect(seen(b)).toEqual([new DocumentDeleted('papers', 'p7')]);
    const warnings = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('malformed'));
    expect(warnings).toHaveLength(4); // two messages, each dropped by both processes
  });

  it('keeps other events in their process', async () => {
    const publishes = vi.spyOn(Redis.prototype, 'publish');
    publish(a, { collection: 'papers' });
    expect(publishes).not.toHaveBeenCalled();
  });
});

describe('DomainEventsModule without Redis', () => {
  it('delivers events in the process only', async () => {
    const app = await start({});
    try {
      const event = new DocumentIngested('papers', ['p1']);
      publish(app, event);
      expect(seen(app)).toEqual([event]);
    } finally {
      await app.close();
    }
  });
});
