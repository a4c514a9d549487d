import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { AppError, type SerializedError } from '#contracts';
import { type Envelope, isEnvelope } from '../envelope.js';
import { redisStreamsKeys, type RedisStreamsKeys } from './redis-streams.keys.js';
import {
  contextOfPattern,
  EVENT_STREAM_MAXLEN,
  EntryField,
  invalidMessageError,
  logOutages,
  messageOf,
  noReplicaError,
  quit,
  type ReplyMessage,
  REQUEST_STREAM_MAXLEN,
  timeoutError,
  unavailableError,
} from './redis-streams.wire.js';

/**
 * The Redis Streams transport, calling side. A request is appended to its context's stream and answered
 * on this caller's own Pub/Sub channel. The caller never waits past the envelope's deadline, and fails at
 * once when the context has no live replica or Redis cannot be reached.
 */
export interface RedisStreamsClientOptions {
  url: string;
  /** Names this caller's reply channel; a fresh one per client by default. */
  callerId?: string;
  /** Key prefix shared with the servers (default `ragnest`). */
  prefix?: string;
}

/** How long a context's live-replica count is trusted before it is read again. */
const REPLICA_COUNT_TTL_MS = 250;
/** Commands that take longer than this count as Redis being unreachable. */
const COMMAND_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;

interface Pending {
  callback: (packet: WritePacket) => void;
  timer: NodeJS.Timeout;
  /** The replica streaming the reply, once its first value came. */
  by?: string;
}

interface Connections {
  commands: Redis;
  subscriber: Redis;
}

export class RedisStreamsClient extends ClientProxy {
  readonly callerId: string;
  private readonly log = new Logger('RedisStreamsClient');
  private readonly url: string;
  private readonly keys: RedisStreamsKeys;
  private readonly replyChannel: string;
  private readonly pending = new Map<string, Pending>();
  private readonly replicaCounts = new Map<string, { until: number; count: Promise<number> }>();
  private connections?: Connections;
  private connecting?: Promise<void>;

  constructor(options: RedisStreamsClientOptions) {
    super();
    this.url = options.url;
    this.keys = redisStreamsKeys(options.prefix);
    this.callerId = options.callerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.replyChannel = this.keys.replyChannel(this.callerId);
  }

  /**
   * Opens the connections once; Nest calls this before every send. It resolves even when Redis is down
   * (calls then fail fast with TRANSPORT.UNAVAILABLE while ioredis reconnects in the background).
   */
  connect(): Promise<void> {
    this.connecting ??= this.open();
    return this.connecting;
  }

  /** Fails what is still waiting and disconnects; a later call connects again. */
  async close(): Promise<void> {
    const connections = this.connections;
    this.connections = undefined;
    this.connecting = undefined;
    this.replicaCounts.clear();
    for (const id of [...this.pending.keys()])
      this.settle(id, { err: unavailableError('the client was closed') });
    await Promise.all([quit(connections?.commands), quit(connections?.subscriber)]);
  }

  /** The command and the reply-subscriber connections. */
  unwrap<T>(): T {
    if (!this.connections) throw new Error('RedisStreamsClient is not connected');
    return [this.connections.commands, this.connections.subscriber] as T;
  }

