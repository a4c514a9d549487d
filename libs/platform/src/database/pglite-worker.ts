import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { PGlite } from '@electric-sql/pglite';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';

/**
 * The embedded database (PGlite, Postgres compiled to WASM) in a worker thread of this process, so that
 * a long statement (an ingest writing thousands of chunks, an index build) runs beside the event loop
 * instead of on it: health probes, searches and streamed answers keep being served meanwhile.
 *
 * The worker speaks the Postgres wire protocol: bytes that node-postgres would have written to a socket
 * go over a MessagePort to `execProtocolRaw`, and the raw reply comes back to be parsed here, by the
 * same parser node-postgres uses on a socket. This object stands in for the PGlite instance that
 * `@electric-sql/pglite/node-postgres` drives (it uses only `waitReady` and `execProtocolStream`), so
 * the DataSource, the migrations and the SQL are exactly those used in-process before.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglite);
const { vector } = require(workerData.vector);
let db;
let chain = Promise.resolve();
const startParams = [...PGlite.defaultStartParams, ...workerData.settings.flatMap((s) => ['-c', s])];
const ready = PGlite.create(workerData.dataDir, { extensions: { vector }, startParams }).then(
  (created) => { db = created; parentPort.postMessage({ ready: true }); },
  (error) => { parentPort.postMessage({ failed: String(error && error.message || error) }); },
);
parentPort.on('message', (request) => {
  // One session: statements run one after another, in the order they were sent.
  chain = chain.then(() => ready).then(async () => {
    if (request.close) {
      if (db) await db.close();
      parentPort.postMessage({ id: request.id, closed: true });
      return;
    }
    try {
      const reply = await db.execProtocolRaw(request.bytes);
      // The reply may be a view on PGlite's WASM memory: copy it before handing the buffer over.
      const bytes = reply.slice();
      parentPort.postMessage({ id: request.id, bytes }, [bytes.buffer]);
    } catch (error) {
      parentPort.postMessage({ id: request.id, error: String(error && error.message || error) });
    }
  });
});
`;

/** Makes the data directory (initdb) in a child process, and waits for it to exit. */
async function initialise(dataDir: string, settings: string[]): Promise<void> {
  const require = createRequire(import.meta.url);
  const data = JSON.stringify({
    dataDir,
    settings,
    pglite: require.resolve('@electric-sql/pglite'),
    vector: require.resolve('@electric-sql/pglite-pgvector'),
  });
  const child = spawn(process.execPath, ['-e', INIT_SOURCE, data], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`cannot create the PGlite data directory ${dataDir}: ${stderr.trim()}`);
}

const INIT_SOURCE = `
const workerData = JSON.parse(process.argv[1]);
const { PGlite } = require(workerData.pglite);
const { vector } = require(workerData.vector);
const startParams = [...PGlite.defaultStartParams, ...workerData.settings.flatMap((s) => ['-c', s])];
PGlite.create(workerData.dataDir, { extensions: { vector }, startParams })
  .then((db) => db.close())
  .then(() => process.exit(0), (error) => { console.error(error && error.message || error); process.exit(1); });
`;

interface Reply {
  id?: number;
  ready?: true;
  failed?: string;
  bytes?: Uint8Array;
  error?: string;
  closed?: true;
}

/**
 * The worker's JavaScript only copies bytes between the port and PGlite: a young generation of 4 MB (V8's
 * default grows to 32 MB and keeps it) is scavenged more often for nothing, and took 30 MB off the single
 * binary's RSS, at start and after a SciFact ingest.
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/**
 * PGlite's WebAssembly is compiled by TurboFan alone, each function when first called, instead of by V8's
 * default of Liftoff first and TurboFan again, on background threads, for every function that gets hot:
 * that keeps two codes of the hot functions and leaves the compilers' freed memory in the malloc arenas of
 * their threads. Measured on the single binary with a SciFact ingest (docs/operations.md, two alternating
 * rounds): RSS after start 282-290 MiB instead of 338-363, after the ingest 367-378 instead of 418-444, with
 * the same ingest time and search latency; the price is a slower start, 5.1-5.6 s to ready instead of
 * 2.3-3.1 on an existing data directory (Liftoff alone saved as much memory, but searched 30% slower).
 * V8's flags are the process's: set before the worker compiles PGlite (any other WebAssembly the process
 * may run, such as pdf.js's image decoders, is compiled the same way: as correct, slower to start).
 */
