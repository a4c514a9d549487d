import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { isObservable, lastValueFrom, type Observable, type Subscription } from 'rxjs';
import { AppError, type SerializedError } from '#contracts';
import { RequestContext } from '../../context/request-context.js';
import { type Envelope, TransportContext } from '../envelope.js';
import { serializeError } from '../in-process.transport.js';
import { redisStreamsKeys, type RedisStreamsKeys } from './redis-streams.keys.js';
import {
  EntryField,
  fieldMap,
  INTERNAL_ERROR,
  invalidMessageError,
  logOutages,
  messageOf,
  parseEnvelope,
  quit,
  type ReplyMessage,
  timeoutError,
  unavailableError,
} from './redis-streams.wire.js';

/**
 * The Redis Streams transport, serving side. Every replica of a context is a consumer in the context's
 * group on `req:<context>`, so each request is handled by exactly one replica; events come from the shared
 * events stream through one group per subscribing context. Entries stay pending until answered, and a
 * replica that dies with work in hand has it claimed by its peers while the caller's deadline allows;
 * a live replica keeps its in-flight entries fresh so they are never taken from it.
 */
export interface RedisStreamsServerOptions {
  url: string;
  /** The context this replica serves. */
  context: string;
  /** This replica's consumer name, unique within the context; a fresh one per process by default. */
  consumer?: string;
  /** Most requests and events this replica works on at once. */
  concurrency?: number;
  /** How long an entry may sit unacknowledged in a silent replica's hands before a peer claims it. */
  claimIdleMs?: number;
  /** Period of the liveness heartbeat; a replica is believed live for three periods after a beat. */
  heartbeatMs?: number;
  /** Key prefix shared with the clients (default `ragnest`). */
  prefix?: string;
}

const DEFAULT_CONCURRENCY = 32;
const DEFAULT_CLAIM_IDLE_MS = 2_000;
const DEFAULT_HEARTBEAT_MS = 1_000;
const HEARTBEAT_LIFETIMES = 3;
/** Blocking reads return this often even when idle, so a silently dead socket is noticed. */
const BLOCK_MS = 5_000;
const READER_SOCKET_TIMEOUT_MS = BLOCK_MS + 2_000;
const COMMAND_SOCKET_TIMEOUT_MS = 10_000;
/** An entry delivered more often than this has crashed or stalled every replica that took it. */
const MAX_DELIVERIES = 5;
/** Consumers of dead replicas are removed from the groups every this many heartbeats. */
const PRUNE_EVERY_HEARTBEATS = 10;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/** After CLIENT UNBLOCK, how long a closing server waits for the read loop before cutting its socket. */
const UNBLOCK_GRACE_MS = 200;

type Outcome = { response: unknown } | { err: SerializedError };
/** What a request handler gave: one outcome, or a stream of values (it returned an Observable). */
type Result = Outcome | { stream: Observable<unknown>; meta: Envelope['meta'] };

interface HeldEntry {
  id: string;
  fields: Record<string, string>;
  deadline: number;
}

interface StreamState {
  key: string;
  kind: 'request' | 'event';
  /** Entries read or claimed by this replica and not yet acknowledged, running or queued. */
  held: Map<string, HeldEntry>;
  /** XAUTOCLAIM resumes its scan of the pending list where the previous round stopped. */
  cursor: string;
}

/** Events of the underlying ioredis connections (`error`, `ready`, `reconnecting`, …). */
type ConnectionEvents = Record<string, (...args: any[]) => void>;

type ReadReply = [key: string, entries: [id: string, fields: string[]][]][] | null;
type ClaimReply = [cursor: string, entries: [id: string, fields: string[] | null][], deleted?: string[]];
type PendingRow = [id: string, consumer: string, idleMs: number, deliveries: number];

