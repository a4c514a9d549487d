// Helpers shared by the benchmark scripts.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * maintenance_work_mem (MiB) for every HNSW build the benchmark times, ragnest's
 * (VECTOR_INDEX_BUILD_MEMORY_MB) and the floor's alike: enough for the graph of 1M 384-d vectors to be
 * built in memory.
 */
export const INDEX_BUILD_MEMORY_MB = 3072;
/**
 * How long an ingestion through the API may take before the benchmark gives up on it: an hour, or 30 ms
 * a document for larger loads (1M chunks, 518k documents, took over an hour with its HNSW build).
 */
export function ingestTimeoutMs(documents) {
  return Math.max(60 * 60_000, documents * 30);
}

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** How this script was started, as a reader would type it again. */
export function commandLine() {
  const args = process.argv.slice(2).join(' ');
  const script = process.env.npm_lifecycle_event;
  return script
    ? `npm run ${script}${args ? ` -- ${args}` : ''}`
    : `node ${relative(REPO_ROOT, process.argv[1])}${args ? ` ${args}` : ''}`;
}

/** The machine and the command a benchmark ran with, as every report records them. */
export function machine() {
  const cpus = os.cpus();
  return {
    command: commandLine(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: os.totalmem() / 1024 ** 3,
    loadAverageAtStart: os.loadavg(),
    platform: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

/** A load average (1, 5, 15 minutes) as printed: "1.02 0.87 0.55". */
export const loadText = (load) => load.map((x) => x.toFixed(2)).join(' ');

/** The records of a JSON Lines file (a BEIR corpus or queries file), blank lines skipped. */
export async function readJsonl(path) {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** Writes a benchmark's figures to bench-results/<name>-<start time>.json; returns the path written. */
export async function writeResults(name, report) {
  const dir = join(REPO_ROOT, 'bench-results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return relative(REPO_ROOT, file);
}

/**
 * A pg Pool as the little of TypeORM's DataSource that ragnest's repositories use: `query(sql, params)`
 * answering the rows, and `transaction(isolation, fn)`, `fn` given the same over one client.
 */
export function dataSourceOf(pool) {
  return {
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    async transaction(isolation, fn) {
      const client = await pool.connect();
      try {
        await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        const result = await fn({ query: async (sql, params) => (await client.query(sql, params)).rows });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

/** Runs one statement on the admin database (CREATE DATABASE, DROP DATABASE …). */
export async function adminQuery(sql) {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

export function positiveInt(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes positive integers, not "${text}"`);
  return n;
}

export async function freePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

export async function deleteRedisKeys(prefix) {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 1000 })) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}

export function fmt(n, digits = 0) {
  return Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/* ---------- server processes and the benchmark's lifetime ---------- */

const READY_TIMEOUT_MS = 180_000;
const liveChildren = new Set();
// Aborted on Ctrl-C / SIGTERM: pending requests fail, and the run unwinds through its finally blocks,
// which stop the servers and drop their databases or data directories.
export const stopping = new AbortController();

/** No server outlives the benchmark, whatever ends it; Ctrl-C unwinds through `stopping`. */
export function guardProcesses() {
  process.on('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping\n`);
      process.exitCode = 130;
      stopping.abort(new Error(`stopped by ${signal}`));
      setTimeout(() => process.exit(130), 20_000).unref();
    });
  }
}

/**
 * Starts one server process from `script` and waits until it answers `healthPath` with 200. Returns the
 * process with its base URL and a `stop()` that waits for it to be gone. Its output is passed through,
 * marked with `label`, so odd behaviour shows next to the figures.
 */
export async function startProcess(name, script, args, env, healthPath, label = name) {
  const port = await freePort();
  // BENCH_SERVER_NODE_OPTIONS: flags for node itself in every server process, such as `--cpu-prof
  // --cpu-prof-dir=/tmp/prof` (which NODE_OPTIONS does not accept) to see where a server's time goes.
  const nodeFlags = process.env.BENCH_SERVER_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeFlags, script, ...args], {
    cwd: REPO_ROOT,
    // Nothing watches a benchmark's readiness: stopping need not wait for a load balancer to notice.
    env: { SHUTDOWN_READINESS_DELAY_MS: '0', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = [];
  const relay = (chunk) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      tail.push(line);
      if (tail.length > 50) tail.shift();
      process.stderr.write(`  [${label}] ${line}\n`);
    }
  };
  child.stdout.on('data', relay);
  child.stderr.on('data', relay);
  const exited = once(child, 'exit');
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  const server = {
    name,
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // A profiler writes its file at exit, after the database has closed: give it the time.
      const timer = setTimeout(() => child.kill('SIGKILL'), nodeFlags.length > 0 ? 120_000 : 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitHealthy(server, healthPath, exited, tail, label);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

async function waitHealthy(server, healthPath, exited, tail, label) {
  const started = performance.now();
  let died = false;
  void exited.then(() => (died = true));
  while (performance.now() - started < READY_TIMEOUT_MS) {
    if (died) throw new Error(`${label} exited before ${healthPath} answered:\n${tail.join('\n')}`);
    try {
      const res = await fetch(`${server.baseUrl}${healthPath}`, {
        signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(5000)]),
      });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch (error) {
      // Not listening yet, unless the benchmark is being stopped.
      if (stopping.signal.aborted) throw error;
    }
    await sleep(250);
  }
  throw new Error(`${label}: ${healthPath} did not answer 200 within ${READY_TIMEOUT_MS / 1000} s`);
}

/**
 * The distributed deployment from the built apps, started as the test harness does
 * (libs/testing/src/distributed-deployment.ts): the first ingestion process alone (it migrates the
 * database), then `services` ([process name, context] pairs, more ingestion processes included), then the
 * gateway, ready once its /health/ready answers 200. Its Redis keys live under a prefix of their own,
 * removed by `stop()`.
 */
export async function startDistributed({ env, services, tag = 'bench', label = (name) => name }) {
  if (!existsSync(join(REPO_ROOT, 'dist/apps/gateway/main.js')))
    throw new Error('the distributed deployment runs the built apps: run `npm run build` first');
  const prefix = `ragnest-${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const processEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    REDIS_URL,
    REDIS_PREFIX: prefix,
    ...env,
  };
  const start = (name, context, healthPath = '/health/live') =>
    startProcess(name, `dist/apps/${context}/main.js`, [], processEnv, healthPath, label(name));
  const processes = [];
  const stop = async () => {
    try {
      await Promise.all(processes.map((p) => p.stop()));
    } finally {
      await deleteRedisKeys(prefix);
    }
  };
  try {
    processes.push(await start('ingestion-1', 'ingestion'));
    const others = await Promise.allSettled(services.map(([name, context]) => start(name, context)));
    processes.push(...others.filter((o) => o.status === 'fulfilled').map((o) => o.value));
    const failed = others.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
    const gateway = await start('gateway', 'gateway', '/health/ready');
    processes.push(gateway);
    return { baseUrl: gateway.baseUrl, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/* ---------- shared by the scripts that run standalone and under run.mjs ---------- */

/** True when the module at `importMetaUrl` is the script node was started with (not imported by run.mjs). */
export function isMain(importMetaUrl) {
  return Boolean(process.argv[1]) && resolve(process.argv[1]) === fileURLToPath(importMetaUrl);
}

/**
 * Runs a benchmark script's `main` when the script itself was started (not imported by run.mjs): its
 * child processes are stopped on Ctrl-C, and a failure is printed with its cause and sets the exit code.
 */
export function runMain(importMetaUrl, main) {
  if (!isMain(importMetaUrl)) return;
  guardProcesses();
  main().catch((error) => {
    // Stopped by a signal: guardProcesses has said so and set the exit code.
    if (stopping.signal.aborted) return;
    console.error(
      `bench failed: ${error.stack ?? error.message}${error.cause ? `\ncaused by: ${error.cause}` : ''}`,
    );
    process.exitCode = 1;
  });
}

/** The p-th percentile (nearest rank) of ascending `sorted`. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Median, min and max of the finite numbers among `values` (NaN when there are none). */
export function spread(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length };
}

/** Resident and peak resident memory of a process, in MiB, from /proc. */
export async function memoryMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; NaN elsewhere). */
export async function cpuSeconds(pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command (which may hold spaces) in parentheses: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** Linux's USER_HZ, the unit of /proc's CPU times (100 on every common architecture). */
const CLOCK_TICKS = 100;

/** The URL of database `name` on the benchmark's PostgreSQL. */
export function databaseUrl(name) {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A fresh database on the benchmark's PostgreSQL: its name, URL, and `drop()`. */
export async function createDatabase(prefix) {
  const name = `${prefix}_${process.pid}_${Date.now()}_${randomBytes(2).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  return {
    name,
    url: databaseUrl(name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** The server versions a figure depends on: PostgreSQL and pgvector (as installed), Redis. */
export async function serverVersions() {
  const { rows } = await adminQuery(
    `SELECT current_setting('server_version') AS postgres,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS pgvector`,
  );
  let redis;
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    redis = /^redis_version:(.*)$/m.exec(await client.info('server'))?.[1]?.trim();
  } catch {
    redis = undefined;
  } finally {
    client.disconnect();
  }
  return { postgres: rows[0].postgres, pgvector: rows[0].pgvector, redis };
}

/* ---------- request runs ---------- */

const MAX_ERRORS_KEPT = 10;

/**
 * Sends one request per item with `concurrency` workers pulling from a shared index. Every request's
 * time is kept, a failed one's up to the moment it failed, so percentiles can be taken over all requests
 * rather than over the survivors (a run where most requests time out must not look fast).
 */
export async function runLoad(items, concurrency, send) {
  let next = 0;
  const latencies = [];
  const failedLatencies = [];
  const errors = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      const t0 = performance.now();
      try {
        const res = await send(item);
        if (res.status === 200) latencies.push(performance.now() - t0);
        else {
          failedLatencies.push(performance.now() - t0);
          errors.push(`HTTP ${res.status} ${res.text.slice(0, 300)}`);
        }
      } catch (error) {
        if (stopping.signal.aborted) throw error;
        failedLatencies.push(performance.now() - t0);
        errors.push(
          `${error.name}: ${error.message}${error.cause ? ` (${error.cause.message ?? error.cause})` : ''}`,
        );
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return { latencies, failedLatencies, errors, seconds: (performance.now() - started) / 1000 };
}

/**
 * One measurement's row. Its percentiles are over all requests, each failed one counted at the time it
 * failed; `errorRate` (failed / sent) goes beside every percentile shown, and `successP50Ms` is the
 * median of the successful ones alone. requestsPerSecond counts successful requests only.
 */
export function summarise(endpoint, mode, concurrency, run) {
  const failed = run.failedLatencies ?? [];
  const all = [...run.latencies, ...failed].sort((a, b) => a - b);
  const ok = [...run.latencies].sort((a, b) => a - b);
  const requests = run.latencies.length + run.errors.length;
  return {
    endpoint,
    mode,
    concurrency,
    requests,
    errors: run.errors.length,
    errorRate: requests === 0 ? NaN : run.errors.length / requests,
    percentilesOver: 'all requests, failures at the time they failed',
    p50Ms: percentile(all, 50),
    p95Ms: percentile(all, 95),
    p99Ms: percentile(all, 99),
    successP50Ms: percentile(ok, 50),
    requestsPerSecond: run.latencies.length / run.seconds,
    seconds: run.seconds,
    errorSamples: run.errors.slice(0, MAX_ERRORS_KEPT),
  };
}

/** Above this share of failed requests on either side, a ratio of two rows' figures is not printed. */
export const RATIO_MAX_ERROR_RATE = 0.01;

/** The share of a row's requests that failed (rows written before errorRate existed included). */
export function errorRate(row) {
  if (!row) return NaN;
  if (Number.isFinite(row.errorRate)) return row.errorRate;
  return row.requests > 0 ? row.errors / row.requests : NaN;
}

/**
 * a[field] / b[field], or NaN (not printed) when either row is missing or failed more than
 * RATIO_MAX_ERROR_RATE of its requests: a ratio between survivors of different runs means nothing.
 */
export function comparableRatio(a, b, field) {
  if (!a || !b) return NaN;
  if (!(errorRate(a) <= RATIO_MAX_ERROR_RATE) || !(errorRate(b) <= RATIO_MAX_ERROR_RATE)) return NaN;
  return a[field] / b[field];
}