  /** Consumer names of a context's replicas whose heartbeat has not expired. */
  async liveReplicas(context: string): Promise<string[]> {
    await this.connect();
    const { commands } = this.ready();
    try {
      return await commands.zrangebyscore(this.keys.replicas(context), Date.now(), '+inf');
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const pattern = this.normalizePattern(packet.pattern);
    const envelope = packet.data as unknown;
    if (!isEnvelope(envelope)) {
      callback({ err: invalidMessageError(), isDisposed: true });
      return () => undefined;
    }
    const wait = envelope.meta.deadline - Date.now();
    if (wait <= 0) {
      callback({ err: timeoutError(pattern), isDisposed: true });
      return () => undefined;
    }
    const id = randomUUID();
    const timer = setTimeout(() => this.settle(id, { err: timeoutError(pattern) }), wait);
    this.pending.set(id, { callback, timer });
    this.enqueue(id, pattern, envelope).catch((error: unknown) =>
      this.settle(id, { err: this.unreachable(error).toJSON() }),
    );
    return () => this.abandon(id);
  }

  /**
   * The caller stopped listening (a client that went away, say). A reply being streamed is cancelled at
   * the replica producing it, so it stops working (and stops paying a model) for nobody.
   */
  private abandon(id: string): void {
    const by = this.pending.get(id)?.by;
    this.forget(id);
    if (by !== undefined && this.connections?.commands.status === 'ready') {
      this.connections.commands.publish(this.keys.cancelChannel(by), id).catch(() => undefined);
    }
  }

  protected async dispatchEvent<T>(packet: ReadPacket): Promise<T> {
    const pattern = this.normalizePattern(packet.pattern);
    const envelope = packet.data as unknown;
    if (!isEnvelope(envelope)) throw AppError.fromSerialized(invalidMessageError());
    const { commands } = this.ready();
    try {
      await commands.xadd(
        this.keys.events,
        'MAXLEN',
        '~',
        EVENT_STREAM_MAXLEN,
        '*',
        EntryField.Pattern,
        pattern,
        EntryField.Deadline,
        String(envelope.meta.deadline),
        EntryField.Data,
        JSON.stringify(envelope),
      );
    } catch (error) {
      throw this.unreachable(error);
    }
    return undefined as T;
  }

  private async open(): Promise<void> {
    const commands = new Redis(this.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      connectionName: `${this.callerId}:commands`,
    });
    // The subscription waits for Redis however long it takes; ioredis renews it after every reconnect.
    const subscriber = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      connectTimeout: CONNECT_TIMEOUT_MS,
      connectionName: `${this.callerId}:replies`,
    });
    logOutages(commands, this.log, 'client commands');
    logOutages(subscriber, this.log, 'client replies');
    subscriber.on('message', (_channel: string, message: string) => this.onReply(message));
    this.connections = { commands, subscriber };
    const subscriberUp = subscriber.connect();
    const subscribed = subscriber.subscribe(this.replyChannel);
    subscribed.catch(() => undefined);
    try {
      await Promise.all([commands.connect(), subscriberUp]);
      await subscribed;
    } catch (error) {
      this.log.warn(`Redis is unreachable (${messageOf(error)}); calls fail until it is back`);
    }
  }

  private async enqueue(id: string, pattern: string, envelope: Envelope): Promise<void> {
    const context = contextOfPattern(pattern);
    if (!context) throw AppError.fromSerialized(invalidMessageError(`${pattern} names no context`));
    const { commands } = this.ready();
    if ((await this.replicaCount(commands, context)) === 0) {
      throw AppError.fromSerialized(noReplicaError(context));
    }
    // The caller may have given up while the count was read.
    if (!this.pending.has(id)) return;
    await commands.xadd(
      this.keys.requests(context),
      'MAXLEN',
      '~',
      REQUEST_STREAM_MAXLEN,
      '*',
      EntryField.Pattern,
      pattern,
      EntryField.Id,
      id,
      EntryField.Reply,
      this.replyChannel,
      EntryField.Deadline,
      String(envelope.meta.deadline),
      EntryField.Data,
      JSON.stringify(envelope),
    );
  }

  private replicaCount(commands: Redis, context: string): Promise<number> {
    const now = Date.now();
    const cached = this.replicaCounts.get(context);
    if (cached && cached.until > now) return cached.count;
    const count = commands.zcount(this.keys.replicas(context), now, '+inf');
    const entry = { until: now + REPLICA_COUNT_TTL_MS, count };
    this.replicaCounts.set(context, entry);
    count.catch(() => {
      if (this.replicaCounts.get(context) === entry) this.replicaCounts.delete(context);
    });
    return count;
  }

  private onReply(message: string): void {
    let reply: ReplyMessage | undefined;
    try {
      reply = JSON.parse(message) as ReplyMessage;
    } catch {
      reply = undefined;
    }
    if (typeof reply !== 'object' || reply === null || typeof reply.id !== 'string') {
      this.log.warn(`ignored a malformed reply on ${this.replyChannel}`);
      return;
    }
    if (reply.more) this.stream(reply);
    else if (reply.err !== undefined) this.settle(reply.id, { err: reply.err });
    else this.settle(reply.id, { response: reply.response });
  }

  /**
   * One value of a streamed reply. A stream is produced by one replica from start to end: values from
   * another (a peer that claimed the request after the first replica died, and started over) would
   * repeat what the caller already has, so the call fails instead.
   */
  private stream(reply: ReplyMessage): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    if (pending.by !== undefined && pending.by !== reply.by) {
      this.settle(reply.id, {
        err: unavailableError('the replica streaming this reply stopped before the end'),
      });
      return;
    }
    pending.by = reply.by;
    pending.callback({ response: reply.response, isDisposed: false });
  }

  private settle(id: string, packet: { err: SerializedError } | { response: unknown }): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.forget(id);
    pending.callback({ ...packet, isDisposed: true });
  }

  private forget(id: string): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(id);
  }

  /** Both connections up, or a TRANSPORT.UNAVAILABLE error at once: a call never waits for Redis. */
  private ready(): Connections {
    const connections = this.connections;
    if (connections?.commands.status !== 'ready' || connections.subscriber.status !== 'ready') {
      throw AppError.fromSerialized(unavailableError('Redis is unreachable'));
    }
    return connections;
  }

  /** Errors of this transport pass as they are; any other failure means Redis could not be reached. */
  private unreachable(error: unknown): AppError {
    if (error instanceof AppError) return error;
    if (AppError.isSerialized(error)) return AppError.fromSerialized(error);
    return AppError.fromSerialized(unavailableError(`Redis is unreachable: ${messageOf(error)}`));
  }
}
