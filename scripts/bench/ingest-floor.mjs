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

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import {
  ADMIN_DATABASE_URL,
  fmt,
  INDEX_BUILD_MEMORY_MB,
  loadText,
  machine,
  positiveInt,
  REPO_ROOT,
  runMain,
  startDistributed,
  startProcess,
  writeResults,
} from './lib.mjs';
import { ingest, loadDocuments } from './ingest-search.mjs';
import { langchainAddDocuments } from './langchain-pgvector.mjs';

/** The contexts started once each beside the ingestion processes and the gateway. */
const OTHER_CONTEXTS = ['query-understanding', 'generation', 'presentation', 'retrieval'];
/**
 * The lexical (BM25) part of the floor: the tables ragnest writes for its postings, with the columns it
 * writes, and how to count the postings. The floor COPYs these tables like the others and rebuilds
 * whatever indexes the migrated catalogue gives them. Blocks as ragnest leaves them once its merges are
 * done (docs/lexical-index.md): the floor writes each posting once, in its final block, where ragnest
 * writes it in a segment first and merges it (and rewrites each term's last block at every merge).
 */
function lexicalFloor() {
  return {
    tables: [
      {
        table: 'lexical_blocks',
        columns: 'collection_id, term, last_chunk, first_chunk, postings, max_tf, min_len, data',
        part: 'lexical',
      },
    ],
    countPostings: async (client) =>
      (await client.query('SELECT coalesce(sum(postings), 0)::int AS n FROM lexical_blocks')).rows[0].n,
  };
}

/**
 * The tables ragnest fills while indexing, with the columns it writes (chunk ids kept: postings and
 * vectors point at them), in the order it writes them within a batch: chunks, postings, vectors.
 */
const LOADED_TABLES = [
  {
    table: 'chunks',
    columns: 'id, collection_id, document_id, position, title, text, metadata, token_count, terms',
    part: 'chunks',
  },
  ...lexicalFloor().tables,
  { table: 'chunk_vectors', columns: 'set_id, chunk_id, embedding', part: 'dense' },
];
/** What the chunks reference, copied untimed before the timed COPYs. */
const REFERENCED_TABLES = ['collections', 'documents', 'embedding_sets'];
const TARGET_CHUNKS_PER_SECOND = 2000;
const TARGET_RATIO = 1.5;
const PG_SETTINGS = [
  'shared_buffers',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'synchronous_commit',
  'fsync',
  'wal_level',
  'autovacuum',
];
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/* ---------- options ---------- */

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

/* ---------- databases ---------- */

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const databases = new Set();

