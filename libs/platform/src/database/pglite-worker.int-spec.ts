import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.js';
import { RequestContext } from '../context/request-context.js';
import { openDatabase, type Database } from './data-source.factory.js';
import { BACKGROUND_MAX_WAIT_MS, BackgroundWork, RequestBurst } from './session-scheduler.js';

/**
 * The embedded database through its worker thread: the same DataSource as before (migrations, pgvector,
 * errors with their Postgres codes), and an event loop that keeps turning while a statement runs.
 */
describe('PGlite in a worker thread', () => {
  let dir: string;
  let db: Database;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ragnest-pglite-worker-'));
    db = await openDatabase(
      loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'error', PGLITE_SHARED_BUFFERS_MB: '24' }),
    );
  });

  afterAll(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs migrated SQL with pgvector, parameters and transactions', async () => {
    expect(db.kind).toBe('pglite');
    const [row] = await db.dataSource.query(
      `SELECT $1::int + 1 AS n, '[1,2]'::vector <-> '[1,3]'::vector AS d`,
      [41],
    );
    expect(row).toEqual({ n: 42, d: 1 });
    expect(await db.dataSource.query('SHOW shared_buffers')).toEqual([{ shared_buffers: '24MB' }]);
    await db.dataSource.transaction(async (tx) => {
      await tx.query('CREATE TEMP TABLE t (x int)');
      await tx.query('INSERT INTO t VALUES (1), (2)');
      expect(await tx.query('SELECT sum(x)::int AS s FROM t')).toEqual([{ s: 3 }]);
    });
  });

  it('reports a failed statement with its Postgres code, and serves the next one', async () => {
    await expect(db.dataSource.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
    // Through the extended protocol (parameters): failing at Parse, then at Bind.
    await expect(db.dataSource.query('SELECT $1::int FROM no_such_table', [1])).rejects.toMatchObject({
      code: '42P01',
    });
    await expect(db.dataSource.query('SELECT $1::int AS n', ['abc'])).rejects.toMatchObject({
      code: '22P02',
    });
    expect(await db.dataSource.query('SELECT $1::int AS n', [5])).toEqual([{ n: 5 }]);
    expect(await db.dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('opens a data directory it made before, with its data', async () => {
    await db.dataSource.query('CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)');
    await db.close();
    db = await openDatabase(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'error' }));
    expect(await db.dataSource.query('SELECT x FROM kept')).toEqual([{ x: 7 }]);
  });

  it('keeps the event loop turning while a long statement runs', async () => {
    let ticks = 0;
    let worstGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
      ticks += 1;
    }, 10);
    const started = performance.now();
    await db.dataSource.query(
      'SELECT count(*) FROM generate_series(1, 5000000) g, LATERAL (SELECT md5(g::text)) m',
    );
    const took = performance.now() - started;
    clearInterval(timer);
    // On the event loop's own thread the statement would be one gap as long as itself. The bounds leave
    // room for a machine shared with other work.
    expect(took).toBeGreaterThan(300);
    expect(ticks).toBeGreaterThan(took / 10 / 4);
    expect(worstGap).toBeLessThan(took / 2);
  });

  it("gives the one session to a request's statement before background work queued earlier", async () => {
    const done: string[] = [];
    const q = (name: string) => db.dataSource.query('SELECT 1').then(() => done.push(name));
    // Indexing holds the session in a transaction; more background work and then a search queue behind it.
    const indexing = BackgroundWork.run(() =>
      db.dataSource.transaction(async (tx) => {
        await tx.query('SELECT pg_sleep(0.3)');
        done.push('indexing transaction');
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const merge = RequestContext.run({ requestId: 'upload', deadline: Infinity }, () =>
      BackgroundWork.run(() => q('merge (queued by a request, run as background work)')),
    );
    const maintenance = q('maintenance (no request)');
    const search = RequestContext.run({ requestId: 'search', deadline: Infinity }, () => q('search'));
    await Promise.all([indexing, merge, maintenance, search]);
    expect(done).toEqual([
      'indexing transaction',
      'search',
      'merge (queued by a request, run as background work)',
      'maintenance (no request)',
    ]);
  });

  it("keeps background work queued during a search's pauses behind all of the search's statements", async () => {
    const done: string[] = [];
    const q = (name: string) => db.dataSource.query('SELECT 1').then(() => done.push(name));
    let indexing: Promise<unknown> | undefined;
    await RequestContext.run({ requestId: 'search', deadline: Infinity }, () =>
      RequestBurst.run(async () => {
        await q('sparse leg');
        indexing = BackgroundWork.run(() =>
          db.dataSource.transaction(async (tx) => {
            await tx.query('SELECT pg_sleep(0.2)');
            done.push('indexing transaction');
          }),
        );
        // The query is embedded and the legs fused meanwhile: longer than the follow-up window.
        await new Promise((r) => setTimeout(r, 30));
        await q('dense leg');
        await q('fetch');
      }),
    );
    await indexing;
    expect(done).toEqual(['sparse leg', 'dense leg', 'fetch', 'indexing transaction']);
  });

  it("runs the statements of a burst outside any request (the CLI, the warm-up) as a request's", async () => {
    const started = performance.now();
    await RequestBurst.run(async () => {
      for (let i = 0; i < 5; i++) await db.dataSource.query('SELECT 1');
    });
    // Held back as background work, each would wait for the burst it belongs to, until it is overdue (1 s).
    expect(performance.now() - started).toBeLessThan(BACKGROUND_MAX_WAIT_MS);
  });
});
