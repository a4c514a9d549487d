#!/usr/bin/env node
// `npm run bench`: every performance figure of ragnest beside its floor and its alternatives, at each
// scale asked for, on real PostgreSQL + pgvector and Redis; written to docs/benchmarks.md, its figures to
// docs/benchmarks.json and bench-results/bench-<start time>.json. Each figure is the median of --runs independent runs (fresh
// databases and processes each time), with the min and max beside it.
//
// Scenarios (--scenarios, comma-separated; all by default):
//   ingest       chunks/s through the API with 1 and 2 ingestion processes (ingest-floor.mjs), against
//                the floor (bare COPY into index-less tables, then the same index builds), a COPY into
//                indexed tables as a reference, and LangChain.js PGVectorStore.addDocuments (bulk-loaded,
//                sequential and at ragnest's parallelism; no BM25 postings); index build times.
//   search       /rag/search (sparse, dense, hybrid) at each concurrency on the monolith, and the same SQL
//                straight to PostgreSQL (search-floor.mjs); table and index sizes; RSS.
//   query        /rag/query (extractive generator) at each concurrency.
//   distributed  search and query through the distributed deployment, on the monolith's database.
//   ttft         time to first token with a streaming fake model, monolith and distributed (ttft.mjs).
//   pglite-responsiveness  /health/live and /rag/search latency and RSS of the single binary on PGlite
//                during a SciFact ingest (pglite-responsiveness.mjs; skipped without the data set).
//   transport    the cost of one hop, in-process against Redis Streams (transport.mjs).
//   pglite       the monolith on embedded PGlite, at the scales of --pglite-scales only (slow at 100k).
//   observability  hybrid /rag/search req/s at concurrency 8 with tracing (default sampler, and every
//                request) and metrics scraping on, beside them off, at the smallest --scale
//                (observability.mjs).
//
// Run: npm run bench -- [--scenarios a,b] [--scale 10k,100k] [--runs 3] [--queries 300]
//                       [--concurrency 1,8,32] [--pglite-scales 2k,10k] [--out docs/benchmarks.md]
// Scales: 2k (a fifth of SciFact, for smoke runs), 10k (SciFact), 100k and 1m (grown from SciFact with a
// fixed seed, corpus.mjs). Needs `npm run build` (npm run bench does it), PostgreSQL with pgvector at
// postgres://postgres@127.0.0.1:5432/postgres (or BENCH_DATABASE_URL) and Redis at redis://127.0.0.1:6379
// (or BENCH_REDIS_URL). Databases, data directories and Redis keys it makes are removed, on Ctrl-C too.

import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CORPUS_SEED, SCALES, scaleCorpus } from './corpus.mjs';
import { ingestFloor, pgSettings } from './ingest-floor.mjs';
import { loadDataset } from './dataset.mjs';
import { COLLECTION, ingest, maintenanceSettled } from './ingest-client.mjs';
import { measureRequests, SEARCH_MODES, WARMUP_REQUESTS } from './requests.mjs';
import { memoryOf, prepareStore, startMonolith, startRagnestDistributed } from './servers.mjs';
import {
  INDEX_BUILD_MEMORY_MB,
  machine,
  positiveInt,
  REPO_ROOT,
  runMain,
  serverVersions,
  writeResults,
} from './lib.mjs';
import { renderReport } from './report.mjs';
import { openSearchFloor } from './search-floor.mjs';
import { benchTransport } from './transport.mjs';
import { benchTtft } from './ttft.mjs';
import { benchPgliteResponsiveness } from './pglite-responsiveness.mjs';
import { benchObservability } from './observability.mjs';

const SCENARIOS = [
  'ingest',
  'search',
  'query',
  'distributed',
  'ttft',
  'transport',
  'pglite',
  'pglite-responsiveness',
  'observability',
];
/**
 * Every server on PostgreSQL builds its HNSW index whatever the scale, in memory, and ingestion waits for it:
 * search is measured on it. (PGlite keeps its own default: see pgliteRun.)
 */