async function createDatabase(tag) {
  const name = `ragnest_floor_${process.pid}_${tag}_${Date.now()}`;
  await withClient(ADMIN_DATABASE_URL, (c) => c.query(`CREATE DATABASE ${name}`));
  databases.add(name);
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

async function dropDatabase(db) {
  await withClient(ADMIN_DATABASE_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`));
  databases.delete(db.name);
}

export async function pgSettings() {
  const { rows } = await withClient(ADMIN_DATABASE_URL, (c) =>
    c.query(`SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1) ORDER BY name`, [PG_SETTINGS]),
  );
  const version = await withClient(ADMIN_DATABASE_URL, (c) =>
    c.query(`SELECT current_setting('server_version') AS server, default_version AS vector
               FROM pg_available_extensions WHERE name = 'vector'`),
  );
  return {
    server: version.rows[0]?.server,
    pgvector: version.rows[0]?.vector,
    settings: Object.fromEntries(rows.map((r) => [r.name, `${r.setting}${r.unit ?? ''}`])),
  };
}

/** The indexes of the loaded tables, each with the statement that rebuilds it (a primary key as a constraint). */
async function loadedTableIndexes(client) {
  const { rows } = await client.query(
    `SELECT t.relname AS table, ic.relname AS name, pg_get_indexdef(i.indexrelid) AS indexdef,
            con.conname AS constraint, pg_get_constraintdef(con.oid) AS constraintdef
       FROM pg_index i
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_class ic ON ic.oid = i.indexrelid
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype = 'p'
      WHERE t.relname = ANY($1) AND t.relnamespace = 'public'::regnamespace
      ORDER BY t.relname, ic.relname`,
    [LOADED_TABLES.map((t) => t.table)],
  );
  const partOf = new Map(LOADED_TABLES.map((t) => [t.table, t.part]));
  return rows.map((r) => ({
    table: r.table,
    part: partOf.get(r.table),
    hnsw: /\bUSING hnsw\b/.test(r.indexdef),
    name: r.name,
    drop: r.constraint ? `ALTER TABLE ${r.table} DROP CONSTRAINT ${r.constraint}` : `DROP INDEX ${r.name}`,
    create: r.constraint
      ? `ALTER TABLE ${r.table} ADD CONSTRAINT ${r.constraint} ${r.constraintdef}`
      : r.indexdef,
    definition: r.indexdef,
  }));
}

/* ---------- CPU accounting from /proc ---------- */

async function procStat(pid) {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  // Fields after the command name, from field 3 (state) on: ppid is 4, utime..cstime are 14-17.
  const f = text.slice(close + 2).split(' ');
  return {
    pid,
    comm,
    ppid: Number(f[1]),
    own: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS,
    children: (Number(f[13]) + Number(f[14])) / CLOCK_TICKS,
  };
}

/**
 * CPU seconds used so far by every process named `comm`, with the children they reaped: PostgreSQL's
 * backends exit with their connections, and their time then shows on the postmaster.
 */
async function cpuOfCommand(comm) {
  const stats = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = await procStat(Number(entry));
      if (s.comm === comm) stats.push(s);
    } catch {
      // The process ended between readdir and read.
    }
  }
  const pids = new Set(stats.map((s) => s.pid));
  return stats.reduce((sum, s) => sum + s.own + (pids.has(s.ppid) ? 0 : s.children), 0);
}

/** Busy and total CPU seconds of the whole machine so far (iowait counts as idle). */
async function machineCpu() {
  const [line] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: (total - ticks[3] - ticks[4]) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

async function cpuSnapshot(processes) {
  const [machine, postgres, redis, own] = await Promise.all([
    machineCpu(),
    cpuOfCommand('postgres'),
    cpuOfCommand('redis-server'),
    Promise.all(processes.map(async (p) => ({ name: p.name, seconds: (await procStat(p.child.pid)).own }))),
  ]);
  return { machine, postgres, redis, processes: own, bench: process.cpuUsage(), at: performance.now() };
}

/** What each part used between two snapshots; `other` is the machine's busy time nobody here accounts for. */
function cpuBetween(before, after) {
  const processes = after.processes.map((p, i) => ({
    name: p.name,
    seconds: p.seconds - before.processes[i].seconds,
  }));
  const bench = (after.bench.user + after.bench.system - before.bench.user - before.bench.system) / 1e6;
  const postgres = after.postgres - before.postgres;
  const redis = after.redis - before.redis;
  const busy = after.machine.busy - before.machine.busy;
  const accounted = processes.reduce((s, p) => s + p.seconds, 0) + postgres + redis + bench;
  return {
    wallSeconds: (after.at - before.at) / 1000,
    cores: os.cpus().length,
    busy,
    machineBusyShare: busy / (after.machine.total - before.machine.total),
    processes,
    postgres,
    redis,
    bench,
    other: Math.max(0, busy - accounted),
  };
}

/** The distributed deployment with `workers` ingestion processes and one process of each other context. */
function startRagnest(db, workers, concurrency) {
  return startDistributed({
    tag: 'floor',
    env: {
      DATABASE_URL: db.url,
      INGESTION_CONCURRENCY: String(concurrency),
      // The HNSW index is always built (and timed), however few documents --docs asks for.
      VECTOR_INDEX_MIN_CHUNKS: '1',
      VECTOR_INDEX_BUILD_MEMORY_MB: String(INDEX_BUILD_MEMORY_MB),
    },
    services: [
      ...Array.from({ length: workers - 1 }, (_, i) => [`ingestion-${i + 2}`, 'ingestion']),
      ...OTHER_CONTEXTS.map((context) => [context, context]),
    ],
  });
}

/** Runs ragnest's migrations on a database: one monolith started on it until ready, then stopped. */
async function migrate(db) {
  const env = { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_URL: db.url };
  delete env.REDIS_URL;
  const server = await startProcess('migrate', 'bin/ragnest.js', ['serve'], env, '/health/ready');
  await server.stop();
}

/* ---------- ragnest ingestion ---------- */

async function benchRagnest(documents, workers, concurrency) {
  const label = `${workers} ingestion process${workers > 1 ? 'es' : ''}, INGESTION_CONCURRENCY=${concurrency}`;
  process.stderr.write(`\nragnest, ${label}: starting the servers\n`);
  const db = await createDatabase(`w${workers}c${concurrency}`);
  let deployment;
  try {
    deployment = await startRagnest(db, workers, concurrency);
    process.stderr.write(`ragnest, ${label}: ingesting ${documents.length} documents\n`);
    const loadBefore = os.loadavg();
    const before = await cpuSnapshot(deployment.processes);
    const ingestion = await ingest(deployment.baseUrl, documents, { waitForIndex: true });
    const cpu = cpuBetween(before, await cpuSnapshot(deployment.processes));
    const postings = await withClient(db.url, (c) => lexicalFloor().countPostings(c));
    process.stderr.write(
      `ragnest, ${label}: ${ingestion.chunks} chunks in ${fmt(ingestion.seconds, 1)} s ` +
        `(${fmt(ingestion.chunksPerSecond)} chunks/s)\n`,
    );
    return {
      db,
      result: {
        workers,
        ingestionConcurrency: concurrency,
        ...ingestion,
        postings,
        cpu,
        loadAverage: { before: loadBefore, after: os.loadavg() },
      },
    };
  } catch (error) {
    await dropDatabase(db);
    throw error;
  } finally {
    await deployment?.stop();
  }
}

/* ---------- the floor: bare COPY ---------- */

async function copyOut(client, sql) {
  const parts = [];
  await pipeline(
    client.query(copyTo(sql)),
    new Writable({
      write(chunk, _encoding, done) {
        parts.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(parts);
}

async function copyIn(client, sql, data) {
  const t0 = performance.now();
  await pipeline(Readable.from([data]), client.query(copyFrom(sql)));
  return (performance.now() - t0) / 1000;
}

/** The rows to load, read back from the database ragnest filled, in the order they were written. */
async function exportRows(source) {
  return withClient(source.url, async (c) => {
    const referenced = [];
    for (const table of REFERENCED_TABLES) {
      referenced.push({ table, data: await copyOut(c, `COPY ${table} TO STDOUT`) });
    }
    const loaded = [];
    for (const { table, columns, part } of LOADED_TABLES) {
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${table}`);
      const data = await copyOut(c, `COPY (SELECT ${columns} FROM ${table}) TO STDOUT`);
      loaded.push({ table, columns, part, rows: rows[0].n, data });
    }
    return { referenced, loaded, indexes: await loadedTableIndexes(c) };
  });
}

