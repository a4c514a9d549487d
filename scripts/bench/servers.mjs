// The ragnest processes a benchmark measures: a fresh store per backend, `ragnest serve` (the monolith) or
// the distributed deployment, and their resident memory.

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { databaseUrl, adminQuery, memoryMiB, REPO_ROOT, startDistributed, startProcess } from './lib.mjs';

export const RETRIEVAL_REPLICAS = 2;
/**
 * glibc's malloc tunables as `npm start` (and the image, docker/Dockerfile) sets them, read from the start
 * script: every server is measured as it is run.
 */
const START_SCRIPT = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts.start;
export const MALLOC_ENV = Object.fromEntries(
  [...START_SCRIPT.matchAll(/\b(MALLOC_[A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]]),
);
/** The answer cache would turn repeated /rag/query requests into cache hits: the pipeline is measured. */
const SERVER_ENV = { ...MALLOC_ENV, ANSWER_CACHE_SIZE: '0' };
/** A fresh, empty store for one backend: the server's env, and how to remove the store afterwards. */
export async function prepareStore(backend) {
  if (backend === 'postgres' || backend === 'distributed') {
    const name = `ragnest_bench_${process.pid}_${Date.now()}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    return {
      env: { DATABASE_URL: databaseUrl(name) },
      remove: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    };
  }
  const dir = await mkdtemp(join(os.tmpdir(), 'ragnest-bench-'));
  return { env: { DATA_DIR: dir }, remove: () => rm(dir, { recursive: true, force: true }) };
}

/* ---------- the server processes ---------- */

/** `ragnest serve`: every context in one process; `extraEnv` is what a caller adds to its settings. */
export async function startMonolith(backend, storeEnv, extraEnv = {}) {
  const env = {
    ...process.env,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...SERVER_ENV,
    ...extraEnv,
    ...storeEnv,
  };
  if (backend === 'pglite') delete env.DATABASE_URL;
  const server = await startProcess(
    'server',
    'bin/ragnest.js',
    ['serve'],
    env,
    '/health/ready',
    `server ${backend}`,
  );
  return { baseUrl: server.baseUrl, processes: [server], stop: () => server.stop() };
}

/** The contexts the distributed deployment runs besides ingestion and the gateway, as [process, context]. */
const DISTRIBUTED_SERVICES = [
  ['query-understanding', 'query-understanding'],
  ['generation', 'generation'],
  ['presentation', 'presentation'],
  ...Array.from({ length: RETRIEVAL_REPLICAS }, (_, i) => [`retrieval-${i + 1}`, 'retrieval']),
];

export function startRagnestDistributed(storeEnv, extraEnv = {}) {
  return startDistributed({
    env: { ...SERVER_ENV, ...extraEnv, ...storeEnv },
    services: DISTRIBUTED_SERVICES,
    label: (name) => `distributed ${name}`,
  });
}

export async function memoryOf(processes) {
  return Promise.all(processes.map((p) => memoryMiB(p.child.pid)));
}