const BENCH_ENV = {
  VECTOR_INDEX_MIN_CHUNKS: '1',
  VECTOR_INDEX_BUILD_MEMORY_MB: String(INDEX_BUILD_MEMORY_MB),
};
const SIZED_TABLES = ['chunks', 'chunk_vectors', 'lexical_blocks', 'lexical_segments', 'lexical_changes'];

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenarios: { type: 'string', default: SCENARIOS.join(',') },
      scale: { type: 'string', default: '10k,100k' },
      runs: { type: 'string', default: '3' },
      queries: { type: 'string', default: '300' },
      concurrency: { type: 'string', default: '1,8,32' },
      'pglite-scales': { type: 'string', default: '2k,10k' },
      workers: { type: 'string', default: '1,2' },
      'ingestion-concurrency': { type: 'string', default: '2' },
      'transport-calls': { type: 'string', default: '2000' },
      'ttft-requests': { type: 'string', default: '50' },
      out: { type: 'string', default: 'docs/benchmarks.md' },
      dataset: { type: 'string', default: join(REPO_ROOT, '..', 'shared', 'datasets', 'scifact') },
    },
    strict: true,
  });
  const list = (text) => [...new Set(text.split(',').map((v) => v.trim().toLowerCase()))].filter(Boolean);
  const ints = (text, flag) => list(text).map((v) => positiveInt(v, flag));
  const checked = (items, known, flag) => {
    const unknown = items.filter((i) => !known.includes(i));
    if (unknown.length > 0) throw new Error(`${flag} takes ${known.join(', ')}, not "${unknown.join(',')}"`);
    return items;
  };
  const scales = checked(list(values.scale), Object.keys(SCALES), '--scale');
  return {
    scenarios: checked(list(values.scenarios), SCENARIOS, '--scenarios'),
    // Smallest first: a broken setup shows in minutes, not after the long scales.
    scales: scales.sort((a, b) => SCALES[a] - SCALES[b]),
    runs: positiveInt(values.runs, '--runs'),
    queries: positiveInt(values.queries, '--queries'),
    concurrency: ints(values.concurrency, '--concurrency'),
    pgliteScales: checked(list(values['pglite-scales']), Object.keys(SCALES), '--pglite-scales'),
    workers: ints(values.workers, '--workers'),
    ingestionConcurrency: ints(values['ingestion-concurrency'], '--ingestion-concurrency'),
    transportCalls: positiveInt(values['transport-calls'], '--transport-calls'),
    ttftRequests: positiveInt(values['ttft-requests'], '--ttft-requests'),
    out: resolve(REPO_ROOT, values.out),
    dataset: resolve(values.dataset),
  };
}

