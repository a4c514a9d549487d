import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTestDatabase, eventually, freePort, http, type TestDatabase } from '#testing';

const ENTRY = fileURLToPath(new URL('../../dist/apps/server/main.js', import.meta.url));
const MIB = 1024 * 1024;

/** The resident set of a process, from /proc (Linux), in MiB. */
function rssMib(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/**
 * A process's RSS at rest, in MiB: the lowest over 12 s. V8 gives a busy heap's pages back only some seconds
 * after the work stops (its memory reducer waits 8 s): measured at once, the same server read 320 MiB, and
 * 205 MiB five seconds later; so RSS taken at a fixed moment after work measures when the collector ran, not
 * what the server keeps.
 */
async function restingRssMib(pid: number): Promise<number> {
  let lowest = rssMib(pid);
  for (let i = 0; i < 24; i++) {
    await new Promise((r) => setTimeout(r, 500));
    lowest = Math.min(lowest, rssMib(pid));
  }
  return lowest;
}

/**
 * Issue 21's probe: 20 files of 20 MiB in one request answered 500 and left the server at 2.3 GB RSS.
 * Uploads are now spooled to disk, streamed from there into ingestion's staging table in 1 MiB parts (only
 * a reference crosses the transport) and read back whole only by the ingestion worker, one file per
 * INGESTION_CONCURRENCY slot; so 20 parallel uploads of 50 MiB each leave the server's RSS less than
 * 100 MiB above where it started. The server is a child process (the built single binary on PostgreSQL),
 * so its RSS is its own. The files are blank text: they are stored like any upload and then fail
 * extraction at once (no text), which keeps the measure on the upload path rather than on indexing a
 * gigabyte of text. An upload refused for want of a slot (503 + Retry-After) is sent again, as a client
 * would.
 */
describe('upload memory', () => {
  let db: TestDatabase;
  let child: ChildProcess;
  let base: string;
  let spool: string;
  const output: string[] = [];
  /**
   * Posts the form again while the server answers 503 (its upload slots taken), after its Retry-After;
   * and, once, when the connection broke while the body was still being written (EPIPE on the write):
   * the server cannot have taken a body it did not receive whole, so sending it again stores nothing
   * twice. A fresh-clone CI run once failed here with that EPIPE (not reproduced in seven runs since:
   * quiet, beside CPU hogs, beside the integration suite); if the server itself went away, the failure says so.
   */
  const post = async (path: string, form: () => FormData) => {
    let resent = false;
    for (;;) {
      const res = await http(base, 'POST', path, form()).catch(async (error: Error) => {
        const cause = error.cause as NodeJS.ErrnoException | undefined;
        await new Promise((r) => setTimeout(r, 500)); // time for a dying server's exit to be seen
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(
            `the server exited (${child.exitCode ?? child.signalCode}) during an upload:\n${output.join('')}`,
            { cause: error },
          );
        if (resent || cause?.syscall !== 'write') throw error;
        console.warn(`upload memory: ${cause.code} while sending ${path}; sending it again`);
        resent = true;
        return undefined;
      });
      if (!res) continue;
      if (res.status !== 503) return res;
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
    }
  };

  beforeAll(async () => {
    if (!existsSync(ENTRY)) throw new Error('this test runs the built server: run `npm run build` first');
    db = await createTestDatabase();
    spool = mkdtempSync(join(tmpdir(), 'ragnest-spool-test-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [ENTRY], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        REDIS_URL: '',
        UPLOAD_MAX_CONCURRENT: '20',
        UPLOAD_TMP_DIR: spool,
        INGESTION_CONCURRENCY: '1',
        // A gigabyte arriving at once on a shared machine can take longer than the default 60 s a body;
        // slow bodies are hardening.e2e-spec's matter, memory is this test's.
        HTTP_BODY_TIMEOUT_MS: '600000',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    await eventually(
      async () => (await http(base, 'GET', '/health/ready').catch(() => undefined))?.status === 200,
      60_000,
      100,
    );
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await db?.drop();
    if (spool) rmSync(spool, { recursive: true, force: true });
  });

  /** Waits until ingestion has been through every document of `collection` (blank files fail, with a reason). */
  const ingested = (collection: string, count: number) =>
    eventually(
      async () => {
        const c = await http(base, 'GET', `/rag/collections/${collection}`);
        return c.body.documents?.failed + c.body.documents?.indexed === count;
      },
      240_000,
      500,
    );

  it('answers 20 files of 20 MiB in one request without a 5xx', async () => {
    const blank = new Blob([Buffer.alloc(20 * MIB, ' ')], { type: 'text/plain' });
    const res = await post('/rag/collections/probe/documents', () => {
      const form = new FormData();
      for (let i = 0; i < 20; i++) form.append('files', blank, `blank-${i}.txt`);
      return form;
    });
    expect(res.status, res.text).toBe(202);
    expect(res.body.documents).toHaveLength(20);
    await ingested('probe', 20);
  }, 300_000);

  it('keeps RSS growth under 100 MiB over 20 parallel uploads of 50 MiB', async () => {
    const pid = child.pid!;
    const before = await restingRssMib(pid);
    let peak = before;
    const sampler = setInterval(() => {
      if (child.exitCode === null) peak = Math.max(peak, rssMib(pid));
    }, 50);
    onTestFinished(() => clearInterval(sampler));
    const blank = new Blob([Buffer.alloc(50 * MIB, ' ')], { type: 'text/plain' });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post('/rag/collections/memory/documents', () => {
          const form = new FormData();
          form.append('files', blank, `parallel-${i}.txt`);
          return form;
        }),
      ),
    );
    expect(
      results.map((r) => r.status),
      results.map((r) => r.text).join('\n'),
    ).toEqual(Array(20).fill(202));
    // Every spooled file is gone once its request is answered.
    expect(readdirSync(spool).flatMap((d) => readdirSync(join(spool, d)))).toEqual([]);
    // The documents are stored and then fail (blank): wait until ingestion has been through them all.
    await ingested('memory', 20);
    clearInterval(sampler);
    const after = await restingRssMib(pid);
    console.log(
      `upload memory: RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB peak, ${after.toFixed(0)} MiB after`,
    );
    expect(after - before, output.join('')).toBeLessThan(100);
  }, 400_000);
});
