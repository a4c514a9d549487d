#!/usr/bin/env node
// Ingestion and search benchmark: ragnest as a user sees it, over HTTP against a real `ragnest serve`
// child process, on PostgreSQL and/or the embedded PGlite database, with a BEIR data set (SciFact); and the
// same through the distributed deployment: one process per context (two retrieval replicas) talking over
// Redis Streams, on PostgreSQL, measured at its gateway.
//
// For each backend it measures:
//   - ingestion: the corpus POSTed to /rag/collections/bench/documents in batches of 500, wall time from
//     the first POST until no document is queued or processing; documents/s and chunks/s;
//   - search: POST /rag/search (sparse, dense, hybrid; topK 10) with the test queries, each sent once at
//     every concurrency after 20 warm-up requests; p50/p95/p99 latency and requests/s;
//   - answering: POST /rag/query (extractive generator) the same way;
//   - each server process's resident memory after ingestion and after the request runs.
// With both postgres and distributed it also compares their /rag/search latencies side by side.
// It prints Markdown tables and writes the figures to bench-results/ingest-search-<timestamp>.json.
// It asserts nothing: requests that fail are counted and printed.
//
// Run: npm run bench:ingest-search -- [--backend postgres|pglite|distributed|both|all|<a,b>] [--docs N]
//                                     [--queries N] [--concurrency 1,8] [--dataset <beir-dir>]
// `both` is postgres and pglite, `all` adds distributed; a comma-separated list picks any of them.
// PostgreSQL (with pgvector) must be reachable at postgres://postgres@127.0.0.1:5432/postgres, or at
// BENCH_DATABASE_URL; a fresh database is created for each backend and dropped afterwards. The distributed
// deployment runs the built apps (`npm run build`) and needs Redis at redis://127.0.0.1:6379, or at
// BENCH_REDIS_URL; its keys live under a prefix of their own and are deleted afterwards.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  ADMIN_DATABASE_URL,
  adminQuery,
  fmt,
  ingestTimeoutMs,
  loadText,
  machine,
  memoryMiB,
  positiveInt,
  readJsonl,
  REPO_ROOT,
  runLoad,
  runMain,
  sleep,
  startDistributed,
  startProcess,
  stopping,
  summarise,
  RATIO_MAX_ERROR_RATE,
  comparableRatio,
  errorRate,
  writeResults,
} from './lib.mjs';

const BACKENDS = ['postgres', 'pglite', 'distributed'];
const BACKEND_GROUPS = { both: ['postgres', 'pglite'], all: BACKENDS };
const RETRIEVAL_REPLICAS = 2;
export const COLLECTION = 'bench';
const INGEST_BATCH = 500;
export const WARMUP_REQUESTS = 20;
export const SEARCH_MODES = ['sparse', 'dense', 'hybrid'];
const REQUEST_TIMEOUT_MS = 120_000;
const POLL_MS = 100;
/** The answer cache would turn repeated /rag/query requests into cache hits: the pipeline is measured. */
const SERVER_ENV = { ANSWER_CACHE_SIZE: '0' };

/* ---------- options ---------- */

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'both' },
      docs: { type: 'string' },
      queries: { type: 'string', default: '300' },
      concurrency: { type: 'string', default: '1,8' },
      dataset: { type: 'string', default: join(REPO_ROOT, '..', 'shared', 'datasets', 'scifact') },
    },
    strict: true,
  });
  const backends = [
    ...new Set(values.backend.split(',').flatMap((b) => BACKEND_GROUPS[b.trim()] ?? [b.trim()])),
  ];
  const unknown = backends.filter((b) => !BACKENDS.includes(b));
  if (unknown.length > 0) {
    throw new Error(
      `--backend takes ${BACKENDS.join(', ')}, both or all (or a comma-separated list), not "${unknown.join(',')}"`,
    );
  }
  const concurrency = values.concurrency.split(',').map((c) => positiveInt(c.trim(), '--concurrency'));
  return {
    backends,
    docs: values.docs === undefined ? Infinity : positiveInt(values.docs, '--docs'),
    queries: positiveInt(values.queries, '--queries'),
    concurrency,
    dataset: resolve(values.dataset),
  };
}

/* ---------- data set ---------- */

