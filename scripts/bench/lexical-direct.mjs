#!/usr/bin/env node
// The lexical index alone, at a scale, without a load through the API (which takes an hour at 1M chunks):
// the benchmark's corpus at --scale (corpus.mjs) is chunked and analysed as ingestion does it (chunkText,
// chunkTerms), and the postings of the terms the SciFact test queries use (only those: they are all the
// queries read) are written as merged blocks straight into `lexical_blocks` of a fresh database, migrated
// by `ragnest serve`, then vacuumed. Each --build's `LexicalIndex.search` (its own dist/) is then run
// against it in this process, the 300 queries one at a time, twice (the second pass with its block cache
// warm), at each --k. Prints JSON lines: the p50, mean and p90 ms of each pass, and this process's CPU ms a
// search. The index has no other term, so the table is smaller than a real one (its b-tree has fewer
// levels), and nothing else runs beside the searches: a floor of the lexical leg, not an API figure.
// With --check, each build's top k of the second pass is compared with exhaustive BM25 over the same
// postings (every posting of the query's terms scored, in the query's term order, ties to the lower
// chunk id, as blockMaxTopK sums them): ids and scores must be equal to the last bit. With --database,
// the searches run on a database an earlier --keep run left (named in its first line), without building
// it again (no --check then: the postings are not in memory).
//
// Run: node --max-old-space-size=8192 scripts/bench/lexical-direct.mjs --scale 1m \
//        --build old=../old --build new=. [--k 10,50] [--check] [--keep] [--database ragnest_lexical_…]
// A build is a checkout with `npm run build` done; this checkout's dist/ writes the index.

import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { scaleCorpus } from './corpus.mjs';
import { loadDataset } from './dataset.mjs';
import { createDatabase, databaseUrl, dataSourceOf, REPO_ROOT, runMain } from './lib.mjs';
import { startMonolith } from './servers.mjs';

const dist = (build, path) => import(pathToFileURL(join(build, 'dist/libs', path)).href);

/** `documents` chunked and analysed; the postings of the `wanted` terms, by term, in chunk-id order. */
async function postingsOf(documents, wanted, chunking) {
  const { englishAnalyzer } = await dist(REPO_ROOT, 'text-analysis/src/index.js');
  const { chunkText } = await dist(REPO_ROOT, 'ingestion/src/domain/chunking/text.chunker.js');
  const { chunkTerms } = await dist(REPO_ROOT, 'ingestion/src/domain/indexed-terms.js');
  // Three plain arrays a term (small integers): a million chunks' postings as objects would not fit the heap.
  const postings = new Map([...wanted].map((t) => [t, { ids: [], tfs: [], lens: [] }]));
  let chunks = 0;
  let tokens = 0;
  for (const d of documents) {
    const titleTerms = d.title ? englishAnalyzer.terms(d.title) : [];
    for (const c of await chunkText(d.text, 'txt', chunking)) {
      const terms = chunkTerms(titleTerms, c.text);
      chunks++;
      tokens += terms.length;
      const tf = new Map();
      for (const t of terms) if (wanted.has(t)) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, f] of tf) {
        const p = postings.get(t);
        p.ids.push(chunks);
        p.tfs.push(f);
        p.lens.push(terms.length);
      }
    }
  }
  return { postings, chunks, tokens };
}

/**
 * Exhaustive BM25 over `runs` (each term's postings in typed arrays): every chunk holding a query term
 * scored term by term in query order, the same expression as blockMaxTopK's; the k best, ties to the
 * lower chunk id. The tests' exhaustiveBm25 (#testing) does the same over Posting objects, which at 1M
 * chunks would not fit the heap.
 */
function exhaustive(runs, terms, scoring, k, chunks) {
  const { k1, b, avgdl } = scoring;
  const sums = new Float64Array(chunks + 1);
  const seen = new Uint8Array(chunks + 1);
  const touched = [];
  for (const [term, weight] of terms) {
    const run = runs.get(term);
    if (!run) continue;
    const df = run.ids.length;
    const idf = weight * Math.log(1 + (Math.max(scoring.chunks, df) - df + 0.5) / (df + 0.5));
    for (let i = 0; i < df; i++) {
      const id = run.ids[i];
      if (!seen[id]) {
        seen[id] = 1;
        touched.push(id);
      }
      const tf = run.tfs[i];
      sums[id] += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * run.lens[i]) / avgdl));
    }
  }
  // The k best by a pass keeping the best k so far, sorted (k is small).
  const best = [];
  const worse = (x, y) => x.score < y.score || (x.score === y.score && x.id > y.id);
  for (const id of touched) {
    const hit = { id, score: sums[id] };
    if (best.length === k && !worse(best[k - 1], hit)) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && worse(best[at - 1], hit)) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = hit;
    if (best.length > k) best.length = k;
  }
  return best;
}

