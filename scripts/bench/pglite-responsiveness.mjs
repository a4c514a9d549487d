#!/usr/bin/env node
// Does the single binary keep answering while it ingests? `ragnest serve` on the embedded PGlite (no
// DATABASE_URL, no REDIS_URL: what `npm start` runs), the SciFact corpus POSTed through the API in batches
// of 500, and beside the ingest, until every document is indexed:
//   - GET /health/live every 100 ms (one at a time), its latency;
//   - POST /rag/search (hybrid, topK 10) every 250 ms (one at a time) with SciFact test queries;
//   - the server's resident memory (VmRSS, and the peak VmHWM) after start and after the ingest.
// Targets (issue 20): /health/live p99 < 50 ms, /rag/search p99 < 300 ms, RSS < 400 MB. It prints the
// figures with a verdict against each target and writes them to bench-results/pglite-responsiveness-*.json.
//
// Run: npm run bench:pglite-responsiveness -- [--docs N] [--dataset <beir-dir>]
// The data set defaults to /work/shared/datasets/scifact, or BENCH_SCIFACT_DIR.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fmt, machine, memoryMiB, percentile, positiveInt, runMain, sleep, writeResults } from './lib.mjs';
import { COLLECTION, ingest, loadDataset, prepareStore, startMonolith } from './ingest-search.mjs';

const DEFAULT_DATASET = process.env.BENCH_SCIFACT_DIR ?? '/work/shared/datasets/scifact';
const LIVE_EVERY_MS = 100;
const SEARCH_EVERY_MS = 250;
const TARGETS = { liveP99Ms: 50, searchP99Ms: 300, rssMiB: 400 };

/** Sends `request` every `everyMs`, one at a time, until `done` resolves; the latency of each. */
async function probe(everyMs, done, request) {
  const samples = [];
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  let i = 0;
  while (!finished) {
    const started = performance.now();
    let ok = false;
    try {
      ok = await request(i++);
    } catch {
      ok = false;
    }
    const ms = performance.now() - started;
    samples.push({ ms, ok });
    await sleep(Math.max(0, everyMs - ms));
  }
  return samples;
}

function stats(samples) {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    n: samples.length,
    failed: samples.filter((s) => !s.ok).length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

async function main() {
  const { values } = parseArgs({
    options: { docs: { type: 'string' }, dataset: { type: 'string', default: DEFAULT_DATASET } },
  });
  const startedAt = new Date().toISOString();
  const maxDocs = values.docs ? positiveInt(values.docs, '--docs') : undefined;
  const { documents, queries } = await loadDataset(values.dataset, maxDocs, 300);
  const store = await prepareStore('pglite');
  const server = await startMonolith('pglite', store.env);
  try {
    await sleep(1_000);
    const afterStart = await memoryMiB(server.processes[0].child.pid);
    process.stderr.write(
      `pglite: RSS ${fmt(afterStart.rss)} MiB after start; ingesting ${documents.length} documents\n`,
    );
    const ingestion = ingest(server.baseUrl, documents);
    const live = probe(LIVE_EVERY_MS, ingestion, async () => {
      const res = await fetch(`${server.baseUrl}/health/live`);
      await res.arrayBuffer();
      return res.ok;
    });
    const search = probe(SEARCH_EVERY_MS, ingestion, async (i) => {
      const res = await fetch(`${server.baseUrl}/rag/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          collection: COLLECTION,
          query: queries[i % queries.length],
          topK: 10,
          mode: 'hybrid',
        }),
      });
      await res.arrayBuffer();
      // Before the first batch is stored the collection does not exist yet: a quick 404 is an answer.
      return res.ok || res.status === 404;
    });
    const ingested = await ingestion;
    const afterIngest = await memoryMiB(server.processes[0].child.pid);
    const report = {
      startedAt,
      machine: machine(),
      documents: documents.length,
      ingestion: { seconds: ingested.seconds, chunks: ingested.chunks, failed: ingested.failed },
      live: stats(await live),
      search: stats(await search),
      memoryMiB: { afterStart, afterIngest },
      targets: TARGETS,
    };
    const verdict = (value, target) => `${fmt(value, 1)} ${value < target ? '(< ' : '(NOT < '}${target})`;
    console.log(`\n## PGlite responsiveness during a SciFact ingest (${documents.length} documents)\n`);
    console.log(`ingest: ${report.ingestion.chunks} chunks in ${fmt(report.ingestion.seconds, 1)} s`);
    console.log(
      '\n| probe | n | failed | p50 ms | p95 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const [name, s] of [
      [`GET /health/live every ${LIVE_EVERY_MS} ms`, report.live],
      [`POST /rag/search every ${SEARCH_EVERY_MS} ms`, report.search],
    ]) {
      console.log(
        `| ${name} | ${s.n} | ${s.failed} | ${fmt(s.p50, 1)} | ${fmt(s.p95, 1)} | ${fmt(s.p99, 1)} | ${fmt(s.max, 1)} |`,
      );
    }
    console.log(`\n/health/live p99 ${verdict(report.live.p99, TARGETS.liveP99Ms)} ms`);
    console.log(`/rag/search p99 ${verdict(report.search.p99, TARGETS.searchP99Ms)} ms`);
    console.log(
      `RSS after start ${fmt(afterStart.rss)} MiB, after the ingest ${verdict(afterIngest.rss, TARGETS.rssMiB)} MiB ` +
        `(peak ${fmt(afterIngest.peak)} MiB)`,
    );
    const path = await writeResults('pglite-responsiveness', report);
    console.log(`\nfigures: ${path}`);
    return report;
  } finally {
    await server.stop();
    await store.remove();
  }
}

runMain(import.meta.url, main);
