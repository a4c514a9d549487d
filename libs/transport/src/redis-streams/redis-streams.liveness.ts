import type { Redis } from 'ioredis';
import type { RedisStreamsKeys } from './redis-streams.keys.js';
import type { StreamState } from './redis-streams.held.js';
import { fieldMap } from './redis-streams.wire.js';

/**
 * A replica's liveness in Redis: its heartbeat in the context's live-replica set (which callers read to
 * know who can answer), the pruning of group consumers left by replicas that are gone, and leaving both
 * on a clean shutdown.
 */
export interface ReplicaLivenessOptions {
  commands: Redis;
  keys: RedisStreamsKeys;
  context: string;
  consumer: string;
  heartbeatMs: number;
  /** A consumer idle for less than this may still be a replica at work: it is not pruned. */
  claimIdleMs: number;
}

/** A replica is believed live for this many heartbeat periods after a beat. */
const HEARTBEAT_LIFETIMES = 3;
/**
 * How long past its heartbeat's expiry a replica is still believed live while one of its connections to
 * Redis is open: its event loop is held up (a long synchronous task on a loaded machine), not dead, since a
 * killed process's connections close at once. Its entry in the live set is kept that long.
 */
export const STALLED_REPLICA_MS = 30_000;
/** Consumers of dead replicas are removed from the groups every this many heartbeats. */
const PRUNE_EVERY_HEARTBEATS = 10;

export class ReplicaLiveness {
  private lastPrune = Date.now();

  constructor(private readonly options: ReplicaLivenessOptions) {}

  async heartbeat(): Promise<void> {
    const { commands, keys, context, consumer, heartbeatMs } = this.options;
    const now = Date.now();
    const key = keys.replicas(context);
    await commands
      .pipeline()
      .zadd(key, now + HEARTBEAT_LIFETIMES * heartbeatMs, consumer)
      .zremrangebyscore(key, '-inf', `(${now - STALLED_REPLICA_MS}`)
      .exec();
  }

  /** Prunes dead replicas' consumers when the last pruning is old enough. */
  async pruneWhenDue(streams: readonly StreamState[]): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_HEARTBEATS * this.options.heartbeatMs) return;
    this.lastPrune = Date.now();
    await this.prune(streams);
  }

  /** Leaves the live set, and the groups where nothing is still pending under this consumer. */
  async leave(streams: readonly StreamState[]): Promise<void> {
    const { commands, keys, context, consumer } = this.options;
    const pending = await Promise.all(
      streams.map((stream) => commands.xpending(stream.key, context, '-', '+', 1, consumer)),
    );
    const tx = commands.multi().zrem(keys.replicas(context), consumer);
    streams.forEach((stream, i) => {
      if (pending[i].length === 0) tx.xgroup('DELCONSUMER', stream.key, context, consumer);
    });
    await tx.exec();
  }

  /** Removes the group consumers of replicas that are gone and hold nothing, so groups do not accumulate them. */
  private async prune(streams: readonly StreamState[]): Promise<void> {
    const { commands, keys, context, claimIdleMs } = this.options;
    const live = new Set(await commands.zrangebyscore(keys.replicas(context), Date.now(), '+inf'));
    for (const stream of streams) {
      const consumers = (await commands.xinfo('CONSUMERS', stream.key, context)) as unknown[][];
      for (const info of consumers.map(fieldMap)) {
        if (live.has(info.name) || Number(info.pending) > 0 || Number(info.idle) < claimIdleMs) continue;
        await commands.xgroup('DELCONSUMER', stream.key, context, info.name);
      }
    }
  }
}