/** The first `maxDocs` documents of a BEIR corpus, as ragnest ingests them. */
export async function loadDocuments(dir, maxDocs) {
  const documents = (await readJsonl(join(dir, 'corpus.jsonl'))).slice(0, maxDocs).map((d) => ({
    id: String(d._id),
    ...(d.title ? { title: d.title } : {}),
    text: d.text,
    metadata: d.metadata ?? {},
  }));
  if (documents.length === 0) throw new Error(`${dir}/corpus.jsonl has no documents`);
  return documents;
}

export async function loadDataset(dir, maxDocs, maxQueries) {
  const documents = await loadDocuments(dir, maxDocs);
  const qrels = await readFile(join(dir, 'qrels', 'test.tsv'), 'utf8');
  // The first line is the header (query-id, corpus-id, score).
  const testIds = new Set(
    qrels
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t')[0])
      .filter(Boolean),
  );
  const queries = (await readJsonl(join(dir, 'queries.jsonl')))
    .filter((q) => testIds.has(String(q._id)))
    .slice(0, maxQueries)
    .map((q) => q.text);
  if (queries.length === 0) throw new Error(`${dir} has no test queries`);
  return { documents, queries };
}

/* ---------- databases for the server ---------- */

/** A fresh, empty store for one backend: the server's env, and how to remove the store afterwards. */
export async function prepareStore(backend) {
  if (backend === 'postgres' || backend === 'distributed') {
    const name = `ragnest_bench_${process.pid}_${Date.now()}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${name}`;
    return {
      env: { DATABASE_URL: url.toString() },
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

/* ---------- HTTP ---------- */

async function call(baseUrl, method, path, body) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
  });
  const text = await res.text();
  return { status: res.status, text };
}

/* ---------- ingestion ---------- */

/**
 * The ingestion phase's requests. While the server indexes, its event loop can stall for seconds; a
 * keep-alive connection that waited through such a stall may then be reset by the server's idle timer
 * before it reads the request. Ingestion requests are idempotent (documents carry ids), so they are sent
 * again, as an HTTP client library would; the resets and the slowest status poll are reported, since a
 * user sees both.
 */
function ingestionClient(baseUrl) {
  const stats = { resets: 0, slowestPollMs: 0 };
  const send = async (method, path, body) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(baseUrl, method, path, body);
      } catch (error) {
        if (stopping.signal.aborted || attempt === 3 || !isConnectionReset(error)) throw error;
        stats.resets++;
      }
    }
  };
  const poll = async (path) => {
    const t0 = performance.now();
    const res = await send('GET', path);
    stats.slowestPollMs = Math.max(stats.slowestPollMs, performance.now() - t0);
    return res;
  };
  return { stats, send, poll };
}

function isConnectionReset(error) {
  const code = error?.cause?.code;
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE';
}

/**
 * POSTs `documents` and waits until none is queued or processing, and, with `waitForIndex`, until the
 * collection's HNSW index is built (the server must then build it at any size: VECTOR_INDEX_MIN_CHUNKS=1).
 */
export async function ingest(baseUrl, documents, { waitForIndex = false } = {}) {
  const client = ingestionClient(baseUrl);
  const started = performance.now();
  for (let i = 0; i < documents.length; i += INGEST_BATCH) {
    const batch = documents.slice(i, i + INGEST_BATCH);
    const res = await client.send('POST', `/rag/collections/${COLLECTION}/documents`, { documents: batch });
    if (res.status !== 202) {
      throw new Error(`ingesting documents ${i}-${i + batch.length - 1}: HTTP ${res.status} ${res.text}`);
    }
  }
  const postedSeconds = (performance.now() - started) / 1000;
  const view = await waitIndexed(client, started, waitForIndex, ingestTimeoutMs(documents.length));
  const seconds = (performance.now() - started) / 1000;
  return {
    documents: view.documents.indexed,
    failed: view.documents.failed,
    chunks: view.chunks,
    embedding: view.embedding,
    postedSeconds,
    seconds,
    documentsPerSecond: view.documents.indexed / seconds,
    chunksPerSecond: view.chunks / seconds,
    slowestPollMs: client.stats.slowestPollMs,
    connectionResets: client.stats.resets,
  };
}

