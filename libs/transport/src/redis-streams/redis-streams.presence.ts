import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RedisStreamsKeys } from './redis-streams.keys.js';
import { STALLED_REPLICA_MS } from './redis-streams.liveness.js';
import { messageOf } from './redis-streams.wire.js';

/**
 * Who is live, as a caller sees it: a replica which has a connection to Redis open and whose heartbeat
 * has not expired, or expired less than STALLED_REPLICA_MS ago (a replica whose event loop a long task
 * holds up misses its beats, and its calls wait for it rather than fail). A killed process's sockets close
 * at once, so CLIENT LIST knows of a death before any heartbeat expires; where Redis refuses CLIENT LIST,
 * heartbeats alone decide, and an expired one counts as dead. Reads are shared for a short while so that
 * many calls at once cost one round trip.
 */

/** How long a read of who is live is trusted before it is read again. */
const PRESENCE_TTL_MS = 200;

/** Who is live, as read at `at`: consumer names with an open connection (undefined: not known). */
interface Connected {
  at: number;
  names: Promise<Set<string> | undefined>;
}

export class ReplicaPresence {
  /** Each context's live-set members as read at `at`, with the time each heartbeat expires. */
  private readonly members = new Map<string, { at: number; expiries: Promise<Map<string, number>> }>();
  private connectedRead?: Connected;
  /** False once Redis refused CLIENT LIST (an ACL, a managed Redis): heartbeats alone then say who is live. */
  private connectionsVisible = true;

  constructor(
    private readonly keys: RedisStreamsKeys,
    private readonly log: Logger,
  ) {}

  /** Forgets what was read (the client closed). */
  clear(): void {
    this.members.clear();
    this.connectedRead = undefined;
  }

  /** Live replicas of a context: heartbeat members with an open connection to Redis. */
  async live(commands: Redis, context: string, fresh = false): Promise<string[]> {
    const now = Date.now();
    let members = this.members.get(context);
    if (fresh || !members || now - members.at >= PRESENCE_TTL_MS) {
      const entry = {
        at: now,
        expiries: commands
          .zrangebyscore(this.keys.replicas(context), now - STALLED_REPLICA_MS, '+inf', 'WITHSCORES')
          .then(expiriesOf),
      };
      entry.expiries.catch(() => {
        if (this.members.get(context) === entry) this.members.delete(context);
      });
      this.members.set(context, entry);
      members = entry;
    }
    const [expiries, connected] = await Promise.all([members.expiries, this.connected(commands, now, fresh)]);
    const names = [...expiries.keys()];
    if (connected) return names.filter((name) => connected.has(name));
    const at = Date.now();
    return names.filter((name) => expiries.get(name)! >= at);
  }

  /**
   * Consumer names with a connection open to Redis, from CLIENT LIST: a replica names its connections
   * `<consumer>:<role>`. Undefined when Redis does not let this caller list clients.
   */
  private connected(commands: Redis, now: number, fresh: boolean): Promise<Set<string> | undefined> {
    if (!this.connectionsVisible) return Promise.resolve(undefined);
    if (!fresh && this.connectedRead && now - this.connectedRead.at < PRESENCE_TTL_MS) {
      return this.connectedRead.names;
    }
    const entry: Connected = {
      at: now,
      names: (commands.client('LIST') as Promise<string>).then(
        (list) => {
          const names = new Set<string>();
          for (const match of list.matchAll(/ name=(\S+):[^:\s]+ /g)) names.add(match[1]);
          return names;
        },
        (error: unknown) => {
          if (this.connectedRead === entry) this.connectedRead = undefined;
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
    this.connectedRead = entry;
    return entry.names;
  }
}

/** A ZRANGEBYSCORE WITHSCORES reply (name, score, name, score…) as a map of name to score. */
function expiriesOf(flat: string[]): Map<string, number> {
  const expiries = new Map<string, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) expiries.set(flat[i], Number(flat[i + 1]));
  return expiries;
}
