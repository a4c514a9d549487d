#!/usr/bin/env node
// Where the single binary's memory goes on PGlite, and what it costs in time: `ragnest serve` on a fresh
// embedded PGlite (what `npm start` runs), the SciFact corpus POSTed through the API, then
//   - RSS 2 s after start, right after the ingest, 45 s later (at rest: merges done, V8's heap shrunk), and
//     after the 300 SciFact test queries were searched in each mode, one at a time, after a warm-up;
//   - the ingest's time, and each mode's /rag/search p50 / p99.
// It was written to compare ways of compiling PGlite's WebAssembly (docs/operations.md, "The embedded
// database"): to compare builds, run it from a checkout of each, in alternation.
//
// Run: npm run build && node scripts/bench/pglite-memory.mjs [--rounds N] [--dataset <beir-dir>]
import { parseArgs } from 'node:util';
import { loadDataset } from './dataset.mjs';
import { ingest } from './ingest-client.mjs';
import { fmt, memoryMiB, positiveInt, runMain, sleep } from './lib.mjs';
import { measure } from './requests.mjs';
import { prepareStore, startMonolith } from './servers.mjs';

const DEFAULT_DATASET = process.env.BENCH_SCIFACT_DIR ?? '/work/shared/datasets/scifact';
const REST_MS = 45_000;

async function round(documents, queries) {
  const store = await prepareStore('pglite');
  const server = await startMonolith('pglite', store.env, {});
  const pid = server.processes[0].child.pid;
  try {
    await sleep(2_000);
    const rss = { start: (await memoryMiB(pid)).rss };
    const ingested = await ingest(server.baseUrl, documents);
    rss.ingested = (await memoryMiB(pid)).rss;
    await sleep(REST_MS);
    rss.rest = (await memoryMiB(pid)).rss;
    const latency = {};
    for (const mode of ['hybrid', 'sparse', 'dense']) {
      const row = await measure(server.baseUrl, '/rag/search', mode, 1, queries);
      if (row.errors > 0) throw new Error(`/rag/search ${mode}: ${row.errorSamples.join('; ')}`);
      latency[mode] = `${fmt(row.p50Ms, 1)} / ${fmt(row.p99Ms, 1)}`;
    }
    rss.searched = (await memoryMiB(pid)).rss;
    return { ingestSeconds: ingested.seconds, rss, latency };
  } finally {
    await server.stop();
    await store.remove();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '1' },
      dataset: { type: 'string', default: DEFAULT_DATASET },
    },
  });
  const { documents, queries } = await loadDataset(values.dataset, undefined, 300);
  console.log(
    '| round | ingest s | RSS MiB: start / ingested / at rest / after searches | p50 / p99 ms: hybrid; sparse; dense |',
  );
  console.log('| ---: | ---: | ---: | --- |');
  for (let r = 1; r <= positiveInt(values.rounds, '--rounds'); r++) {
    const { ingestSeconds, rss, latency } = await round(documents, queries);
    console.log(
      `| ${r} | ${fmt(ingestSeconds, 1)} | ${[rss.start, rss.ingested, rss.rest, rss.searched].map((v) => fmt(v)).join(' / ')} | ` +
        `${latency.hybrid}; ${latency.sparse}; ${latency.dense} |`,
    );
  }
}

runMain(import.meta.url, main);