/**
 * A fresh database migrated by ragnest, holding the referenced rows, with the indexes ragnest made at run
 * time (the embedding set's HNSW index) made too; its indexes are checked against the source's.
 */
async function prepareTarget(tag, rows) {
  const db = await createDatabase(tag);
  try {
    await migrate(db);
    await withClient(db.url, async (c) => {
      const migrated = new Set((await loadedTableIndexes(c)).map((i) => i.name));
      for (const index of rows.indexes) if (!migrated.has(index.name)) await c.query(index.create);
      const indexes = await loadedTableIndexes(c);
      const want = rows.indexes.map((i) => i.definition).join('\n');
      const have = indexes.map((i) => i.definition).join('\n');
      if (want !== have)
        throw new Error(
          `a freshly migrated database has other indexes than ragnest's:\n${have}\nvs\n${want}`,
        );
      for (const { table, data } of rows.referenced) await copyIn(c, `COPY ${table} FROM STDIN`, data);
      await c.query(`ANALYZE ${REFERENCED_TABLES.join(', ')}`);
    });
    return db;
  } catch (error) {
    await dropDatabase(db);
    throw error;
  }
}

async function copyLoadedTables(client, rows, steps) {
  for (const { table, columns, part, rows: n, data } of rows.loaded) {
    const seconds = await copyIn(client, `COPY ${table} (${columns}) FROM STDIN`, data);
    steps.push({ step: `COPY ${table}`, part, rows: n, bytes: data.length, seconds });
  }
}

/**
 * A reference, not the floor: COPY into tables that already carry every index, the embedding set's HNSW
 * index included, so each vector is inserted into the graph row by row, which ragnest never does (it
 * builds that index once the load is done).
 */
async function floorIndexed(rows) {
  process.stderr.write('\nreference: COPY into indexed tables (HNSW maintained row by row)\n');
  const db = await prepareTarget('copy_indexed', rows);
  try {
    return await withClient(db.url, async (c) => {
      const steps = [];
      const before = await cpuSnapshot([]);
      await copyLoadedTables(c, rows, steps);
      return { steps, cpu: cpuBetween(before, await cpuSnapshot([])) };
    });
  } finally {
    await dropDatabase(db);
  }
}

