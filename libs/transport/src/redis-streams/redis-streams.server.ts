import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import { AppError, type SerializedError } from '#contracts';
import { RequestContext, type Envelope, TransportContext, serializeError } from '#platform';
import { GroupReader } from './redis-streams.group-reader.js';
import {
  type HeldEntry,
  heldCount,
  type RawEntry,
  type StreamState,
  streamState,
} from './redis-streams.held.js';
import { redisStreamsKeys, type RedisStreamsKeys } from './redis-streams.keys.js';
import { ReplicaLiveness } from './redis-streams.liveness.js';
import { PendingReclaimer } from './redis-streams.reclaimer.js';
import { type Outcome, ReplyPublisher } from './redis-streams.replies.js';
import {
  EntryField,
  fieldMap,
  invalidMessageError,
  logOutages,
  messageOf,
  parseEnvelope,
  quit,
  timeoutError,
  unavailableError,
} from './redis-streams.wire.js';

/**
 * The Redis Streams transport, serving side. Every replica of a context is a consumer in the context's
 * group on `req:<context>`, so each request is handled by exactly one replica; events come from the shared
 * events stream through one group per subscribing context. Entries stay pending until answered, and a
 * replica that dies with work in hand has it claimed by its peers while the caller's deadline allows;
 * a live replica keeps its in-flight entries fresh so they are never taken from it.
 *
 * This class is the Nest transport strategy and runs the work in hand; the group read loop, the
 * reclaiming of pending entries, the liveness heartbeat and the reply publishing are its parts.
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
const COMMAND_SOCKET_TIMEOUT_MS = 10_000;

/** What a request handler gave: one outcome, or a stream of values (it returned an Observable). */
type Result = Outcome | { stream: Observable<unknown>; meta: Envelope['meta'] };