async function waitIndexed(client, started, waitForIndex, timeoutMs) {
  const path = `/rag/collections/${COLLECTION}`;
  while (performance.now() - started < timeoutMs) {
    const res = await client.poll(path);
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status} ${res.text}`);
    const view = JSON.parse(res.text);
    const indexed = !waitForIndex || view.embedding.index === 'hnsw';
    if (view.documents.queued + view.documents.processing === 0 && indexed) return view;
    await sleep(POLL_MS);
  }
  throw new Error(`ingestion did not finish within ${Math.round(timeoutMs / 60_000)} minutes`);
}

/* ---------- request runs ---------- */

export async function measure(baseUrl, endpoint, mode, concurrency, queries) {
  const body = (query) =>
    endpoint === '/rag/search'
      ? { collection: COLLECTION, query, topK: 10, mode }
      : { collection: COLLECTION, query };
  const send = (query) => call(baseUrl, 'POST', endpoint, body(query));
  const warmup = Array.from({ length: WARMUP_REQUESTS }, (_, i) => queries[i % queries.length]);
  await runLoad(warmup, concurrency, send);
  const row = summarise(endpoint, mode, concurrency, await runLoad(queries, concurrency, send));
  process.stderr.write(
    `  ${endpoint} ${mode} c=${concurrency}: p50 ${fmt(row.p50Ms, 1)} ms, ${fmt(row.requestsPerSecond, 1)} req/s\n`,
  );
  for (const e of row.errorSamples) process.stderr.write(`    error: ${e}\n`);
  return row;
}

/** /rag/search in each mode and /rag/query at each concurrency; `search` or `query` false leaves one out. */
export async function measureRequests(baseUrl, queries, concurrencies, { search = true, query = true } = {}) {
  const rows = [];
  for (const mode of search ? SEARCH_MODES : []) {
    for (const c of concurrencies) rows.push(await measure(baseUrl, '/rag/search', mode, c, queries));
  }
  for (const c of query ? concurrencies : []) {
    rows.push(await measure(baseUrl, '/rag/query', 'hybrid', c, queries));
  }
  return rows;
}

/* ---------- one backend ---------- */

async function benchBackend(backend, data, options) {
  process.stderr.write(`\n${backend}: starting the server${backend === 'distributed' ? 's' : ''}\n`);
  const store = await prepareStore(backend);
  let deployment;
  try {
    deployment =
      backend === 'distributed'
        ? await startRagnestDistributed(store.env)
        : await startMonolith(backend, store.env);
    process.stderr.write(`${backend}: ingesting ${data.documents.length} documents\n`);
    const ingestion = await ingest(deployment.baseUrl, data.documents);
    const afterIngestion = await memoryOf(deployment.processes);
    process.stderr.write(
      `${backend}: ${ingestion.chunks} chunks in ${fmt(ingestion.seconds, 1)} s; searching\n`,
    );
    const requests = await measureRequests(deployment.baseUrl, data.queries, options.concurrency);
    const afterRequests = await memoryOf(deployment.processes);
    return {
      backend,
      ingestion,
      // Per server process: one for the monolith, one per context (and replica) when distributed.
      memoryMiB: deployment.processes.map((p, i) => ({
        process: p.name,
        afterIngestion: afterIngestion[i].rss,
        afterRequests: afterRequests[i].rss,
        peak: afterRequests[i].peak,
      })),
      requests,
    };
  } finally {
    try {
      await deployment?.stop();
    } finally {
      await store.remove();
    }
  }
}

/* ---------- report ---------- */

function environment(options) {
  return { ...machine(), dataset: relative(REPO_ROOT, options.dataset) || '.' };
}

function formatEnvironment(env, data, options) {
  return [
    `Machine: ${env.cpu} × ${env.cores}, ${fmt(env.memoryGiB, 1)} GiB RAM, ${env.platform}; load average at start ${loadText(env.loadAverageAtStart)}`,
    `Node ${env.node}`,
    `Command: \`${env.command}\``,
    `Data set: ${env.dataset} (${fmt(data.documents.length)} documents, ${fmt(data.queries.length)} test queries; ` +
      `concurrency ${options.concurrency.join(', ')}; ${WARMUP_REQUESTS} warm-up requests per run)`,
  ].join('\n');
}