const WASM_COMPILER = '--no-liftoff';

/** Extended-protocol messages Postgres answers only once a Sync or Flush follows: P, B, D, E, C. */
const HELD_BACK = new Set([0x50, 0x42, 0x44, 0x45, 0x43]);

export class PgliteWorker {
  /** Resolves once PGlite has opened its data directory in the worker; node-postgres waits for it. */
  readonly waitReady: Promise<void>;
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private held: Uint8Array[] = [];
  private exited?: Error;

  /**
   * Starts PGlite on `dataDir` with server `settings` (`name=value`). A data directory that does not exist
   * yet is made first by a short-lived child process: initdb grows PGlite's WASM memory by some 300 MB,
   * which neither a running instance nor an ended worker thread gives back to the OS (measured: 478 MiB
   * RSS after the first start with a worker, 338 MiB on a directory that existed), and a process does.
   */
  static async start(dataDir: string, settings: string[] = []): Promise<PgliteWorker> {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(dataDir, settings);
    return new PgliteWorker(dataDir, settings);
  }

  private constructor(dataDir: string, settings: string[]) {
    const require = createRequire(import.meta.url);
    setFlagsFromString(WASM_COMPILER);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      workerData: {
        dataDir,
        settings,
        pglite: require.resolve('@electric-sql/pglite'),
        vector: require.resolve('@electric-sql/pglite-pgvector'),
      },
    });
    this.waitReady = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (reply: Reply) => {
        if (reply.ready) {
          resolve();
          if (this.waiting.size === 0) this.worker.unref();
        } else if (reply.failed !== undefined) reject(new Error(reply.failed));
        else this.settle(reply);
      });
      this.worker.on('error', (error) => this.fail(error, reject));
      this.worker.on('exit', (code) => this.fail(new Error(`the PGlite worker exited (${code})`), reject));
    });
    // A failure to open is reported by whoever waits for readiness (the DataSource's first connect).
    this.waitReady.catch(() => undefined);
  }

  /**
   * What node-postgres's PGlite connection calls for every message it sends, one after another: the
   * parsed reply. The messages of an extended-protocol query (Parse, Bind, Describe, Execute, Close) are
   * held back and sent with the Sync or Flush that ends them, as a socket would carry them, in one trip
   * to the worker instead of five; their replies all come with that last message, in the same order.
   */
  async execProtocolStream(message: Uint8Array): Promise<BackendMessage[]> {
    if (HELD_BACK.has(message[0])) {
      this.held.push(message);
      return [];
    }
    let bytes = message;
    if (this.held.length > 0) {
      bytes = Buffer.concat([...this.held, message]);
      this.held = [];
    }
    const reply = await this.request({ bytes });
    if (reply.error !== undefined) throw new Error(reply.error);
    const messages: BackendMessage[] = [];
    new Parser().parse(
      Buffer.from(reply.bytes!.buffer, reply.bytes!.byteOffset, reply.bytes!.byteLength),
      (m) => messages.push(m),
    );
    return messages;
  }

  /** Closes the database in the worker (flushing it to disk), then ends the worker. */
  async close(): Promise<void> {
    if (!this.exited) {
      await this.request({ close: true }).catch(() => undefined);
      await this.worker.terminate();
    }
  }

  /** The instance node-postgres's `createPgConfig` expects; it uses only what this class provides. */
  asPglite(): PGlite {
    return this as unknown as PGlite;
  }

  private request(body: { bytes?: Uint8Array; close?: true }): Promise<Reply> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Only a statement in flight keeps the process alive, as a socket to a server would.
      this.worker.ref();
      this.worker.postMessage({ id, ...body });
    });
  }

  private settle(reply: Reply): void {
    const waiter = reply.id === undefined ? undefined : this.waiting.get(reply.id);
    if (!waiter) return;
    this.waiting.delete(reply.id!);
    if (this.waiting.size === 0) this.worker.unref();
    waiter.resolve(reply);
  }

  private fail(error: Error, rejectReady: (e: Error) => void): void {
    this.exited ??= error;
    rejectReady(error);
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