/** Events of the underlying ioredis connections (`error`, `ready`, `reconnecting`, …). */
type ConnectionEvents = Record<string, (...args: any[]) => void>;

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
  /** Everything but the blocking read goes through this connection. */
  private readonly commands: Redis;
  /** Subscribed to this replica's cancel channel: callers that gave up on a streamed reply. */
  private readonly cancels: Redis;
  private readonly reader: GroupReader;
  private readonly replies: ReplyPublisher;
  private readonly reclaimer: PendingReclaimer;
  private readonly liveness: ReplicaLiveness;
  private streams: StreamState[] = [];
  private readonly queue: { stream: StreamState; entry: HeldEntry }[] = [];
  private running = 0;
  private closing = false;
  private closed?: Promise<void>;
  private connectError?: Error;
  private timers: NodeJS.Timeout[] = [];
  private claiming = false;
  private drained?: () => void;

  constructor(options: RedisStreamsServerOptions) {
    super();
    this.context = options.context;
    this.keys = redisStreamsKeys(options.prefix);
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.claimIdleMs = options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.commands = new Redis(options.url, {
      lazyConnect: true,
      socketTimeout: COMMAND_SOCKET_TIMEOUT_MS,
      connectionName: `${this.consumer}:commands`,
    });
    this.cancels = new Redis(options.url, {
      lazyConnect: true,
      connectionName: `${this.consumer}:cancels`,
    });
    const { commands, context, consumer, log } = this;
    const quietly = this.quietly.bind(this);
    this.reader = new GroupReader({
      url: options.url,
      context,
      consumer,
      commands,
      log,
      streams: () => this.streams,
      free: () => this.free(),
      accept: (stream, entries) => this.accept(stream, entries),
    });
    this.replies = new ReplyPublisher({ commands, context, consumer, log, quietly });
    this.reclaimer = new PendingReclaimer({
      commands,
      context,
      consumer,
      claimIdleMs: this.claimIdleMs,
      log,
      replies: this.replies,
    });
    this.liveness = new ReplicaLiveness({
      commands,
      keys: this.keys,
      context,
      consumer,
      heartbeatMs: this.heartbeatMs,
      claimIdleMs: this.claimIdleMs,
    });
    this.cancels.on('message', (_channel: string, id: string) => this.replies.cancel(id));
    this.cancels.on('error', () => undefined);
    this.commands.on('error', (error: Error) => {
      this.connectError = error;
    });
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
    this.reader.connection.on(event, callback);
    this.commands.on(event, callback);
  }

  /** The reading, the command and the cancel-subscriber connections. */
  unwrap<T>(): T {
    return [this.reader.connection, this.commands, this.cancels] as T;
  }

  private async start(): Promise<void> {
    this.streams = [streamState(this.keys.requests(this.context), 'request')];
    if ([...this.messageHandlers.values()].some((handler) => handler.isEventHandler)) {
      this.streams.push(streamState(this.keys.events, 'event'));
    }
    try {
      await Promise.all([this.reader.connection.connect(), this.commands.connect(), this.cancels.connect()]);
      await this.cancels.subscribe(this.keys.cancelChannel(this.consumer));
    } catch (error) {
      // ioredis rejects with "Connection is closed"; the reason came with its error event.
      throw new Error(`${this.context}: cannot reach Redis (${messageOf(this.connectError ?? error)})`);
    }
    await this.reader.ensureGroups();
    await this.liveness.heartbeat();
    this.timers = [
      setInterval(() => void this.quietly('heartbeat', () => this.liveness.heartbeat()), this.heartbeatMs),
      setInterval(
        () => void this.quietly('refresh', () => this.reclaimer.refresh(this.streams)),
        this.claimIdleMs / 4,
      ),
      setInterval(() => void this.quietly('claim', () => this.claim()), this.claimIdleMs / 2),
    ];
    this.reader.start();
  }

  private free(): number {
    return this.concurrency - heldCount(this.streams);
  }

  private accept(stream: StreamState, entries: readonly RawEntry[]): void {
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
    if (ignored.length > 0) void this.quietly('acknowledge', () => this.replies.ack(stream, ignored));
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
        this.reader.wake();
        if (this.closing && heldCount(this.streams) === 0) this.drained?.();
      });
    }
  }

  /** Runs a request and publishes its outcome, acknowledging and deleting the entry in the same step. */
  private async answer(stream: StreamState, entry: HeldEntry): Promise<void> {
    const pattern = entry.fields[EntryField.Pattern];
    const id = entry.fields[EntryField.Id];
    const reply = entry.fields[EntryField.Reply];
    if (!pattern || !id || !reply) {
      this.log.warn(`${this.context}: dropped malformed request ${entry.id}`);
      await this.quietly('acknowledge', () => this.replies.ack(stream, [entry.id]));
      return;
    }
    const result =
      Date.now() >= entry.deadline
        ? { err: timeoutError(pattern) }
        : await this.invoke(pattern, entry.fields[EntryField.Data]);
    const outcome =
      'stream' in result ? await this.replies.stream(pattern, id, reply, entry, result) : result;
    await this.quietly(`reply to ${pattern}`, () =>
      this.replies.reply(stream, entry.id, reply, { id, ...outcome }),
    );
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
    await this.quietly('acknowledge', () => this.replies.ack(stream, [entry.id]));
  }

  /** One round of taking over dead replicas' work, then pruning their consumers when it is time. */
  private async claim(): Promise<void> {
    if (this.claiming || this.closing) return;
    this.claiming = true;
    try {
      await this.reclaimer.claim(
        this.streams,
        () => this.free(),
        (stream, entries) => this.accept(stream, entries),
      );
      await this.liveness.pruneWhenDue(this.streams);
    } finally {
      this.claiming = false;
    }
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    await this.reader.stop();
    await this.drain();
    for (const timer of this.timers) clearInterval(timer);
    // Leaving is best effort: with Redis away the heartbeat simply expires.
    if (this.commands.status === 'ready') {
      await this.quietly('leave', () => this.liveness.leave(this.streams));
    }
    await Promise.all([quit(this.reader.connection), quit(this.commands), quit(this.cancels)]);
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
