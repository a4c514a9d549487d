#!/usr/bin/env node
// LangChain.js's PGVectorStore.addDocuments (@langchain/community) on PostgreSQL + pgvector, as the
// reference next to ragnest's own ingestion rate: the same chunk texts, embedded by the same hashing
// embedder on the same input (title, newline, text), into a table with the same kind of vector index
// (HNSW, cosine, pgvector's default m and ef_construction, on a fixed dimension). It writes vectors only:
// no BM25 postings, which ragnest writes for every chunk as well.
//
// Loaded as a bulk load is best done with it: PGVectorStore has no bulk-load mode of its own (addDocuments
// embeds a call's documents, then INSERTs them `chunkSize` rows a statement, 500 by default, which is
// kept), and pgvector's documentation says to add indexes after loading the initial data, with enough
// maintenance_work_mem for the graph to fit; so the table is loaded index-less and the index is then built
// with PGVectorStore.createHnswIndex, on a session given the same maintenance_work_mem as ragnest's build
// (VECTOR_INDEX_BUILD_MEMORY_MB). The time runs from the first addDocuments call to the end of the build.
// `processes` worker threads (each a Node event loop and its own PGVectorStore and pool, as ragnest's
// ingestion processes are) each run `concurrency` addDocuments calls at a time, so its parallelism can be
// matched to ragnest's INGESTION_CONCURRENCY × ingestion processes.
//
// As a module: `langchainAddDocuments({ databaseUrl, chunks, dimensions, batchSize, processes, concurrency })`
// loads the chunks into a fresh table of the given database, then drops the table.
// Standalone: node scripts/bench/langchain-pgvector.mjs [--docs N] [--dimensions D] [--batch-size B]
//   [--processes P] [--concurrency C] [--dataset <beir-dir>]
// loads one chunk per document of a BEIR corpus (SciFact by default) into a scratch database of
// postgres://postgres@127.0.0.1:5432 (or BENCH_DATABASE_URL) that it drops afterwards.
// Needs `npm run build`: the embedder is ragnest's, from dist/.

import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { Embeddings } from '@langchain/core/embeddings';
import pg from 'pg';
import {
  databaseUrl,
  adminQuery,
  fmt,
  INDEX_BUILD_MEMORY_MB,
  positiveInt,
  readJsonl,
  REPO_ROOT,
  runMain,
  stopping,
} from './lib.mjs';

const DEFAULT_BATCH_SIZE = 500;
// ragnest's dimensions for the hashing embedder when EMBEDDINGS_DIMENSIONS is unset (DEFAULT_HASHING_DIMENSIONS).
const DEFAULT_DIMENSIONS = 384;
const WORKER = new URL('./langchain-worker.mjs', import.meta.url);

export const LANGCHAIN_COMMUNITY_VERSION = createRequire(import.meta.url)(
  '@langchain/community/package.json',
).version;

/** What ragnest embeds for a chunk (embeddingInput in libs/ingestion): its document's title, then its text. */
function embeddingInput(title, text) {
  return title ? `${title}\n${text}` : text;
}

/**
 * createHnswIndex logs a failure and returns as if it had worked; without the index the comparison would
 * flatter LangChain, so its presence is checked.
 */
async function assertCosineHnswIndex(pool, table) {
  const { rows } = await pool.query(
    `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`,
    [table],
  );
  if (!rows.some((r) => /USING hnsw .*vector_cosine_ops/.test(r.indexdef)))
    throw new Error(
      `PGVectorStore.createHnswIndex left no HNSW cosine index on ${table}: ${rows.map((r) => r.indexdef).join('; ')}`,
    );
}

/** Starts a worker thread and resolves once it has made its store, with a `go()` that runs its batches. */
function startWorker(workerData) {
  const worker = new Worker(WORKER, { workerData });
  const message = (type) =>
    new Promise((resolveMessage, reject) => {
      const onMessage = (m) => {
        if (m.type === 'error') reject(new Error(`LangChain worker: ${m.message}`));
        else if (m.type === type) resolveMessage(m);
        else return;
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`LangChain worker exited (${code}) before '${type}'`)));
    });
  const ready = message('ready');
  return ready.then(() => ({
    go: () => {
      const done = message('done');
      worker.postMessage({ type: 'go' });
      return done;
    },
    stop: () => worker.terminate(),
  }));
}

/**
 * Loads `chunks` ({ text, metadata, title }) with PGVectorStore.addDocuments, `batchSize` documents a
 * call, into a fresh index-less table of `databaseUrl`, from `processes` worker threads running
 * `concurrency` calls each; then builds its HNSW cosine index with createHnswIndex. Timed from the first
 * addDocuments call to the end of the build (load and build reported apart too). A document's pageContent
 * is what ragnest embeds (title, newline, text), since LangChain embeds pageContent; the table is dropped
 * afterwards.
 */
