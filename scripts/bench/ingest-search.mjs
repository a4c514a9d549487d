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
// Its parts: dataset.mjs, servers.mjs, ingest-client.mjs and requests.mjs (which the other benchmarks use
// too) and ingest-search/format.mjs.

import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from './dataset.mjs';
import { ingest } from './ingest-client.mjs';
import { environment, formatBackend, formatComparison, formatEnvironment } from './ingest-search/format.mjs';
import { fmt, positiveInt, REPO_ROOT, runMain, writeResults } from './lib.mjs';
import { measureRequests } from './requests.mjs';
import { memoryOf, prepareStore, startMonolith, startRagnestDistributed } from './servers.mjs';

const BACKENDS = ['postgres', 'pglite', 'distributed'];
const BACKEND_GROUPS = { both: ['postgres', 'pglite'], all: BACKENDS };
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
