import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { AppError, isIdempotent } from '#contracts';
import { isEnvelope } from '#platform';
import { CallFailover, dropRequests, WATCH_MS } from './redis-streams.failover.js';
import { redisStreamsKeys, type RedisStreamsKeys } from './redis-streams.keys.js';
import { PendingCalls } from './redis-streams.pending-calls.js';
import { ReplicaPresence } from './redis-streams.presence.js';
import {
  contextOfPattern,
  EVENT_STREAM_MAXLEN,
  EntryField,
  invalidMessageError,
  logOutages,
  messageOf,
  noReplicaError,
  quit,
  REQUEST_STREAM_MAXLEN,
  timeoutError,
  unavailableError,
} from './redis-streams.wire.js';

/**
 * The Redis Streams transport, calling side. A request is appended to its context's stream and answered
 * on this caller's own Pub/Sub channel. The caller never waits past the envelope's deadline, and fails at
 * once when the context has no live replica or Redis cannot be reached.
 *
 * A replica that dies with a call in hand does not turn into a wait for the deadline. A replica is live
 * while its heartbeat holds and one of its Redis connections is open (redis-streams.presence.ts); while
 * calls are in flight, the caller watches who holds each and fails it over when that replica is gone
 * (redis-streams.failover.ts): sent again to the context when it is idempotent (the table in contracts)
 * and another replica is live, failed at once otherwise, so its stage can fall back.
 */
export interface RedisStreamsClientOptions {
  url: string;
  /** Names this caller's reply channel; a fresh one per client by default. */
  callerId?: string;
  /** Key prefix shared with the servers (default `ragnest`). */
  prefix?: string;
  /** Which calls may be sent again when the replica holding them dies (default: the contracts' table). */
  idempotent?: (pattern: string) => boolean;
}

/** Commands that take longer than this count as Redis being unreachable. */
const COMMAND_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;

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
  private readonly calls: PendingCalls;
  private readonly presence: ReplicaPresence;
  private readonly failover: CallFailover;
  private watcher?: NodeJS.Timeout;
  private connections?: Connections;
  private connecting?: Promise<void>;

  constructor(options: RedisStreamsClientOptions) {
    super();
    this.url = options.url;
    this.keys = redisStreamsKeys(options.prefix);
    this.callerId = options.callerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.replyChannel = this.keys.replyChannel(this.callerId);
    this.calls = new PendingCalls(this.log, this.replyChannel);
    this.presence = new ReplicaPresence(this.keys, this.log);
    this.failover = new CallFailover({
      keys: this.keys,
      log: this.log,
      calls: this.calls,
      presence: this.presence,
      idempotent: options.idempotent ?? isIdempotent,
      resend: (id) => this.dispatch(id),
    });
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
    clearInterval(this.watcher);
    this.watcher = undefined;
    this.presence.clear();
    this.calls.failAll('the client was closed');
    await Promise.all([quit(connections?.commands), quit(connections?.subscriber)]);
  }

  /** The command and the reply-subscriber connections. */
  unwrap<T>(): T {
    if (!this.connections) throw new Error('RedisStreamsClient is not connected');
    return [this.connections.commands, this.connections.subscriber] as T;
  }

  /** Consumer names of a context's live replicas: heartbeat not expired, and a connection to Redis open. */
  async liveReplicas(context: string): Promise<string[]> {
    await this.connect();
    try {
      return await this.presence.live(this.ready().commands, context, true);
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
    const context = contextOfPattern(pattern);
    if (!context) {
      callback({ err: invalidMessageError(`${pattern} names no context`), isDisposed: true });
      return () => undefined;
    }
    const timer = setTimeout(() => this.calls.settle(id, { err: timeoutError(pattern) }), wait);
    this.calls.add(id, { callback, timer, pattern, context, envelope, sentAt: Date.now(), resends: 0 });
    this.dispatch(id);
    return () => this.abandon(id);
  }

  private dispatch(id: string): void {
    this.enqueue(id).catch((error: unknown) =>
      this.calls.settle(id, { err: this.unreachable(error).toJSON() }),
    );
  }

  /**
   * The caller stopped listening (a client that went away, say). A reply being streamed is cancelled at
   * the replica producing it, so it stops working (and stops paying a model) for nobody.
   */
  private abandon(id: string): void {
    const pending = this.calls.get(id);
    this.calls.forget(id);
    if (pending?.by !== undefined && this.connections?.commands.status === 'ready') {
      this.connections.commands.publish(this.keys.cancelChannel(pending.by), id).catch(() => undefined);
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
    subscriber.on('message', (_channel: string, message: string) => this.calls.receive(message));
    this.connections = { commands, subscriber };
    this.watcher = setInterval(() => void this.failover.watch(this.connections?.commands), WATCH_MS);
    this.watcher.unref();
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

  private async enqueue(id: string): Promise<void> {
    const call = this.calls.get(id);
    if (!call) return;
    const { commands } = this.ready();
    if ((await this.presence.live(commands, call.context)).length === 0) {
      throw AppError.fromSerialized(noReplicaError(call.context));
    }
    // The caller may have given up while presence was read.
    if (this.calls.get(id) !== call) return;
    call.sentAt = Date.now();
    const entryId = await commands.xadd(
      this.keys.requests(call.context),
      'MAXLEN',
      '~',
      REQUEST_STREAM_MAXLEN,
      '*',
      EntryField.Pattern,
      call.pattern,
      EntryField.Id,
      id,
      EntryField.Reply,
      this.replyChannel,
      EntryField.Deadline,
      String(call.envelope.meta.deadline),
      EntryField.Data,
      JSON.stringify(call.envelope),
    );
    if (this.calls.get(id) === call) call.entryId = entryId ?? undefined;
    // Settled while the entry was written: nobody waits for it any more.
    else if (entryId) await dropRequests(commands, this.keys, call.context, [entryId]);
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