export async function langchainAddDocuments({
  databaseUrl,
  chunks,
  dimensions,
  batchSize = DEFAULT_BATCH_SIZE,
  processes = 1,
  concurrency = 1,
  indexBuildMemoryMb = INDEX_BUILD_MEMORY_MB,
}) {
  positiveInt(dimensions, 'dimensions');
  positiveInt(batchSize, 'batchSize');
  positiveInt(processes, 'processes');
  positiveInt(concurrency, 'concurrency');
  if (chunks.length === 0) throw new Error('langchainAddDocuments: no chunks to load');
  const documents = chunks.map((c) => ({
    pageContent: embeddingInput(c.title, c.text),
    metadata: c.metadata ?? {},
  }));
  // Batches dealt round-robin to the workers, as a queue hands jobs to whichever process takes them.
  const shares = Array.from({ length: processes }, () => []);
  for (let i = 0, k = 0; i < documents.length; i += batchSize, k++)
    shares[k % processes].push(documents.slice(i, i + batchSize));
  const table = `langchain_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  // The build session's maintenance_work_mem, as ragnest's build session gets VECTOR_INDEX_BUILD_MEMORY_MB.
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    options: `-c maintenance_work_mem=${positiveInt(indexBuildMemoryMb, 'indexBuildMemoryMb')}MB`,
  });
  const workers = [];
  let store;
  try {
    store = await PGVectorStore.initialize(new NoEmbeddings({}), {
      pool,
      tableName: table,
      dimensions,
      distanceStrategy: 'cosine',
    });
    const common = { databaseUrl, table, dimensions, batchSize, concurrency };
    workers.push(...(await Promise.all(shares.map((batches) => startWorker({ ...common, batches })))));
    stopping.signal.throwIfAborted();

    const started = performance.now();
    await Promise.all(workers.map((w) => w.go()));
    const loaded = performance.now();
    // The index name is not table-qualified by default; the namespace keeps concurrent runs apart.
    await store.createHnswIndex({ dimensions, namespace: table });
    const built = performance.now();
    await assertCosineHnswIndex(pool, table);

    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table}`);
    if (rows[0].n !== documents.length)
      throw new Error(`PGVectorStore stored ${rows[0].n} of ${documents.length} documents`);
    const seconds = (built - started) / 1000;
    return {
      processes,
      concurrency,
      batchSize,
      indexBuiltAfterLoad: true,
      bm25Postings: false,
      chunks: rows[0].n,
      loadSeconds: (loaded - started) / 1000,
      indexSeconds: (built - loaded) / 1000,
      seconds,
      chunksPerSecond: rows[0].n / seconds,
      version: LANGCHAIN_COMMUNITY_VERSION,
    };
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    try {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
    } finally {
      await (store ? store.end() : pool.end());
    }
  }
}

/** The main thread's store only makes the table and builds the index: it never embeds. */
class NoEmbeddings extends Embeddings {
  embedDocuments() {
    throw new Error('the main thread does not embed');
  }

  embedQuery() {
    throw new Error('the main thread does not embed');
  }
}

/* ---------- standalone ---------- */

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      docs: { type: 'string' },
      dimensions: { type: 'string', default: String(DEFAULT_DIMENSIONS) },
      'batch-size': { type: 'string', default: String(DEFAULT_BATCH_SIZE) },
      processes: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '1' },
      dataset: { type: 'string', default: join(REPO_ROOT, '..', 'shared', 'datasets', 'scifact') },
    },
    strict: true,
  });
  return {
    docs: values.docs === undefined ? Infinity : positiveInt(values.docs, '--docs'),
    dimensions: positiveInt(values.dimensions, '--dimensions'),
    batchSize: positiveInt(values['batch-size'], '--batch-size'),
    processes: positiveInt(values.processes, '--processes'),
    concurrency: positiveInt(values.concurrency, '--concurrency'),
    dataset: resolve(values.dataset),
  };
}

/** One chunk per document: enough to measure the store, which never sees how a text was split. */
async function loadChunks(dir, maxDocs) {
  const chunks = (await readJsonl(join(dir, 'corpus.jsonl')))
    .slice(0, maxDocs)
    .map((d) => ({ text: d.text, metadata: d.metadata ?? {}, title: d.title || undefined }));
  if (chunks.length === 0) throw new Error(`${dir}/corpus.jsonl has no documents`);
  return chunks;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const chunks = await loadChunks(options.dataset, options.docs);
  const name = `langchain_bench_${process.pid}_${Date.now()}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  try {
    const db = new pg.Client({ connectionString: databaseUrl(name) });
    await db.connect();
    try {
      await db.query('CREATE EXTENSION vector');
    } finally {
      await db.end();
    }
    process.stderr.write(
      `LangChain.js: loading ${fmt(chunks.length)} chunks from ${relative(REPO_ROOT, options.dataset)}\n`,
    );
    const r = await langchainAddDocuments({
      databaseUrl: databaseUrl(name),
      chunks,
      dimensions: options.dimensions,
      batchSize: options.batchSize,
      processes: options.processes,
      concurrency: options.concurrency,
    });
    console.log(
      `@langchain/community ${r.version} PGVectorStore.addDocuments: ${fmt(r.chunks)} chunks in ` +
        `${fmt(r.seconds, 2)} s = ${fmt(r.chunksPerSecond)} chunks/s (load ${fmt(r.loadSeconds, 2)} s, ` +
        `then HNSW cosine index ${fmt(r.indexSeconds, 2)} s; hashing embedder, ${options.dimensions} dimensions, ` +
        `${options.batchSize} documents a call, ${r.processes} thread(s) × ${r.concurrency} call(s) at a time; ` +
        `vectors only, no BM25 postings)`,
    );
  } finally {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

runMain(import.meta.url, main);
