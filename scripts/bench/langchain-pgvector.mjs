#!/usr/bin/env node
// LangChain.js's PGVectorStore.addDocuments (@langchain/community) on PostgreSQL + pgvector, as the
// reference next to ragnest's own ingestion rate: the same chunk texts, embedded by the same hashing
// embedder on the same input (title, newline, text), into a table carrying the same kind of vector index
// (HNSW, cosine, pgvector's default m and ef_construction, on a fixed dimension), built before loading.
//
// As a module: `langchainAddDocuments({ databaseUrl, chunks, dimensions, batchSize })` loads the chunks into
// a fresh table of the given database, times the addDocuments calls only, then drops the table.
// Standalone: node scripts/bench/langchain-pgvector.mjs [--docs N] [--dimensions D] [--batch-size B] [--dataset <beir-dir>]
// loads one chunk per document of a BEIR corpus (SciFact by default) into a scratch database of
// postgres://postgres@127.0.0.1:5432 (or BENCH_DATABASE_URL) that it drops afterwards.
// Needs `npm run build`: the embedder is ragnest's, from dist/.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { Document } from '@langchain/core/documents';
import { Embeddings } from '@langchain/core/embeddings';
import pg from 'pg';
import {
  ADMIN_DATABASE_URL,
  adminQuery,
  fmt,
  positiveInt,
  readJsonl,
  REPO_ROOT,
  runMain,
  stopping,
} from './lib.mjs';

const HASHING_EMBEDDER = join(REPO_ROOT, 'dist/libs/platform/src/embeddings/hashing.embedder.js');
const DEFAULT_BATCH_SIZE = 500;
// ragnest's dimensions for the hashing embedder when EMBEDDINGS_DIMENSIONS is unset (DEFAULT_HASHING_DIMENSIONS).
const DEFAULT_DIMENSIONS = 384;

export const LANGCHAIN_COMMUNITY_VERSION = createRequire(import.meta.url)(
  '@langchain/community/package.json',
).version;

/** ragnest's hashing embedder behind LangChain's Embeddings interface, so both sides embed identically. */
class RagnestEmbeddings extends Embeddings {
  constructor(embedder) {
    super({});
    this.embedder = embedder;
  }

  embedDocuments(texts) {
    return this.embedder.embedDocuments(texts);
  }

  embedQuery(text) {
    return this.embedder.embedQuery(text);
  }
}

async function hashingEmbedder(dimensions) {
  if (!existsSync(HASHING_EMBEDDER))
    throw new Error(`${relative(REPO_ROOT, HASHING_EMBEDDER)} is missing: run \`npm run build\` first`);
  const { HashingEmbedder } = await import(pathToFileURL(HASHING_EMBEDDER).href);
  return new HashingEmbedder({ dimensions });
}

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

/**
 * Loads `chunks` ({ text, metadata, title }) with PGVectorStore.addDocuments, `batchSize` documents a
 * call, into a fresh table of `databaseUrl` whose HNSW cosine index is built first, as ragnest's is.
 * Only the addDocuments calls are timed, from the first to the end of the last. A document's pageContent
 * is what ragnest embeds (title, newline, text), since LangChain embeds pageContent; the table is dropped
 * afterwards.
 */
export async function langchainAddDocuments({
  databaseUrl,
  chunks,
  dimensions,
  batchSize = DEFAULT_BATCH_SIZE,
}) {
  positiveInt(dimensions, 'dimensions');
  positiveInt(batchSize, 'batchSize');
  if (chunks.length === 0) throw new Error('langchainAddDocuments: no chunks to load');
  const embeddings = new RagnestEmbeddings(await hashingEmbedder(dimensions));
  const documents = chunks.map(
    (c) => new Document({ pageContent: embeddingInput(c.title, c.text), metadata: c.metadata ?? {} }),
  );
  const table = `langchain_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  // Our own pool, handed to the store, so that it is ended even when initialize fails half-way.
  const pool = new pg.Pool({ connectionString: databaseUrl });
  let store;
  try {
    store = await PGVectorStore.initialize(embeddings, {
      pool,
      tableName: table,
      dimensions,
      distanceStrategy: 'cosine',
    });
    // The index name is not table-qualified by default; the namespace keeps concurrent runs apart.
    await store.createHnswIndex({ dimensions, namespace: table });
    await assertCosineHnswIndex(pool, table);

    const started = performance.now();
    for (let i = 0; i < documents.length; i += batchSize) {
      stopping.signal.throwIfAborted();
      await store.addDocuments(documents.slice(i, i + batchSize));
    }
    const seconds = (performance.now() - started) / 1000;

    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table}`);
    if (rows[0].n !== documents.length)
      throw new Error(`PGVectorStore stored ${rows[0].n} of ${documents.length} documents`);
    return {
      chunks: rows[0].n,
      seconds,
      chunksPerSecond: rows[0].n / seconds,
      version: LANGCHAIN_COMMUNITY_VERSION,
    };
  } finally {
    try {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
    } finally {
      await (store ? store.end() : pool.end());
    }
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
      dataset: { type: 'string', default: join(REPO_ROOT, '..', 'shared', 'datasets', 'scifact') },
    },
    strict: true,
  });
  return {
    docs: values.docs === undefined ? Infinity : positiveInt(values.docs, '--docs'),
    dimensions: positiveInt(values.dimensions, '--dimensions'),
    batchSize: positiveInt(values['batch-size'], '--batch-size'),
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
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  try {
    const db = new pg.Client({ connectionString: url.toString() });
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
      databaseUrl: url.toString(),
      chunks,
      dimensions: options.dimensions,
      batchSize: options.batchSize,
    });
    console.log(
      `@langchain/community ${r.version} PGVectorStore.addDocuments: ${fmt(r.chunks)} chunks in ` +
        `${fmt(r.seconds, 2)} s = ${fmt(r.chunksPerSecond)} chunks/s ` +
        `(hashing embedder, ${options.dimensions} dimensions, ${options.batchSize} documents a call, ` +
        `HNSW cosine index built first)`,
    );
  } finally {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

runMain(import.meta.url, main);