function formatBackend(result) {
  const i = result.ingestion;
  const lines = [
    `### ${result.backend}${result.backend === 'distributed' ? ` (one process per context, ${RETRIEVAL_REPLICAS} retrieval replicas, over Redis Streams)` : ''}`,
    '',
    `Ingestion: ${fmt(i.documents)} documents${i.failed ? ` (${fmt(i.failed)} failed)` : ''} → ${fmt(i.chunks)} chunks ` +
      `(${i.embedding.model}, ${i.embedding.dimensions} dims) in ${fmt(i.seconds, 1)} s: ` +
      `${fmt(i.documentsPerSecond, 1)} documents/s, ${fmt(i.chunksPerSecond, 1)} chunks/s ` +
      `(all POSTed after ${fmt(i.postedSeconds, 1)} s; slowest status poll ${fmt(i.slowestPollMs)} ms` +
      `${i.connectionResets ? `; ${i.connectionResets} connection(s) reset by the server and retried` : ''}).`,
    ...formatMemory(result.memoryMiB),
    '',
    'Percentiles over all requests, a failed one counted at the time it failed; the failure rate beside them.',
    '',
    '| endpoint | mode | concurrency | requests | errors | failed | p50 ms | p95 ms | p99 ms | req/s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of result.requests) {
    lines.push(
      `| ${r.endpoint} | ${r.mode} | ${r.concurrency} | ${r.requests} | ${r.errors} | ` +
        `${fmt(100 * errorRate(r), 1)} % | ${fmt(r.p50Ms, 1)} | ` +
        `${fmt(r.p95Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${fmt(r.requestsPerSecond, 1)} |`,
    );
  }
  return lines.join('\n');
}

function formatMemory(processes) {
  if (processes.length === 1) {
    const [m] = processes;
    return [
      `Server RSS: ${fmt(m.afterIngestion)} MiB after ingestion, ${fmt(m.afterRequests)} MiB after the request runs (peak ${fmt(m.peak)} MiB).`,
    ];
  }
  const sum = (field) => processes.reduce((total, m) => total + m[field], 0);
  return [
    '',
    '| process | RSS after ingestion MiB | RSS after requests MiB | peak RSS MiB |',
    '| --- | ---: | ---: | ---: |',
    ...processes.map(
      (m) => `| ${m.process} | ${fmt(m.afterIngestion)} | ${fmt(m.afterRequests)} | ${fmt(m.peak)} |`,
    ),
    // Peaks need not coincide, so their sum bounds the deployment's peak from above.
    `| **total** | ${fmt(sum('afterIngestion'))} | ${fmt(sum('afterRequests'))} | ≤ ${fmt(sum('peak'))} |`,
  ];
}

const ratioText = (x) => (Number.isFinite(x) ? `${fmt(x, 2)}×` : '–');

/** The monolith on PostgreSQL against the distributed deployment, run for run. */
function formatComparison(monolith, distributed) {
  const lines = [
    '### postgres (monolith) vs distributed',
    '',
    `Percentiles over all requests, failures at the time they failed; no ratio where either side failed more than ${fmt(100 * RATIO_MAX_ERROR_RATE)} % of its requests.`,
    '',
    '| endpoint | mode | concurrency | monolith p50 ms | monolith p95 ms | monolith failed | monolith req/s | ' +
      'distributed p50 ms | distributed p95 ms | distributed failed | distributed req/s | distributed p50 / monolith p50 |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const m of monolith.requests) {
    const d = distributed.requests.find(
      (r) => r.endpoint === m.endpoint && r.mode === m.mode && r.concurrency === m.concurrency,
    );
    if (!d) continue;
    lines.push(
      `| ${m.endpoint} | ${m.mode} | ${m.concurrency} | ${fmt(m.p50Ms, 1)} | ${fmt(m.p95Ms, 1)} | ` +
        `${fmt(100 * errorRate(m), 1)} % | ${fmt(m.requestsPerSecond, 1)} | ${fmt(d.p50Ms, 1)} | ${fmt(d.p95Ms, 1)} | ` +
        `${fmt(100 * errorRate(d), 1)} % | ${fmt(d.requestsPerSecond, 1)} | ${ratioText(comparableRatio(d, m, 'p50Ms'))} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const data = await loadDataset(options.dataset, options.docs, options.queries);
  const env = environment(options);
  const results = [];
  for (const backend of options.backends) results.push(await benchBackend(backend, data, options));
  const report = {
    startedAt,
    environment: env,
    options: { ...options, docs: data.documents.length },
    results,
  };
  console.log(`\n## Ingestion and search benchmark\n\n${formatEnvironment(env, data, options)}\n`);
  for (const r of results) console.log(`${formatBackend(r)}\n`);
  const monolith = results.find((r) => r.backend === 'postgres');
  const distributed = results.find((r) => r.backend === 'distributed');
  if (monolith && distributed) console.log(`${formatComparison(monolith, distributed)}\n`);
  console.log(`Figures written to ${await writeResults('ingest-search', report)}`);
}

runMain(import.meta.url, main);