function progress(text) {
  process.stderr.write(`\n== ${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

/* ---------- measurements on one database ---------- */

/** Heap, index and TOAST bytes of the tables ragnest indexes into, and the bytes of each of their indexes. */
async function relationSizes(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = await client.query(
      `SELECT relname AS table, pg_relation_size(oid)::bigint AS heap, pg_indexes_size(oid)::bigint AS indexes,
              pg_total_relation_size(oid)::bigint AS total
         FROM pg_class WHERE relname = ANY($1) AND relnamespace = 'public'::regnamespace ORDER BY relname`,
      [SIZED_TABLES],
    );
    const indexes = await client.query(
      `SELECT t.relname AS table, i.relname AS index, pg_relation_size(i.oid)::bigint AS bytes
         FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
        WHERE t.relname = ANY($1) AND t.relnamespace = 'public'::regnamespace ORDER BY t.relname, i.relname`,
      [SIZED_TABLES],
    );
    return {
      tables: tables.rows.map((r) => ({
        table: r.table,
        heap: Number(r.heap),
        indexes: Number(r.indexes),
        toast: Number(r.total) - Number(r.heap) - Number(r.indexes),
        total: Number(r.total),
      })),
      indexes: indexes.rows.map((r) => ({ table: r.table, index: r.index, bytes: Number(r.bytes) })),
    };
  } finally {
    await client.end();
  }
}

async function measureFloor(databaseUrl, queries, concurrencies) {
  const floor = await openSearchFloor({ databaseUrl, collection: COLLECTION, serverEnv: BENCH_ENV });
  try {
    const rows = [];
    for (const mode of SEARCH_MODES) {
      for (const c of concurrencies) {
        const row = await floor.measure(mode, c, queries, WARMUP_REQUESTS);
        process.stderr.write(`  SQL floor ${mode} c=${c}: p50 ${row.p50Ms.toFixed(1)} ms\n`);
        rows.push(row);
      }
    }
    return rows;
  } finally {
    await floor.close();
  }
}

/** Per process: RSS at two moments and the peak, in MiB. */
function memoryRows(processes, before, after) {
  return processes.map((p, i) => ({
    process: p.name,
    before: before[i].rss,
    after: after[i].rss,
    peak: after[i].peak,
  }));
}

/** Which endpoints the request runs cover: those asked for, or both when only `distributed` was. */
function endpoints(options) {
  const search = options.scenarios.includes('search');
  const query = options.scenarios.includes('query');
  return search || query ? { search, query } : { search: true, query: true };
}

/**
 * One PostgreSQL run: a fresh database filled through the monolith's API, its sizes, the request runs and
 * the SQL floor on it; then, on the same database, the distributed deployment's request runs.
 */
async function postgresRun(documents, queries, options) {
  const which = endpoints(options);
  const store = await prepareStore('postgres');
  try {
    const result = {};
    const monolith = await startMonolith('postgres', store.env, BENCH_ENV);
    try {
      result.ingestion = await ingest(monolith.baseUrl, documents, { waitForIndex: true });
      result.ingestion.lexicalMergedAfterSeconds = await maintenanceSettled(store.env.DATABASE_URL);
      const afterIngestion = await memoryOf(monolith.processes);
      result.sizes = await relationSizes(store.env.DATABASE_URL);
      result.requests = await measureRequests(monolith.baseUrl, queries, options.concurrency, which);
      result.memory = memoryRows(monolith.processes, afterIngestion, await memoryOf(monolith.processes));
      if (which.search) {
        result.floor = await measureFloor(store.env.DATABASE_URL, queries, options.concurrency);
      }
    } finally {
      await monolith.stop();
    }
    if (options.scenarios.includes('distributed')) {
      progress('distributed deployment on the same database');
      const deployment = await startRagnestDistributed(store.env, BENCH_ENV);
      try {
        const atStart = await memoryOf(deployment.processes);
        const requests = await measureRequests(deployment.baseUrl, queries, options.concurrency, which);
        result.distributed = {
          requests,
          memory: memoryRows(deployment.processes, atStart, await memoryOf(deployment.processes)),
        };
      } finally {
        await deployment.stop();
      }
    }
    return result;
  } finally {
    await store.remove();
  }
}

/**
 * One PGlite run: the monolith on a fresh data directory, filled through its API, then the request runs.
 * PGlite keeps its own default for the HNSW build (none below 50,000 chunks: the build holds its one session
 * for the whole statement), so dense search scans the vectors exactly at the PGlite scales, and the requests
 * start when the documents are indexed, while the lexical merge may still be running.
 */
async function pgliteRun(documents, queries, options) {
  const which = endpoints(options);
  const store = await prepareStore('pglite');
  try {
    const { VECTOR_INDEX_MIN_CHUNKS: _everyScale, ...env } = BENCH_ENV;
    const monolith = await startMonolith('pglite', store.env, env);
    try {
      const ingestion = await ingest(monolith.baseUrl, documents);
      const afterIngestion = await memoryOf(monolith.processes);
      const requests = await measureRequests(monolith.baseUrl, queries, options.concurrency, which);
      const memory = memoryRows(monolith.processes, afterIngestion, await memoryOf(monolith.processes));
      return { ingestion, requests, memory };
    } finally {
      await monolith.stop();
    }
  } finally {
    await store.remove();
  }
}

/* ---------- the whole benchmark ---------- */

async function repeat(runs, label, fn) {
  const results = [];
  for (let run = 1; run <= runs; run++) {
    progress(`${label}, run ${run} of ${runs}`);
    results.push(await fn());
  }
  return results;
}

async function benchScale(scale, base, queries, options) {
  const has = (s) => options.scenarios.includes(s);
  const corpus = scaleCorpus(base, scale);
  const documents = corpus.documents;
  const entry = {
    scale,
    documents: documents.length,
    generatedDocuments: corpus.generated,
    corpusSha256: corpus.sha256,
  };
  progress(`scale ${scale}: ${documents.length} documents (${corpus.generated} generated)`);
  if (has('ingest')) {
    entry.ingest = await repeat(options.runs, `${scale} ingestion`, async () => {
      // `exported` holds the COPY data itself: not for the JSON.
      const { exported: _rows, ...result } = await ingestFloor(documents, options);
      return result;
    });
  }
  if (has('search') || has('query') || has('distributed')) {
    entry.postgres = await repeat(options.runs, `${scale} PostgreSQL search and query`, () =>
      postgresRun(documents, queries, options),
    );
  }
  if (has('pglite') && options.pgliteScales.includes(scale)) {
    entry.pglite = await repeat(options.runs, `${scale} PGlite`, () =>
      pgliteRun(documents, queries, options),
    );
  }
  return entry;
}

/** Stamps the report with its end (time, load average); returns it. */
function finish(report) {
  report.finishedAt = new Date().toISOString();
  report.environment.loadAverageAtEnd = os.loadavg();
  return report;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const has = (s) => options.scenarios.includes(s);
  const startedAt = new Date().toISOString();
  const environment = {
    ...machine(),
    ...(await serverVersions()),
    postgresSettings: (await pgSettings()).settings,
  };
  const { documents: base, queries } = await loadDataset(options.dataset, Infinity, options.queries);
  const report = {
    startedAt,
    environment,
    options: {
      ...options,
      out: relative(REPO_ROOT, options.out),
      dataset: relative(REPO_ROOT, options.dataset),
    },
    corpus: {
      dataset: relative(REPO_ROOT, options.dataset),
      documents: base.length,
      queries: queries.length,
    },
    corpusSeed: CORPUS_SEED,
    serverEnv: BENCH_ENV,
    warmupRequests: WARMUP_REQUESTS,
    scales: [],
  };
  for (const scale of options.scales) {
    report.scales.push(await benchScale(scale, base, queries, options));
    // A checkpoint in bench-results/ after each scale, a whole report up to now: a long run stopped later
    // still keeps what it measured (`report.mjs` renders it, `--add` folds it in). The finished run
    // overwrites it.
    const checkpoint = await writeResults('bench', finish(report));
    progress(`scale ${scale} done, figures so far in ${checkpoint}`);
  }
  if (has('transport')) {
    report.transport = await repeat(options.runs, 'transport', () =>
      benchTransport({ calls: options.transportCalls, concurrency: 8 }),
    );
  }
  if (has('ttft')) {
    report.ttft = await repeat(options.runs, 'time to first token', () =>
      benchTtft({ requests: options.ttftRequests }),
    );
  }
  if (has('pglite-responsiveness')) {
    const runs = await repeat(options.runs, 'PGlite responsiveness during a SciFact ingest', () =>
      benchPgliteResponsiveness(),
    );
    report.pgliteResponsiveness = runs.filter(Boolean);
  }
  if (has('observability')) {
    const { documents } = scaleCorpus(base, options.scales[0]);
    report.observability = await repeat(options.runs, 'observability overhead', () =>
      benchObservability({ documents, queries, concurrency: 8 }),
    );
  }
  finish(report);

  // The JSON goes beside the document (committed with it) and to bench-results/ (kept per run, ignored by git).
  const archived = await writeResults('bench', report);
  const docJson = options.out.replace(/(\.md)?$/, '.json');
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(docJson, `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderReport(report, relative(dirname(options.out), docJson));
  await writeFile(options.out, markdown);
  console.log(markdown);
  console.log(
    `Figures written to ${relative(REPO_ROOT, options.out)}, ${relative(REPO_ROOT, docJson)} and ${archived}`,
  );
}

runMain(import.meta.url, main);