/** Index builds in the order ragnest's tables are written (chunks, lexical, dense), HNSW last. */
const BUILD_ORDER = ['chunks', 'lexical', 'dense'];
const buildRank = (i) => (i.hnsw ? BUILD_ORDER.length : BUILD_ORDER.indexOf(i.part));

/**
 * The floor: COPY into tables stripped of their indexes (the foreign key stays), then each index built in
 * one pass. An HNSW build gets the maintenance_work_mem ragnest's build session gets
 * (VECTOR_INDEX_BUILD_MEMORY_MB, INDEX_BUILD_MEMORY_MB here and in startRagnest), reset afterwards; the
 * other builds run at the server's setting, as ragnest's sessions do. ragnest builds its HNSW index
 * CONCURRENTLY (ingestion into other collections goes on meanwhile); the floor builds it plainly, a
 * little cheaper, so what that costs is counted in ragnest's overhead.
 */
async function floorThenIndex(rows) {
  process.stderr.write('floor: COPY into index-less tables, then the index builds\n');
  const db = await prepareTarget('copy_then_index', rows);
  try {
    return await withClient(db.url, async (c) => {
      for (const index of rows.indexes) await c.query(index.drop);
      const steps = [];
      const before = await cpuSnapshot([]);
      await copyLoadedTables(c, rows, steps);
      const builds = [...rows.indexes].sort((a, b) => buildRank(a) - buildRank(b));
      for (const index of builds) {
        if (index.hnsw) await c.query(`SET maintenance_work_mem = '${INDEX_BUILD_MEMORY_MB}MB'`);
        const t0 = performance.now();
        await c.query(index.create);
        steps.push({
          step: `build ${index.name}`,
          part: index.part,
          seconds: (performance.now() - t0) / 1000,
        });
        if (index.hnsw) await c.query('RESET maintenance_work_mem');
      }
      return { steps, cpu: cpuBetween(before, await cpuSnapshot([])) };
    });
  } finally {
    await dropDatabase(db);
  }
}

/* ---------- LangChain.js ---------- */

/**
 * PGVectorStore.addDocuments with the first run's chunk texts and the same embedder, each time into a
 * fresh database, loaded index-less and indexed after (see langchain-pgvector.mjs): once sequentially
 * (one thread, one call at a time), once with the parallelism of ragnest's fastest run (as many threads as
 * it had ingestion processes, each with its INGESTION_CONCURRENCY calls at a time). It writes no BM25
 * postings, which ragnest's figure includes.
 */
async function benchLangchain(source, fastest) {
  const { chunks, dimensions } = await withClient(source.url, async (c) => ({
    chunks: (await c.query('SELECT title, text, metadata FROM chunks ORDER BY id')).rows,
    dimensions: (await c.query('SELECT dimensions FROM collections LIMIT 1')).rows[0].dimensions,
  }));
  const shapes = [{ processes: 1, concurrency: 1 }];
  if (fastest.workers * fastest.ingestionConcurrency > 1)
    shapes.push({ processes: fastest.workers, concurrency: fastest.ingestionConcurrency });
  const runs = [];
  for (const shape of shapes) {
    process.stderr.write(
      `\nLangChain.js PGVectorStore.addDocuments, ${shape.processes} thread(s) × ${shape.concurrency}: the same chunks and embedder\n`,
    );
    const db = await createDatabase('langchain');
    try {
      await withClient(db.url, (c) => c.query('CREATE EXTENSION IF NOT EXISTS vector'));
      const before = await cpuSnapshot([]);
      const result = await langchainAddDocuments({ databaseUrl: db.url, chunks, dimensions, ...shape });
      runs.push({ ...result, cpu: cpuBetween(before, await cpuSnapshot([])) });
    } finally {
      await dropDatabase(db);
    }
  }
  return { version: runs[0].version, bm25Postings: false, runs };
}

/* ---------- report ---------- */

const total = (steps) => steps.reduce((s, x) => s + x.seconds, 0);

function environment(options, postgres) {
  return { ...machine(), dataset: relative(REPO_ROOT, options.dataset) || '.', postgres };
}

