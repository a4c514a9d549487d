#!/usr/bin/env node
// Ingestion against its floor: how fast ragnest fills PostgreSQL + pgvector through its API, next to how
// fast PostgreSQL itself takes the very same rows with a bare COPY, on a BEIR data set (SciFact).
//
//   - ragnest: the distributed deployment (REDIS_URL set, so ingestion runs on BullMQ) with 1 and with 2
//     ingestion processes, plus the gateway and one process of each other context, at each
//     INGESTION_CONCURRENCY asked for; a fresh database per run. The corpus is POSTed to
//     /rag/collections/bench/documents in batches of 500; the time runs from the first POST until no
//     document is queued or processing.
//   - the floor: the chunks, postings and vectors rows of the first run, read back with COPY … TO STDOUT
//     (in their physical order, which is the order ragnest wrote them), then COPYed FROM STDIN into a fresh
//     database that ragnest migrated. The floor proper does what ragnest does, in the same order: the rows
//     go into tables stripped of their indexes (the chunks → documents foreign key stays), then every index
//     is built, the embedding set's HNSW index with the maintenance_work_mem ragnest's build gets
//     (VECTOR_INDEX_BUILD_MEMORY_MB). ragnest builds that index once, after the load; it keeps its b-tree
//     indexes (postings included) up to date row by row, which the floor, building them in one pass, does
//     not pay: it is a lower bound. Separately, and labelled so, the same rows COPYed into tables that
//     already carry every index, the HNSW one included, which pays for row-by-row HNSW inserts that
//     ragnest never makes: a reference, not the floor. The collection and document rows the chunks
//     reference are copied first, untimed. The lexical (BM25) tables are named in one place, lexicalFloor().
// Besides wall time it takes, per phase, the CPU seconds of each server process, of PostgreSQL (every
// postgres process, backends that exited included) and of Redis, and how busy the machine was as a whole,
// from /proc: that shows where the time goes, and how much of the machine something else was using.
// It prints Markdown and writes the figures to bench-results/ingest-floor-<timestamp>.json; it asserts
// nothing.
//
// Run: npm run bench:ingest -- [--docs N] [--workers 1,2] [--ingestion-concurrency 2,8] [--dataset <beir-dir>]
// Needs `npm run build`, PostgreSQL with pgvector at postgres://postgres@127.0.0.1:5432/postgres (or
// BENCH_DATABASE_URL) on this machine, and Redis at redis://127.0.0.1:6379 (or BENCH_REDIS_URL). Its
// databases and Redis keys are its own and are removed afterwards.

// Its parts live under ingest-floor/, one file per job.

import { existsSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exportRows, floorIndexed, floorThenIndex } from './ingest-floor/copy-floor.mjs';
import { databases, dropDatabase, pgSettings } from './ingest-floor/databases.mjs';

export { pgSettings };
import {
  environment,
  formatComparison,
  formatFloor,
  formatHeader,
  formatRagnest,
} from './ingest-floor/format.mjs';
import { benchLangchain } from './ingest-floor/langchain.mjs';
import { benchRagnest } from './ingest-floor/ragnest.mjs';
import { loadDocuments } from './dataset.mjs';
import { positiveInt, REPO_ROOT, runMain, writeResults } from './lib.mjs';

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      docs: { type: 'string' },
      workers: { type: 'string', default: '1,2' },
      'ingestion-concurrency': { type: 'string', default: '2,8' },
      dataset: { type: 'string', default: join(REPO_ROOT, '..', 'shared', 'datasets', 'scifact') },
    },
    strict: true,
  });
  const list = (text, flag) => [...new Set(text.split(',').map((v) => positiveInt(v.trim(), flag)))];
  return {
    docs: values.docs === undefined ? Infinity : positiveInt(values.docs, '--docs'),
    workers: list(values.workers, '--workers'),
    ingestionConcurrency: list(values['ingestion-concurrency'], '--ingestion-concurrency'),
    dataset: resolve(values.dataset),
  };
}

/**
 * The whole comparison on `documents` (BEIR-shaped { id, title, text, metadata }): ragnest through its
 * API with each number of ingestion processes at each INGESTION_CONCURRENCY, the two bare-COPY floors on
 * the first run's rows, and LangChain.js on its chunks. Every database it made is dropped before it returns.
 */
export async function ingestFloor(documents, { workers = [1, 2], ingestionConcurrency = [2] } = {}) {
  if (!existsSync(join(REPO_ROOT, 'dist/apps/gateway/main.js')))
    throw new Error('the benchmark runs the built apps: run `npm run build` first');
  const runs = [];
  let source;
  try {
    for (const concurrency of ingestionConcurrency) {
      for (const w of workers) {
        const { db, result } = await benchRagnest(documents, w, concurrency);
        runs.push(result);
        // The first run's database is the floor's source; the others go at once.
        if (source) await dropDatabase(db);
        else source = db;
      }
    }
    const rows = await exportRows(source);
    const indexed = await floorIndexed(rows);
    const thenIndex = await floorThenIndex(rows);
    const fastest = runs.reduce((a, b) => (b.chunksPerSecond > a.chunksPerSecond ? b : a));
    const langchain = await benchLangchain(source, fastest);
    return {
      ragnest: runs,
      langchain,
      floor: {
        rows: rows.loaded.map(({ table, rows: n, data }) => ({ table, rows: n, bytes: data.length })),
        indexes: rows.indexes.map(({ name, part, hnsw, create }) => ({ name, part, hnsw, create })),
        judgedAgainst: 'indexLessThenIndexes',
        // The floor ragnest is judged against: index-less COPY, then the index builds, as ragnest does.
        indexLessThenIndexes: thenIndex,
        // A reference only: COPY into tables already carrying every index (HNSW inserts row by row).
        intoIndexedTables: indexed,
      },
      // Kept out of the JSON (the rows themselves): what the Markdown of this script needs.
      exported: rows,
    };
  } finally {
    for (const name of [...databases]) await dropDatabase({ name });
  }
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const documents = await loadDocuments(options.dataset, options.docs);
  const env = environment(options, await pgSettings());
  const { exported: rows, ...result } = await ingestFloor(documents, options);
  const { ragnest: runs, langchain } = result;
  const { intoIndexedTables: indexed, indexLessThenIndexes: thenIndex } = result.floor;
  const loadAtEnd = os.loadavg();
  const report = {
    startedAt,
    environment: { ...env, loadAverageAtEnd: loadAtEnd },
    options: { ...options, docs: documents.length },
    ...result,
  };
  console.log(`\n## Ingestion against the bare-COPY floor\n\n${formatHeader(env, documents, loadAtEnd)}\n`);
  console.log(`${formatRagnest(runs)}\n`);
  console.log(`${formatFloor(rows, indexed, thenIndex)}\n`);
  console.log(`${formatComparison(runs, indexed, thenIndex, langchain)}\n`);
  console.log(`Figures written to ${await writeResults('ingest-floor', report)}`);
}

runMain(import.meta.url, main);
