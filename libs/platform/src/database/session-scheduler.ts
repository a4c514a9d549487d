import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { RequestContext } from '../context/request-context.js';

const background = new AsyncLocalStorage<true>();
const inBurst = new AsyncLocalStorage<true>();

/**
 * Work that no one waits for as it runs (indexing a queued batch, index maintenance): on the embedded
 * database, whose one session everything shares, a request's statements go before it (SessionScheduler).
 */
export const BackgroundWork = {
  run<T>(fn: () => T): T {
    return background.run(true, fn);
  },
};

/** Whether the statement about to be sent is a request's (or a burst's), so that it goes first. */
function interactive(): boolean {
  return (
    (RequestContext.current() !== undefined || inBurst.getStore() !== undefined) &&
    background.getStore() === undefined
  );
}

/**
 * How long the session is held back from background work after a request's statement: a request sends
 * its statements one after another with a little JavaScript between them, and without this pause each
 * of them would wait for a whole indexing transaction that slipped in between.
 */
export const REQUEST_FOLLOW_UP_MS = 5;
/** Background work waiting longer than this goes before requests' statements, so that a steady stream
 * of searches cannot stop indexing. */
export const BACKGROUND_MAX_WAIT_MS = 1_000;

/** How many request bursts (RequestBurst) are running, and the schedulers waiting for the last to end. */
let openBursts = 0;
const waitingForBursts = new Set<() => void>();

/**
 * Work a request waits for that sends several statements with more JavaScript between them than the
 * follow-up window covers: a search's legs and its fetch, with the query embedded and the legs fused in
 * between. On the embedded database no background work is handed the session while a burst runs (unless
 * it has waited BACKGROUND_MAX_WAIT_MS), so a search waits for an indexing transaction at most once, not
 * once per statement. Its statements go as a request's, whoever runs it (a search from the CLI or the
 * warm-up has no request): held back with the background work, they would wait for the burst itself.
 * Elsewhere it only counts.
 */
export const RequestBurst = {
  async run<T>(fn: () => Promise<T>): Promise<T> {
    openBursts++;
    try {
      return await inBurst.run(true, fn);
    } finally {
      if (--openBursts === 0) {
        const waiting = [...waitingForBursts];
        waitingForBursts.clear();
        for (const next of waiting) next();
      }
    }
  },
};

/**
 * The order in which the embedded database's one session is handed out: to requests' statements first,
 * then to background work once no request burst runs and REQUEST_FOLLOW_UP_MS have passed since the last
 * request's statement; background work that has waited BACKGROUND_MAX_WAIT_MS goes first of all.
 * Statements of the same kind keep their order.
 * One holder at a time: it stands in front of a pool of one client.
 */
export class SessionScheduler {
  private held = false;
  private readonly requests: (() => void)[] = [];
  private readonly others: { resolve: () => void; since: number }[] = [];
  private followUpUntil = 0;
  private timer?: NodeJS.Timeout;

  acquire(request: boolean): Promise<void> {
    if (!this.held && (request || this.backgroundMayGo())) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      if (request) {
        this.requests.push(resolve);
        return;
      }
      this.others.push({ resolve, since: performance.now() });
      // Free but held back (a follow-up window, a burst): wait for the moment it may go.
      if (!this.held) this.next();
    });
  }

  release(request: boolean): void {
    this.held = false;
    if (request) this.followUpUntil = performance.now() + REQUEST_FOLLOW_UP_MS;
    this.next();
  }

  /** Hands the free session to whoever goes next, or waits for the moment background work may go. */
  private readonly next = (): void => {
    if (this.held) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const oldest = this.others[0];
    const now = performance.now();
    const overdue = oldest !== undefined && now - oldest.since >= BACKGROUND_MAX_WAIT_MS;
    if (!overdue && this.requests.length > 0) return this.hand(this.requests.shift()!);
    if (!oldest) return;
    if (overdue || this.backgroundMayGo()) return this.hand(this.others.shift()!.resolve);
    // Called again when the window closes, the last burst ends, or the oldest waiter is overdue.
    if (openBursts > 0) waitingForBursts.add(this.next);
    const at = Math.min(
      openBursts > 0 ? Infinity : this.followUpUntil,
      oldest.since + BACKGROUND_MAX_WAIT_MS,
    );
    this.timer = setTimeout(this.next, Math.max(0, at - now));
  };

  private backgroundMayGo(): boolean {
    return openBursts === 0 && performance.now() >= this.followUpUntil;
  }

  private hand(next: () => void): void {
    this.held = true;
    next();
  }
}

type Done = (err?: Error | boolean) => void;
type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: Done) => void;

/**
 * node-postgres's pool with a SessionScheduler in front of it, for the embedded database's one session:
 * a checkout waits its turn in the scheduler, then takes the pool's client at once. Given to TypeORM as
 * the `pg` driver's Pool (`driver` option), which checks clients out with a callback.
 */
export class ScheduledPool extends pg.Pool {
  private readonly scheduler = new SessionScheduler();
  private readonly holders = new WeakMap<pg.PoolClient, boolean>();

  // @ts-expect-error the callback form is the one TypeORM uses; the promise form is built on it
  override connect(cb?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    if (!cb)
      return new Promise((resolve, reject) =>
        this.connect((err, client) => (err ? reject(err) : resolve(client!))),
      );
    const request = interactive();
    void this.scheduler.acquire(request).then(() =>
      super.connect((err, client, done) => {
        if (err || !client) {
          this.scheduler.release(request);
          return cb(err ?? new Error('no client'), undefined, done);
        }
        this.holders.set(client, request);
        cb(undefined, client, done);
      }),
    );
    return undefined;
  }

  /** pg-pool's one path back for a checked-out client, whichever way it was released. */
  _release(client: pg.PoolClient, idleListener: unknown, err?: Error): void {
    // @ts-expect-error pg-pool's internal method, present since pg-pool 2
    super._release(client, idleListener, err);
    const request = this.holders.get(client);
    if (request === undefined) return;
    this.holders.delete(client);
    this.scheduler.release(request);
  }
}
