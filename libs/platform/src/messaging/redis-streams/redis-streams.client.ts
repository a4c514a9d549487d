import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { AppError, isIdempotent, type SerializedError } from '#contracts';
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
  replicaDiedError,
  type ReplyMessage,
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
 * while its heartbeat holds and one of its Redis connections is open: a killed process's sockets close
 * at once, so Redis knows of the death before any heartbeat expires. While calls are in flight, the
 * caller looks every WATCH_MS at who holds each (the stream's pending list) and whether that replica is
 * still live; a call whose holder died is sent again to the context when it is idempotent (the table in
 * contracts) and another replica is live, and fails at once otherwise, so its stage can fall back.
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

/** How long a read of who is live is trusted before it is read again. */
const PRESENCE_TTL_MS = 200;
/** How often calls in flight are checked against the live replicas. */
const WATCH_MS = 200;
/** A call is sent again at most this many times (a replica dying under it each time). */
const MAX_RESENDS = 3;
/** Commands that take longer than this count as Redis being unreachable. */
const COMMAND_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;

interface Pending {
  callback: (packet: WritePacket) => void;
  timer: NodeJS.Timeout;
  pattern: string;
  context: string;
  envelope: Envelope;
  /** When the current request entry was sent. */
  sentAt: number;
  /** The current request entry, once it is in the stream. */
  entryId?: string;
  /** The replica streaming the reply, once its first value came. */
  by?: string;
  resends: number;
}

/** Who is live, as read at `at`: consumer names with an open connection (undefined: not known). */
interface Presence {
  at: number;
  connected: Promise<Set<string> | undefined>;
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
  private readonly idempotent: (pattern: string) => boolean;
  private readonly pending = new Map<string, Pending>();
  private readonly members = new Map<string, { at: number; names: Promise<string[]> }>();
  private presence?: Presence;
  /** False once Redis refused CLIENT LIST (an ACL, a managed Redis): heartbeats alone then say who is live. */
  private connectionsVisible = true;
  private watcher?: NodeJS.Timeout;
  private watching = false;
  private connections?: Connections;
  private connecting?: Promise<void>;

  constructor(options: RedisStreamsClientOptions) {
    super();
    this.url = options.url;
    this.keys = redisStreamsKeys(options.prefix);
    this.callerId = options.callerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.idempotent = options.idempotent ?? isIdempotent;
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
    clearInterval(this.watcher);
    this.watcher = undefined;
    this.members.clear();
    this.presence = undefined;
    for (const id of [...this.pending.keys()])
      this.settle(id, { err: unavailableError('the client was closed') });
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
      return await this.live(this.ready().commands, context, true);
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
    const timer = setTimeout(() => this.settle(id, { err: timeoutError(pattern) }), wait);
    this.pending.set(id, { callback, timer, pattern, context, envelope, sentAt: Date.now(), resends: 0 });
    this.dispatch(id);
    return () => this.abandon(id);
  }

  private dispatch(id: string): void {
    this.enqueue(id).catch((error: unknown) => this.settle(id, { err: this.unreachable(error).toJSON() }));
  }

  /**
   * The caller stopped listening (a client that went away, say). A reply being streamed is cancelled at
   * the replica producing it, so it stops working (and stops paying a model) for nobody.
   */
  private abandon(id: string): void {
    const pending = this.pending.get(id);
    this.forget(id);
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
    subscriber.on('message', (_channel: string, message: string) => this.onReply(message));
    this.connections = { commands, subscriber };
    this.watcher = setInterval(() => void this.watch(), WATCH_MS);
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
    const call = this.pending.get(id);
    if (!call) return;
    const { commands } = this.ready();
    if ((await this.live(commands, call.context)).length === 0) {
      throw AppError.fromSerialized(noReplicaError(call.context));
    }
    // The caller may have given up while presence was read.
    if (this.pending.get(id) !== call) return;
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
    if (this.pending.get(id) === call) call.entryId = entryId ?? undefined;
    // Settled while the entry was written: nobody waits for it any more.
    else if (entryId) await this.drop(commands, call.context, [entryId]);
  }

  /** Live replicas of a context: heartbeat members with an open connection to Redis. */
  private async live(commands: Redis, context: string, fresh = false): Promise<string[]> {
    const now = Date.now();
    let members = this.members.get(context);
    if (fresh || !members || now - members.at >= PRESENCE_TTL_MS) {
      const entry = { at: now, names: commands.zrangebyscore(this.keys.replicas(context), now, '+inf') };
      entry.names.catch(() => {
        if (this.members.get(context) === entry) this.members.delete(context);
      });
      this.members.set(context, entry);
      members = entry;
    }
    const [names, connected] = await Promise.all([members.names, this.connected(commands, now, fresh)]);
    return connected ? names.filter((name) => connected.has(name)) : names;
  }

  /**
   * Consumer names with a connection open to Redis, from CLIENT LIST: a replica names its connections
   * `<consumer>:<role>`. Undefined when Redis does not let this caller list clients.
   */
  private connected(commands: Redis, now: number, fresh: boolean): Promise<Set<string> | undefined> {
    if (!this.connectionsVisible) return Promise.resolve(undefined);
    if (!fresh && this.presence && now - this.presence.at < PRESENCE_TTL_MS) return this.presence.connected;
    const entry: Presence = {
      at: now,
      connected: (commands.client('LIST') as Promise<string>).then(
        (list) => {
          const names = new Set<string>();
          for (const match of list.matchAll(/ name=(\S+):[^:\s]+ /g)) names.add(match[1]);
          return names;
        },
        (error: unknown) => {
          if (this.presence === entry) this.presence = undefined;
          if (/NOPERM|unknown command|ERR/i.test(messageOf(error))) {
            this.connectionsVisible = false;
            this.log.warn(
              `Redis refuses CLIENT LIST (${messageOf(error)}): a dead replica is known only when its heartbeat expires`,
            );
            return undefined;
          }
          throw error;
        },
      ),
    };
    this.presence = entry;
    return entry.connected;
  }

  /**
   * Every WATCH_MS while calls are in flight: each call not answered after a moment is checked against
   * the live replicas of its context, and failed over when the replica holding it is gone, or when no
   * replica of its context is left at all (then nobody would ever read it).
   */
  private async watch(): Promise<void> {
    if (this.watching || this.pending.size === 0) return;
    const commands = this.connections?.commands;
    if (commands?.status !== 'ready') return;
    this.watching = true;
    try {
      const settleBefore = Date.now() - WATCH_MS / 2;
      const byContext = new Map<string, [string, Pending][]>();
      for (const [id, call] of this.pending) {
        if (call.entryId === undefined || call.sentAt > settleBefore) continue;
        byContext.set(call.context, [...(byContext.get(call.context) ?? []), [id, call]]);
      }
      for (const [context, calls] of byContext) {
        const live = new Set(await this.live(commands, context));
        const unknown = live.size === 0 ? [] : calls.filter(([, call]) => call.by === undefined);
        const holders = await this.holders(
          commands,
          context,
          unknown.map(([, call]) => call.entryId!),
        );
        for (const [id, call] of calls) {
          const holder = call.by ?? holders.get(call.entryId!);
          if (live.size === 0 || (holder !== undefined && !live.has(holder))) {
            await this.failOver(commands, id, call, live.size, holder);
          }
        }
      }
    } catch {
      // Redis unreachable: the calls fail by their deadline, or when the connection is back.
    } finally {
      this.watching = false;
    }
  }

  /** Which consumer holds each entry (absent: not read yet, or already answered). */
  private async holders(commands: Redis, context: string, entryIds: string[]): Promise<Map<string, string>> {
    if (entryIds.length === 0) return new Map();
    const key = this.keys.requests(context);
    const pipeline = commands.pipeline();
    for (const entryId of entryIds) pipeline.xpending(key, context, entryId, entryId, 1);
    const results = (await pipeline.exec()) ?? [];
    const holders = new Map<string, string>();
    for (const [error, rows] of results) {
      const row = !error && Array.isArray(rows) ? (rows[0] as [string, string] | undefined) : undefined;
      if (row) holders.set(row[0], row[1]);
    }
    return holders;
  }

  /**
   * The call's replica is gone. Its entry is removed first, so that no peer claims and runs it later.
   * Then an idempotent call that has not streamed anything yet is sent again; any other call fails now.
   */
  private async failOver(
    commands: Redis,
    id: string,
    call: Pending,
    liveCount: number,
    holder: string | undefined,
  ): Promise<void> {
    if (this.pending.get(id) !== call) return;
    const entryId = call.entryId!;
    call.entryId = undefined;
    await this.drop(commands, call.context, [entryId]).catch(() => undefined);
    if (this.pending.get(id) !== call) return;
    if (liveCount === 0) {
      this.settle(id, { err: noReplicaError(call.context) });
      return;
    }
    const who = holder ?? 'a replica';
    if (this.idempotent(call.pattern) && call.by === undefined && call.resends < MAX_RESENDS) {
      call.resends += 1;
      this.log.warn(`${who} of ${call.context} died holding ${call.pattern}; sending it to another replica`);
      this.dispatch(id);
      return;
    }
    this.log.warn(`${who} of ${call.context} died holding ${call.pattern}; failing the call`);
    this.settle(id, { err: replicaDiedError(call.pattern) });
  }

  private async drop(commands: Redis, context: string, entryIds: string[]): Promise<void> {
    const key = this.keys.requests(context);
    await commands
      .multi()
      .xack(key, context, ...entryIds)
      .xdel(key, ...entryIds)
      .exec();
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
