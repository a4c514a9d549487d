// Helpers shared by the benchmark scripts.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

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
  const child = spawn(process.execPath, [script, ...args], {
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
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
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