export class RedisStreamsServer extends Server<ConnectionEvents> implements CustomTransportStrategy {
  /** This replica's name in its consumer groups and in the live-replica set. */
  readonly consumer: string;
  /** Requests this replica has run, per pattern: what /health/live reports, and how tests see who did the work. */
  readonly handled = new Map<string, number>();
  private readonly log = new Logger('RedisStreamsServer');
  private readonly keys: RedisStreamsKeys;
  private readonly context: string;
  private readonly concurrency: number;
  private readonly claimIdleMs: number;
  private readonly heartbeatMs: number;
  /** The blocking XREADGROUP owns this connection; everything else goes through `commands`. */
  private readonly reader: Redis;
  private readonly commands: Redis;
  /** Subscribed to this replica's cancel channel: callers that gave up on a streamed reply. */
  private readonly cancels: Redis;
  /** Streamed replies in progress, by request id, with what stops them. */
  private readonly streaming = new Map<string, () => void>();
  private streams: StreamState[] = [];
  private readonly queue: { stream: StreamState; entry: HeldEntry }[] = [];
  private running = 0;
  private closing = false;
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  private closed?: Promise<void>;
  private readerId?: number;
  private connectError?: Error;
  private timers: NodeJS.Timeout[] = [];
  private refreshing = false;
  private claiming = false;
  private lastPrune = Date.now();
  private wakeLoop?: () => void;
  private drained?: () => void;

