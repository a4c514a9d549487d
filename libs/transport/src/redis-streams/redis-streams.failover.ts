import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RedisStreamsKeys } from './redis-streams.keys.js';
import type { PendingCall, PendingCalls } from './redis-streams.pending-calls.js';
import type { ReplicaPresence } from './redis-streams.presence.js';
import { noReplicaError, replicaDiedError } from './redis-streams.wire.js';

/**
 * A caller's watch over its calls in flight. Every WATCH_MS each call not answered after a moment is
 * checked against the live replicas of its context (who holds it: the stream's pending list), and failed
 * over when the replica holding it is gone, or when no replica of its context is left at all (then nobody
 * would ever read it): sent again when it is idempotent and another replica is live, failed at once
 * otherwise, so its stage can fall back instead of waiting for the deadline.
 */
export interface CallFailoverOptions {
  keys: RedisStreamsKeys;
  log: Logger;
  calls: PendingCalls;
  presence: ReplicaPresence;
  /** Which calls may be sent again when the replica holding them dies. */
  idempotent: (pattern: string) => boolean;
  /** Sends a call's request entry again. */
  resend: (id: string) => void;
}

/** How often calls in flight are checked against the live replicas. */
export const WATCH_MS = 200;
/** A call is sent again at most this many times (a replica dying under it each time). */
const MAX_RESENDS = 3;

/** Removes request entries from their stream, so that no replica reads or claims them any more. */
export async function dropRequests(
  commands: Redis,
  keys: RedisStreamsKeys,
  context: string,
  entryIds: string[],
): Promise<void> {
  const key = keys.requests(context);
  await commands
    .multi()
    .xack(key, context, ...entryIds)
    .xdel(key, ...entryIds)
    .exec();
}

export class CallFailover {
  private watching = false;

  constructor(private readonly options: CallFailoverOptions) {}

  /** One round of the watch; `commands` is the caller's command connection, when it has one. */
  async watch(commands: Redis | undefined): Promise<void> {
    const { calls, presence } = this.options;
    if (this.watching || calls.size === 0) return;
    if (commands?.status !== 'ready') return;
    this.watching = true;
    try {
      const settleBefore = Date.now() - WATCH_MS / 2;
      const byContext = new Map<string, [string, PendingCall][]>();
      for (const [id, call] of calls.entries()) {
        if (call.entryId === undefined || call.sentAt > settleBefore) continue;
        byContext.set(call.context, [...(byContext.get(call.context) ?? []), [id, call]]);
      }
      for (const [context, inContext] of byContext) {
        const live = new Set(await presence.live(commands, context));
        const unknown = live.size === 0 ? [] : inContext.filter(([, call]) => call.by === undefined);
        const holders = await this.holders(
          commands,
          context,
          unknown.map(([, call]) => call.entryId!),
        );
        for (const [id, call] of inContext) {
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
    const key = this.options.keys.requests(context);
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
    call: PendingCall,
    liveCount: number,
    holder: string | undefined,
  ): Promise<void> {
    const { calls, keys, log } = this.options;
    if (calls.get(id) !== call) return;
    const entryId = call.entryId!;
    call.entryId = undefined;
    await dropRequests(commands, keys, call.context, [entryId]).catch(() => undefined);
    if (calls.get(id) !== call) return;
    if (liveCount === 0) {
      calls.settle(id, { err: noReplicaError(call.context) });
      return;
    }
    const who = holder ?? 'a replica';
    if (this.options.idempotent(call.pattern) && call.by === undefined && call.resends < MAX_RESENDS) {
      call.resends += 1;
      log.warn(`${who} of ${call.context} died holding ${call.pattern}; sending it to another replica`);
      this.options.resend(id);
      return;
    }
    log.warn(`${who} of ${call.context} died holding ${call.pattern}; failing the call`);
    calls.settle(id, { err: replicaDiedError(call.pattern) });
  }
}