function formatHeader(env, documents, loadAtEnd) {
  const settings = Object.entries(env.postgres.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return [
    `Machine: ${env.cpu} × ${env.cores}, ${fmt(env.memoryGiB, 1)} GiB RAM, ${env.platform}; ` +
      `load average ${loadText(env.loadAverageAtStart)} at start, ${loadText(loadAtEnd)} at the end`,
    `Node ${env.node}; PostgreSQL ${env.postgres.server}, pgvector ${env.postgres.pgvector} (${settings})`,
    `Command: \`${env.command}\``,
    `Data set: ${env.dataset} (${fmt(documents.length)} documents)`,
  ].join('\n');
}

function cpuColumns(cpu) {
  const sum = (prefix) =>
    cpu.processes.filter((p) => p.name.startsWith(prefix)).reduce((s, p) => s + p.seconds, 0);
  const ingestion = sum('ingestion-');
  const gateway = sum('gateway');
  const others = cpu.processes.reduce((s, p) => s + p.seconds, 0) - ingestion - gateway;
  return [ingestion, gateway, others, cpu.postgres, cpu.redis, cpu.bench, cpu.other].map((s) => fmt(s, 1));
}

function formatRagnest(runs) {
  const lines = [
    '### ragnest through its API (distributed, BullMQ; one process of each other context and the gateway)',
    '',
    'From the first POST until no document is queued or processing and the HNSW index is built; CPU seconds over the same window.',
    '',
    '| ingestion processes | INGESTION_CONCURRENCY | documents | chunks | postings | s | documents/s | chunks/s | ' +
      'all POSTed at s | machine busy | CPU s: ingestion | gateway | other contexts | postgres | redis | bench client | unaccounted | load avg 1 min before → after |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of runs) {
    lines.push(
      `| ${r.workers} | ${r.ingestionConcurrency} | ${fmt(r.documents)}${r.failed ? ` (${r.failed} failed)` : ''} | ` +
        `${fmt(r.chunks)} | ${fmt(r.postings)} | ${fmt(r.seconds, 1)} | ${fmt(r.documentsPerSecond, 1)} | ` +
        `${fmt(r.chunksPerSecond)} | ${fmt(r.postedSeconds, 1)} | ${fmt(100 * r.cpu.machineBusyShare)} % | ` +
        `${cpuColumns(r.cpu).join(' | ')} | ${r.loadAverage.before[0].toFixed(2)} → ${r.loadAverage.after[0].toFixed(2)} |`,
    );
  }
  const resets = runs.filter((r) => r.connectionResets > 0);
  for (const r of resets) {
    lines.push(
      '',
      `(${r.workers} × ${r.ingestionConcurrency}: ${r.connectionResets} connection(s) reset and retried)`,
    );
  }
  return lines.join('\n');
}

function formatFloor(rows, indexed, thenIndex) {
  const chunks = rows.loaded.find((t) => t.table === 'chunks').rows;
  const stepRows = (label, result) =>
    result.steps.map(
      (s) =>
        `| ${label} | ${s.step} | ${s.part ?? ''} | ${s.rows === undefined ? '' : fmt(s.rows)} | ` +
        `${s.bytes === undefined ? '' : fmt(s.bytes / 1024 ** 2, 1)} | ${fmt(s.seconds, 2)} | ` +
        `${s.rows === undefined ? '' : fmt(s.rows / s.seconds)} |`,
    );
  const totalRow = (label, result) =>
    `| ${label} | **total** | | | | **${fmt(total(result.steps), 2)}** | **${fmt(chunks / total(result.steps))} chunks/s** |`;
  const cpuLine = (label, cpu) =>
    `${label}: PostgreSQL ${fmt(cpu.postgres, 1)} CPU s, this client ${fmt(cpu.bench, 1)}, ` +
    `unaccounted ${fmt(cpu.other, 1)}; machine ${fmt(100 * cpu.machineBusyShare)} % busy over ${fmt(cpu.wallSeconds, 1)} s.`;
  const floor = '**floor**: index-less, then the index builds';
  const reference = 'reference: into indexed tables';
  return [
    '### The floor: bare COPY of the same rows (text format, one connection, each COPY its own transaction)',
    '',
    "Rows read back from the 1st run's database; collections and documents copied first, untimed; the chunks → documents foreign key is kept in both cases. " +
      `The floor does ragnest's work in ragnest's order: COPY into index-less tables, then every index built, the HNSW one with maintenance_work_mem = ${INDEX_BUILD_MEMORY_MB} MB as ragnest's build (VECTOR_INDEX_BUILD_MEMORY_MB). ` +
      'The reference COPYs into tables that already carry every index, HNSW included (row-by-row graph inserts, which ragnest does not make): it is not the floor.',
    '',
    '| case | step | part | rows | MiB | s | rows/s |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: |',
    ...stepRows(floor, thenIndex),
    totalRow(floor, thenIndex),
    ...stepRows(reference, indexed),
    totalRow(reference, indexed),
    '',
    cpuLine('Floor (index-less then indexes)', thenIndex.cpu),
    cpuLine('Reference (into indexed tables)', indexed.cpu),
  ].join('\n');
}

function formatComparison(runs, indexed, thenIndex, langchain) {
  const floorSeconds = total(thenIndex.steps);
  const indexedSeconds = total(indexed.steps);
  const lines = [
    '### ragnest against the floor',
    '',
    `Target: at least ${fmt(TARGET_CHUNKS_PER_SECOND)} chunks/s and at most ${TARGET_RATIO}× the floor (bare COPY into index-less tables, then the index builds).`,
    '',
    '| path | chunks/s | vs 2,000 chunks/s | s / floor s | s / reference (COPY into indexed tables) s |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of runs) {
    lines.push(
      `| ragnest, ${r.workers} ingestion process${r.workers > 1 ? 'es' : ''} × INGESTION_CONCURRENCY=${r.ingestionConcurrency} | ` +
        `${fmt(r.chunksPerSecond)} | ${fmt(r.chunksPerSecond / TARGET_CHUNKS_PER_SECOND, 2)}× | ` +
        `${fmt(r.seconds / floorSeconds, 1)}× | ${fmt(r.seconds / indexedSeconds, 1)}× |`,
    );
  }
  for (const l of langchain.runs) {
    lines.push(
      `| LangChain.js ${l.version} PGVectorStore.addDocuments, ${l.processes} thread${l.processes > 1 ? 's' : ''} × ${l.concurrency}, ` +
        `HNSW built after the load (vectors only: **no BM25 postings**) | ${fmt(l.chunksPerSecond)} | ` +
        `${fmt(l.chunksPerSecond / TARGET_CHUNKS_PER_SECOND, 2)}× | ${fmt(l.seconds / floorSeconds, 1)}× | ` +
        `${fmt(l.seconds / indexedSeconds, 1)}× |`,
    );
  }
  const best = runs.reduce((a, b) => (b.chunksPerSecond > a.chunksPerSecond ? b : a));
  const ratio = best.seconds / floorSeconds;
  const speed =
    best.chunksPerSecond >= TARGET_CHUNKS_PER_SECOND
      ? `meets the ${fmt(TARGET_CHUNKS_PER_SECOND)} chunks/s target`
      : `misses the ${fmt(TARGET_CHUNKS_PER_SECOND)} chunks/s target by ${fmt(TARGET_CHUNKS_PER_SECOND / best.chunksPerSecond, 1)}× ` +
        `(${fmt(TARGET_CHUNKS_PER_SECOND - best.chunksPerSecond)} chunks/s short)`;
  const floor =
    ratio <= TARGET_RATIO
      ? `is within ${TARGET_RATIO}× the floor (${fmt(ratio, 2)}×)`
      : `takes ${fmt(ratio, 1)}× the floor's time against at most ${TARGET_RATIO}×: ` +
        `${fmt(ratio / TARGET_RATIO, 1)}× too slow (it would need ${fmt(TARGET_RATIO * floorSeconds, 1)} s, not ${fmt(best.seconds, 1)} s)`;
  const matched = langchain.runs.find(
    (l) => l.processes === best.workers && l.concurrency === best.ingestionConcurrency,
  );
  lines.push(
    '',
    `Best run (${best.workers} ingestion process${best.workers > 1 ? 'es' : ''}, INGESTION_CONCURRENCY=${best.ingestionConcurrency}): ` +
      `${fmt(best.chunksPerSecond)} chunks/s ${speed}; it ${floor}` +
      (matched
        ? `; ${fmt(best.chunksPerSecond / matched.chunksPerSecond, 2)}× LangChain.js's ${fmt(matched.chunksPerSecond)} chunks/s at the same parallelism, ` +
          'which writes vectors only while ragnest also writes the BM25 postings.'
        : '.'),
  );
  return lines.join('\n');
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
