import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { RequestContext } from '../context/request-context.js';

const background = new AsyncLocalStorage<true>();

/**
 * Work that no one waits for as it runs (indexing a queued batch, index maintenance): on the embedded
 * database, whose one session everything shares, a request's statements go before it (SessionScheduler).
 */
export const BackgroundWork = {
  run<T>(fn: () => T): T {
    return background.run(true, fn);
  },
};

/** Whether the statement about to be sent is a request's, so that it goes first. */
function interactive(): boolean {
  return RequestContext.current() !== undefined && background.getStore() === undefined;
}

/**
 * How long the session is held back from background work after a request's statement: a search sends
 * its statements one after another with a little JavaScript between them, and without this pause each
 * of them would wait for a whole indexing transaction that slipped in between.
 */
export const REQUEST_FOLLOW_UP_MS = 5;
/** Background work waiting longer than this goes before requests' statements, so that a steady stream
 * of searches cannot stop indexing. */
export const BACKGROUND_MAX_WAIT_MS = 1_000;

/**
 * The order in which the embedded database's one session is handed out: to requests' statements first,
 * then to background work, and after a request's statement, to the same or another request's for the
 * next REQUEST_FOLLOW_UP_MS before any background work (unless that has waited BACKGROUND_MAX_WAIT_MS).
 * Statements of the same kind keep their order.
 * One holder at a time: it stands in front of a pool of one client.
 */
export class SessionScheduler {
  private held = false;
  private readonly requests: (() => void)[] = [];
  private readonly others: { resolve: () => void; since: number }[] = [];
  private followUp?: NodeJS.Timeout;

  acquire(request: boolean): Promise<void> {
    // Free, no request waits (they are handed the session as it is released): a request takes it, and
    // background work too unless a request's follow-up window is open.
    if (!this.held && (request || !this.followUp)) {
      this.take();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      if (request) this.requests.push(resolve);
      else this.others.push({ resolve, since: performance.now() });
    });
  }

  release(request: boolean): void {
    this.held = false;
    const oldest = this.others[0];
    if (oldest && performance.now() - oldest.since > BACKGROUND_MAX_WAIT_MS) return this.handToOther();
    const next = this.requests.shift();
    if (next) return this.hand(next);
    if (request && this.others.length > 0) {
      this.followUp = setTimeout(() => {
        this.followUp = undefined;
        if (!this.held) this.handToOther();
      }, REQUEST_FOLLOW_UP_MS);
      return;
    }
    this.handToOther();
  }

  private handToOther(): void {
    const next = this.others.shift();
    if (next) this.hand(next.resolve);
  }

  private hand(next: () => void): void {
    this.take();
    next();
  }

  private take(): void {
    this.held = true;
    if (this.followUp) clearTimeout(this.followUp);
    this.followUp = undefined;
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
