// The floor: ragnest's rows read back with COPY TO and loaded with a bare COPY FROM into a fresh database,
// index-less then indexed (the floor proper), and into tables that carry every index (a reference).

import { performance } from 'node:perf_hooks';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { INDEX_BUILD_MEMORY_MB } from '../lib.mjs';
import { cpuBetween, cpuSnapshot } from './cpu.mjs';
import { createDatabase, dropDatabase, migrate, withClient } from './databases.mjs';

/**
 * The lexical (BM25) part of the floor: the tables ragnest writes for its postings, with the columns it
 * writes, and how to count the postings. The floor COPYs these tables like the others and rebuilds
 * whatever indexes the migrated catalogue gives them. Blocks as ragnest leaves them once its merges are
 * done (docs/lexical-index.md): the floor writes each posting once, in its final block, where ragnest
 * writes it in a segment first and merges it (and rewrites each term's last block at every merge).
 */
export function lexicalFloor() {
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
export async function exportRows(source) {
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
export async function floorIndexed(rows) {
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
export async function floorThenIndex(rows) {
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