async function main() {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '1m' },
      build: { type: 'string', multiple: true, default: [] },
      k: { type: 'string', default: '10,50' },
      keep: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      database: { type: 'string' },
      dataset: { type: 'string', default: join(REPO_ROOT, '..', 'shared', 'datasets', 'scifact') },
    },
    strict: true,
  });
  const builds = values.build.map((b) => {
    const [name, dir] = b.split('=');
    if (!name || !dir) throw new Error(`--build name=dir, got "${b}"`);
    return { name, dir: resolve(dir) };
  });
  if (builds.length === 0) throw new Error('usage: --scale 1m --build name=dir [--build name=dir ...]');
  const { documents, queries } = await loadDataset(values.dataset, Infinity, 300);
  const platform = await dist(REPO_ROOT, 'platform/src/index.js');
  const { englishAnalyzer, termFrequencies } = await dist(REPO_ROOT, 'text-analysis/src/index.js');
  if (values.database && values.check) throw new Error('--check builds the index: not with --database');
  const database = values.database
    ? { name: values.database, url: databaseUrl(values.database) }
    : await createDatabase('ragnest_lexical');
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    const config = platform.loadConfig({ ...process.env, DATABASE_URL: database.url });
    const queryTerms = queries.map((q) => termFrequencies(englishAnalyzer.terms(q)));
    const db = dataSourceOf(pool);
    const { chunks, tokens, collectionId, runs } = values.database
      ? await builtBefore(db)
      : await build(db, database, {
          documents,
          queryTerms,
          config,
          scale: values.scale,
          check: values.check,
        });
    const scoring = { ...config.retrieval.bm25, chunks, avgdl: tokens / chunks };
    for (const k of values.k.split(',').map(Number))
      for (const build of builds) {
        const { LexicalIndex } = await dist(build.dir, 'search-index/src/index.js');
        const lexical = new LexicalIndex(config);
        for (let pass = 1; pass <= 2; pass++) {
          const times = [];
          const tops = [];
          const cpu = process.cpuUsage();
          for (const terms of queryTerms) {
            const t = performance.now();
            const { hits } = await lexical.search(db, { collectionId, layout: 'blocks', terms, k, scoring });
            times.push(performance.now() - t);
            tops.push(hits);
          }
          const used = process.cpuUsage(cpu);
          times.sort((a, b) => a - b);
          const at = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
          console.log(
            JSON.stringify({
              build: build.name,
              k,
              pass,
              p50Ms: at(0.5),
              meanMs: (times.reduce((a, b) => a + b, 0) / times.length).toFixed(1),
              p90Ms: at(0.9),
              cpuMsPerSearch: ((used.user + used.system) / 1000 / times.length).toFixed(1),
            }),
          );
          if (values.check && pass === 2) {
            const wrong = queryTerms.flatMap((terms, q) => {
              const want = exhaustive(runs, terms, scoring, k, chunks);
              const got = tops[q];
              const same =
                got.length === want.length &&
                got.every((h, i) => h.id === want[i].id && h.score === want[i].score);
              return same ? [] : [q];
            });
            console.log(
              JSON.stringify({
                build: build.name,
                k,
                check: 'exhaustive BM25',
                queries: queryTerms.length,
                wrong,
              }),
            );
          }
        }
      }
  } finally {
    await pool.end();
    if (!values.keep && !values.database) await database.drop();
  }
}

/** What build() wrote in the database's comment. */
async function builtBefore(db) {
  const [row] = await db.query(
    `SELECT shobj_description(oid, 'pg_database') AS built FROM pg_database WHERE datname = current_database()`,
  );
  if (!row?.built) throw new Error('--database: not a database lexical-direct built with --keep');
  return JSON.parse(row.built);
}

/**
 * A fresh database, migrated, with the postings of the query terms over the corpus at `scale` written as
 * merged blocks; its chunk and token counts and collection id kept in its comment for --database.
 */
async function build(db, database, { documents, queryTerms, config, scale, check }) {
  const { encodeBlocks } = await dist(REPO_ROOT, 'search-index/src/lexical/posting-block.js');
  const { insertBlocks } = await dist(REPO_ROOT, 'search-index/src/lexical/lexical-rows.js');
  // `ragnest serve` migrates the database, then stops.
  await (await startMonolith('postgres', { DATABASE_URL: database.url })).stop();
  const wanted = new Set(queryTerms.flatMap((m) => [...m.keys()]));
  const started = performance.now();
  const corpus = scaleCorpus(documents, scale).documents;
  const { postings, chunks, tokens } = await postingsOf(corpus, wanted, config.chunking);
  const collectionId = randomUUID();
  let blocks = 0;
  /** Each term's postings, for --check. */
  const runs = new Map();
  for (const [term, p] of postings) {
    const run = {
      ids: Float64Array.from(p.ids),
      tfs: Uint32Array.from(p.tfs),
      lens: Uint32Array.from(p.lens),
    };
    if (check) runs.set(term, run);
    const termBlocks = encodeBlocks(run).map((b) => ({ ...b, term }));
    await insertBlocks(db, collectionId, termBlocks);
    blocks += termBlocks.length;
    postings.set(term, null);
  }
  await db.query('VACUUM ANALYZE lexical_blocks');
  const built = { chunks, tokens, collectionId };
  await db.query(`COMMENT ON DATABASE ${database.name} IS '${JSON.stringify(built)}'`);
  console.log(
    JSON.stringify({
      scale,
      chunks,
      queryTerms: wanted.size,
      blocks,
      database: database.name,
      builtSeconds: Math.round((performance.now() - started) / 1000),
    }),
  );
  return { ...built, runs };
}

runMain(import.meta.url, main);
