import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { RawEntry, StreamState } from './redis-streams.held.js';
import { logOutages, messageOf } from './redis-streams.wire.js';

/**
 * The consumer-group read loop of a replica: one blocking XREADGROUP at a time over all its streams, on a
 * connection of its own, never taking more entries than the replica has free slots. It recreates a
 * group deleted under it, backs off while Redis is away, and stops at once on close (CLIENT UNBLOCK).
 */
export interface GroupReaderOptions {
  url: string;
  context: string;
  consumer: string;
  /** The connection for everything but the blocking read (groups, CLIENT UNBLOCK). */
  commands: Redis;
  log: Logger;
  streams: () => readonly StreamState[];
  /** Free slots: the loop waits for `wake()` while there are none. */
  free: () => number;
  accept: (stream: StreamState, entries: RawEntry[]) => void;
}

/** Blocking reads return this often even when idle, so a silently dead socket is noticed. */
const BLOCK_MS = 5_000;
const READER_SOCKET_TIMEOUT_MS = BLOCK_MS + 2_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/** After CLIENT UNBLOCK, how long a closing server waits for the read loop before cutting its socket. */
const UNBLOCK_GRACE_MS = 200;

type ReadReply = [key: string, entries: RawEntry[]][] | null;

export class GroupReader {
  /** The blocking XREADGROUP owns this connection. */
  readonly connection: Redis;
  private readonly stopping = new AbortController();
  private stopped = false;
  private loop?: Promise<void>;
  private readerId?: number;
  private wakeLoop?: () => void;

  constructor(private readonly options: GroupReaderOptions) {
    // A read waits for Redis to come back rather than failing: the loop is the only one waiting on it.
    this.connection = new Redis(options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      socketTimeout: READER_SOCKET_TIMEOUT_MS,
      connectionName: `${options.consumer}:reader`,
    });
    this.connection.on('close', () => {
      this.readerId = undefined;
    });
    logOutages(this.connection, options.log, `${options.context} reader`);
  }

  /** Requests read from the start (a caller may have queued some already); events from now on. */
  async ensureGroups(): Promise<void> {
    const { commands, context } = this.options;
    await Promise.all(
      this.options.streams().map(async (stream) => {
        try {
          await commands.xgroup(
            'CREATE',
            stream.key,
            context,
            stream.kind === 'request' ? '0' : '$',
            'MKSTREAM',
          );
        } catch (error) {
          if (!messageOf(error).startsWith('BUSYGROUP')) throw error;
        }
      }),
    );
  }

  start(): void {
    this.loop = this.readLoop();
  }

  /** Slots were freed: a loop waiting for room reads again. */
  wake(): void {
    this.wakeLoop?.();
  }

  /** Ends the loop: unblocks its read, and cuts the socket if the read does not return in time. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.wakeLoop?.();
    if (!this.loop) return;
    const { commands } = this.options;
    if (this.readerId !== undefined && commands.status === 'ready') {
      await commands.client('UNBLOCK', this.readerId).catch(() => undefined);
    }
    const stopped = await Promise.race([this.loop.then(() => true), delay(UNBLOCK_GRACE_MS, false)]);
    if (!stopped) {
      // Entries delivered to the cut read stay pending under this consumer and are claimed by a peer.
      this.connection.disconnect();
      await this.loop;
    }
  }

  private async readLoop(): Promise<void> {
    const { context, log } = this.options;
    let failures = 0;
    while (!this.stopped) {
      if (this.options.free() <= 0) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        continue;
      }
      try {
        const batch = await this.read();
        failures = 0;
        for (const [key, entries] of batch ?? []) {
          const stream = this.options.streams().find((s) => s.key === key);
          if (stream) this.options.accept(stream, entries);
        }
      } catch (error) {
        if (this.stopped) break;
        if (this.connection.status === 'end') {
          log.error(`${context}: reader connection closed for good; no longer consuming`);
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
        if (failures === 1) log.warn(`${context}: read failed (${messageOf(error)}); retrying`);
        await delay(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1)), undefined, {
          signal: this.stopping.signal,
        }).catch(() => undefined);
      }
    }
  }

  private async read(): Promise<ReadReply> {
    this.readerId ??= Number(await this.connection.client('ID'));
    const streams = this.options.streams();
    // COUNT is per stream: split the free slots so one read never takes more than this replica can start.
    const count = Math.ceil(this.options.free() / streams.length);
    const keys = streams.map((stream) => stream.key);
    return (await this.connection.xreadgroup(
      'GROUP',
      this.options.context,
      this.options.consumer,
      'COUNT',
      count,
      'BLOCK',
      BLOCK_MS,
      'STREAMS',
      ...keys,
      ...keys.map(() => '>'),
    )) as ReadReply;
  }
}