  constructor(options: RedisStreamsServerOptions) {
    super();
    this.context = options.context;
    this.keys = redisStreamsKeys(options.prefix);
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.claimIdleMs = options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    // A read waits for Redis to come back rather than failing: the loop is the only one waiting on it.
    this.reader = new Redis(options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      socketTimeout: READER_SOCKET_TIMEOUT_MS,
      connectionName: `${this.consumer}:reader`,
    });
    this.commands = new Redis(options.url, {
      lazyConnect: true,
      socketTimeout: COMMAND_SOCKET_TIMEOUT_MS,
      connectionName: `${this.consumer}:commands`,
    });
    this.cancels = new Redis(options.url, {
      lazyConnect: true,
      connectionName: `${this.consumer}:cancels`,
    });
    this.cancels.on('message', (_channel: string, id: string) => this.streaming.get(id)?.());
    this.cancels.on('error', () => undefined);
    this.reader.on('close', () => {
      this.readerId = undefined;
    });
    this.commands.on('error', (error: Error) => {
      this.connectError = error;
    });
    logOutages(this.reader, this.log, `${this.context} reader`);
    logOutages(this.commands, this.log, `${this.context} commands`);
  }

  /** Joins the groups, announces the replica and starts consuming; fails if Redis cannot be reached now. */
  listen(callback: (error?: Error) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => {
        void this.close();
        callback(error instanceof Error ? error : new Error(messageOf(error)));
      },
    );
  }

  /** Stops taking work, finishes what is in hand (within its deadlines), leaves, and disconnects. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  on<K extends string>(event: K, callback: ConnectionEvents[K]): void {
    this.reader.on(event, callback);
    this.commands.on(event, callback);
  }

  /** The reading, the command and the cancel-subscriber connections. */
  unwrap<T>(): T {
    return [this.reader, this.commands, this.cancels] as T;
  }

  private async start(): Promise<void> {
    this.streams = [this.streamState(this.keys.requests(this.context), 'request')];
    if ([...this.messageHandlers.values()].some((handler) => handler.isEventHandler)) {
      this.streams.push(this.streamState(this.keys.events, 'event'));
    }
    try {
      await Promise.all([this.reader.connect(), this.commands.connect(), this.cancels.connect()]);
      await this.cancels.subscribe(this.keys.cancelChannel(this.consumer));
    } catch (error) {
      // ioredis rejects with "Connection is closed"; the reason came with its error event.
      throw new Error(`${this.context}: cannot reach Redis (${messageOf(this.connectError ?? error)})`);
    }
    await this.ensureGroups();
    await this.heartbeat();
    this.timers = [
      setInterval(() => void this.quietly('heartbeat', () => this.heartbeat()), this.heartbeatMs),
      setInterval(() => void this.quietly('refresh', () => this.refresh()), this.claimIdleMs / 4),
      setInterval(() => void this.quietly('claim', () => this.claim()), this.claimIdleMs / 2),
    ];
    this.loop = this.readLoop();
  }

  private streamState(key: string, kind: StreamState['kind']): StreamState {
    return { key, kind, held: new Map(), cursor: '0-0' };
  }

  /** Requests read from the start (a caller may have queued some already); events from now on. */
  private async ensureGroups(): Promise<void> {
    await Promise.all(
      this.streams.map(async (stream) => {
        try {
          await this.commands.xgroup(
            'CREATE',
            stream.key,
            this.context,
            stream.kind === 'request' ? '0' : '$',
            'MKSTREAM',
          );
        } catch (error) {
          if (!messageOf(error).startsWith('BUSYGROUP')) throw error;
        }
      }),
    );
  }

  private async heartbeat(): Promise<void> {
    const now = Date.now();
    const key = this.keys.replicas(this.context);
    await this.commands
      .pipeline()
      .zadd(key, now + HEARTBEAT_LIFETIMES * this.heartbeatMs, this.consumer)
      .zremrangebyscore(key, '-inf', `(${now}`)
      .exec();
  }

  private async readLoop(): Promise<void> {
    let failures = 0;
    while (!this.closing) {
      if (this.heldCount() >= this.concurrency) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        continue;
      }
      try {
        const batch = await this.read();
        failures = 0;
        for (const [key, entries] of batch ?? []) {
          const stream = this.streams.find((s) => s.key === key);
          if (stream) this.accept(stream, entries);
        }
      } catch (error) {
        if (this.closing) break;
        if (this.reader.status === 'end') {
          this.log.error(`${this.context}: reader connection closed for good; no longer consuming`);
          break;
        }
        // The stream was deleted under the read, or Redis restarted without persistence: make it again.
        if (/^(NOGROUP|UNBLOCKED)/.test(messageOf(error))) {
          const recreated = await this.ensureGroups().then(
            () => true,
            () => false,
          );
          if (recreated) continue;
        }
        failures += 1;
        if (failures === 1) this.log.warn(`${this.context}: read failed (${messageOf(error)}); retrying`);
        await delay(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1)), undefined, {
          signal: this.stopping.signal,
        }).catch(() => undefined);
      }
    }
  }

  private async read(): Promise<ReadReply> {
    this.readerId ??= Number(await this.reader.client('ID'));
    // COUNT is per stream: split the free slots so one read never takes more than this replica can start.
    const count = Math.ceil((this.concurrency - this.heldCount()) / this.streams.length);
    const keys = this.streams.map((stream) => stream.key);
    return (await this.reader.xreadgroup(
      'GROUP',
      this.context,
      this.consumer,
      'COUNT',
      count,
      'BLOCK',
      BLOCK_MS,
      'STREAMS',
      ...keys,
      ...keys.map(() => '>'),
    )) as ReadReply;
  }

  private accept(stream: StreamState, entries: readonly [string, string[]][]): void {
    const ignored: string[] = [];
    for (const [id, flat] of entries) {
      if (stream.held.has(id)) continue;
      const fields = fieldMap(flat);
      // Every subscribing context reads every event; those without a handler here are only acknowledged.
      if (
        stream.kind === 'event' &&
        !this.getHandlerByPattern(fields[EntryField.Pattern] ?? '')?.isEventHandler
      ) {
        ignored.push(id);
        continue;
      }
      const entry: HeldEntry = { id, fields, deadline: Number(fields[EntryField.Deadline]) || 0 };
      stream.held.set(id, entry);
      this.queue.push({ stream, entry });
    }
    if (ignored.length > 0) void this.quietly('acknowledge', () => this.ack(stream, ignored));
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const { stream, entry } = this.queue.shift()!;
      this.running += 1;
      const work = stream.kind === 'request' ? this.answer(stream, entry) : this.deliver(stream, entry);
      void work.finally(() => {
        this.running -= 1;
        stream.held.delete(entry.id);
        this.pump();
        this.wakeLoop?.();
        if (this.closing && this.heldCount() === 0) this.drained?.();
      });
    }
  }

  private heldCount(): number {
    return this.streams.reduce((sum, stream) => sum + stream.held.size, 0);
  }

  /** Runs a request and publishes its outcome, acknowledging and deleting the entry in the same step. */
  private async answer(stream: StreamState, entry: HeldEntry): Promise<void> {
    const pattern = entry.fields[EntryField.Pattern];
    const id = entry.fields[EntryField.Id];
    const reply = entry.fields[EntryField.Reply];
    if (!pattern || !id || !reply) {
      this.log.warn(`${this.context}: dropped malformed request ${entry.id}`);
      await this.quietly('acknowledge', () => this.ack(stream, [entry.id]));
      return;
    }
    const result =
      Date.now() >= entry.deadline
        ? { err: timeoutError(pattern) }
        : await this.invoke(pattern, entry.fields[EntryField.Data]);
    const outcome = 'stream' in result ? await this.streamReply(pattern, id, reply, entry, result) : result;
    await this.quietly(`reply to ${pattern}`, () => this.reply(stream, entry.id, reply, { id, ...outcome }));
  }

  /**
   * Publishes each value of a streamed reply as it comes (in order: one connection carries them all),
   * until the stream ends, fails, passes its deadline, or the caller cancels it; resolves with the
   * outcome of the last message.
   */
  private streamReply(
    pattern: string,
    id: string,
    channel: string,
    entry: HeldEntry,
    { stream, meta }: { stream: Observable<unknown>; meta: Envelope['meta'] },
  ): Promise<Outcome | { response?: undefined }> {
    return new Promise((resolve) => {
      let done = false;
      // Set once subscribed; a stream that ends while subscribing finds it unset and is let go after.
      const held: { subscription?: Subscription } = {};
      const finish = (outcome: Outcome | { response?: undefined }) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        this.streaming.delete(id);
        held.subscription?.unsubscribe();
        resolve(outcome);
      };
      const deadline = setTimeout(() => finish({ err: timeoutError(pattern) }), entry.deadline - Date.now());
      this.streaming.set(id, () => finish({ err: unavailableError('the caller cancelled the call') }));
      held.subscription = RequestContext.run(meta, () =>
        stream.subscribe({
          next: (response) => {
            const message = this.encode({ id, response, more: true, by: this.consumer });
            void this.quietly(`stream ${pattern}`, () => this.commands.publish(channel, message));
          },
          error: (error: unknown) => finish({ err: serializeError(error) as SerializedError }),
          complete: () => finish({}),
        }),
      );
      if (done) held.subscription.unsubscribe();
    });
  }

  private async invoke(pattern: string, data: string | undefined): Promise<Result> {
    const envelope = parseEnvelope(data);
    if (!envelope) return { err: invalidMessageError() };
    const handler = this.getHandlerByPattern(pattern);
    if (!handler || handler.isEventHandler) {
      return { err: unavailableError(`no handler for ${pattern} in ${this.context}`) };
    }
    this.handled.set(pattern, (this.handled.get(pattern) ?? 0) + 1);
    try {
      const result = await RequestContext.run(envelope.meta, () =>
        handler(envelope.payload, new TransportContext(pattern, envelope.meta)),
      );
      if (isObservable(result)) return { stream: result, meta: envelope.meta };
      return {
        response: await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined }),
      };
    } catch (error) {
      if (!(error instanceof AppError) && !AppError.isSerialized(error)) {
        this.log.error(`${pattern} failed: ${messageOf(error)}`, (error as Error)?.stack);
      }
      return { err: serializeError(error) as SerializedError };
    }
  }

  private run(handler: MessageHandler, pattern: string, { meta, payload }: Envelope): Promise<unknown> {
    return RequestContext.run(meta, async () =>
      lastValueFrom(this.transformToObservable(await handler(payload, new TransportContext(pattern, meta))), {
        defaultValue: undefined,
      }),
    );
  }

  private async reply(stream: StreamState, entryId: string, channel: string, message: ReplyMessage) {
    await this.commands
      .multi()
      .publish(channel, this.encode(message))
      .xack(stream.key, this.context, entryId)
      .xdel(stream.key, entryId)
      .exec();
  }

  private encode(message: ReplyMessage): string {
    try {
      return JSON.stringify(message);
    } catch (error) {
      this.log.error(`${this.context}: reply ${message.id} cannot be serialised: ${messageOf(error)}`);
      return JSON.stringify({ id: message.id, err: INTERNAL_ERROR });
    }
  }

  /** Events are acknowledged whether or not their handler succeeds: a failing event is logged, not retried. */
  private async deliver(stream: StreamState, entry: HeldEntry): Promise<void> {
    const pattern = entry.fields[EntryField.Pattern] ?? '';
    const envelope = parseEnvelope(entry.fields[EntryField.Data]);
    const handler = this.getHandlerByPattern(pattern);
    if (!envelope) this.log.warn(`${this.context}: dropped event ${pattern} without meta and payload`);
    else if (handler) {
      try {
        await this.run(handler, pattern, envelope);
      } catch (error) {
        this.log.error(`event ${pattern} failed in ${this.context}: ${messageOf(error)}`);
      }
    }
    await this.quietly('acknowledge', () => this.ack(stream, [entry.id]));
  }

  /** Handled requests are deleted; events stay, other groups may not have read them yet. */
  private async ack(stream: StreamState, ids: string[]): Promise<void> {
    const tx = this.commands.multi().xack(stream.key, this.context, ...ids);
    if (stream.kind === 'request') tx.xdel(stream.key, ...ids);
    await tx.exec();
  }

  /** Resets the idle time of everything in hand, so that peers see this replica is still at work. */
  private async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const pipeline = this.commands.pipeline();
      for (const stream of this.streams) {
        if (stream.held.size > 0) {
          pipeline.xclaim(stream.key, this.context, this.consumer, 0, ...stream.held.keys(), 'JUSTID');
        }
      }
      if (pipeline.length > 0) await pipeline.exec();
    } finally {
      this.refreshing = false;
    }
  }

  /** Takes over entries left idle by dead replicas, as far as free slots allow. */
  private async claim(): Promise<void> {
    if (this.claiming || this.closing) return;
    this.claiming = true;
    try {
      for (const stream of this.streams) {
        const free = this.concurrency - this.heldCount();
        if (free <= 0) break;
        const [cursor, claimed] = (await this.commands.xautoclaim(
          stream.key,
          this.context,
          this.consumer,
          this.claimIdleMs,
          stream.cursor,
          'COUNT',
          free,
        )) as ClaimReply;
        stream.cursor = cursor;
        const entries = claimed.filter(
          (entry): entry is [string, string[]] => entry[1] !== null && !stream.held.has(entry[0]),
        );
        if (entries.length === 0) continue;
        const deliveries = await this.deliveries(stream, entries);
        const poisoned = entries.filter(([id]) => (deliveries.get(id) ?? 0) > MAX_DELIVERIES);
        await Promise.all(poisoned.map((entry) => this.giveUp(stream, entry)));
        this.accept(
          stream,
          entries.filter((entry) => !poisoned.includes(entry)),
        );
      }
      if (Date.now() - this.lastPrune >= PRUNE_EVERY_HEARTBEATS * this.heartbeatMs) {
        this.lastPrune = Date.now();
        await this.prune();
      }
    } finally {
      this.claiming = false;
    }
  }

  private async deliveries(stream: StreamState, entries: [string, string[]][]): Promise<Map<string, number>> {
    const rows = (await this.commands.xpending(
      stream.key,
      this.context,
      entries[0][0],
      entries[entries.length - 1][0],
      entries.length + stream.held.size,
      this.consumer,
    )) as PendingRow[];
    return new Map(rows.map(([id, , , count]) => [id, Number(count)]));
  }

  private async giveUp(stream: StreamState, [entryId, flat]: [string, string[]]): Promise<void> {
    const fields = fieldMap(flat);
    const pattern = fields[EntryField.Pattern];
    this.log.error(`${this.context}: gave up on ${pattern} (${entryId}) after ${MAX_DELIVERIES} deliveries`);
    const id = fields[EntryField.Id];
    const reply = fields[EntryField.Reply];
    if (stream.kind === 'request' && id && reply) {
      await this.reply(stream, entryId, reply, { id, err: INTERNAL_ERROR });
    } else {
      await this.ack(stream, [entryId]);
    }
  }

  /** Removes the group consumers of replicas that are gone and hold nothing, so groups do not accumulate them. */
  private async prune(): Promise<void> {
    const live = new Set(
      await this.commands.zrangebyscore(this.keys.replicas(this.context), Date.now(), '+inf'),
    );
    for (const stream of this.streams) {
      const consumers = (await this.commands.xinfo('CONSUMERS', stream.key, this.context)) as unknown[][];
      for (const info of consumers.map(fieldMap)) {
        if (live.has(info.name) || Number(info.pending) > 0 || Number(info.idle) < this.claimIdleMs) continue;
        await this.commands.xgroup('DELCONSUMER', stream.key, this.context, info.name);
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.stopping.abort();
    this.wakeLoop?.();
    await this.stopReading();
    await this.drain();
    for (const timer of this.timers) clearInterval(timer);
    // Leaving is best effort: with Redis away the heartbeat simply expires.
    if (this.commands.status === 'ready') await this.quietly('leave', () => this.leave());
    await Promise.all([quit(this.reader), quit(this.commands), quit(this.cancels)]);
  }

  private async stopReading(): Promise<void> {
    if (!this.loop) return;
    if (this.readerId !== undefined && this.commands.status === 'ready') {
      await this.commands.client('UNBLOCK', this.readerId).catch(() => undefined);
    }
    const stopped = await Promise.race([this.loop.then(() => true), delay(UNBLOCK_GRACE_MS, false)]);
    if (!stopped) {
      // Entries delivered to the cut read stay pending under this consumer and are claimed by a peer.
      this.reader.disconnect();
      await this.loop;
    }
  }

  /** Waits for the work in hand, but not beyond the last deadline among it. */
  private drain(): Promise<void> {
    const held = this.streams.flatMap((stream) => [...stream.held.values()]);
    if (held.length === 0) return Promise.resolve();
    const until = Math.max(...held.map((entry) => entry.deadline));
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, until - Date.now()));
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Leaves the live set, and the groups where nothing is still pending under this consumer. */
  private async leave(): Promise<void> {
    const pending = await Promise.all(
      this.streams.map((stream) =>
        this.commands.xpending(stream.key, this.context, '-', '+', 1, this.consumer),
      ),
    );
    const tx = this.commands.multi().zrem(this.keys.replicas(this.context), this.consumer);
    this.streams.forEach((stream, i) => {
      if (pending[i].length === 0) tx.xgroup('DELCONSUMER', stream.key, this.context, this.consumer);
    });
    await tx.exec();
  }

  /** Housekeeping must never take the process down; failures while Redis is away are expected and quiet. */
  private async quietly(task: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (this.commands.status === 'ready')
        this.log.warn(`${this.context}: ${task} failed: ${messageOf(error)}`);
    }
  }
}
