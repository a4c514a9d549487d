#!/usr/bin/env node
// Does the single binary keep answering while it ingests? `ragnest serve` on the embedded PGlite (no
// DATABASE_URL, no REDIS_URL: what `npm start` runs), the SciFact corpus POSTed through the API in batches
// of 500, and beside the ingest, until every document is indexed:
//   - GET /health/live every 100 ms (one at a time), its latency;
//   - POST /rag/search (hybrid, topK 10) every 250 ms (one at a time) with SciFact test queries;
//   - the server's resident memory (VmRSS) after start, right after the ingest and 30 s later (once the
//     lexical merges that follow a load are done), and its peak (VmHWM) over the whole run.
// Targets (issue 20): /health/live p99 < 50 ms, /rag/search p99 < 300 ms, RSS < 400 MiB. It prints the
// figures with a verdict against each target and writes them to bench-results/pglite-responsiveness-*.json.
//
// Run: npm run bench:pglite-responsiveness -- [--docs N] [--dataset <beir-dir>]
// The data set defaults to /work/shared/datasets/scifact, or BENCH_SCIFACT_DIR.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fmt, machine, memoryMiB, percentile, positiveInt, runMain, sleep, writeResults } from './lib.mjs';
import { loadDataset } from './dataset.mjs';
import { COLLECTION, ingest } from './ingest-client.mjs';
import { prepareStore, startMonolith } from './servers.mjs';

const DEFAULT_DATASET = process.env.BENCH_SCIFACT_DIR ?? '/work/shared/datasets/scifact';
const LIVE_EVERY_MS = 100;
const SEARCH_EVERY_MS = 250;
const TARGETS = { liveP99Ms: 50, searchP99Ms: 300, rssMiB: 400 };
/** After the ingest, the lexical merges run (a few seconds of garbage), then V8's memory reducer. */
const SETTLE_MS = 30_000;

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

/**
 * One run: the figures, printed as a table by main() and kept by run.mjs (scenario
 * `pglite-responsiveness`). `docs` limits the corpus; undefined when the data set is absent.
 */
export async function benchPgliteResponsiveness({ docs, dataset = DEFAULT_DATASET } = {}) {
  if (!existsSync(join(dataset, 'corpus.jsonl'))) {
    process.stderr.write(`pglite-responsiveness: skipped, no SciFact corpus at ${dataset}\n`);
    return undefined;
  }
  const startedAt = new Date().toISOString();
  const { documents, queries } = await loadDataset(dataset, docs, 300);
  const store = await prepareStore('pglite');
  const server = await startMonolith('pglite', store.env);
  const pid = server.processes[0].child.pid;
  try {
    await sleep(1_000);
    const afterStart = await memoryMiB(pid);
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
    const afterIngest = await memoryMiB(pid);
    await sleep(SETTLE_MS);
    const settled = await memoryMiB(pid);
    return {
      startedAt,
      machine: machine(),
      documents: documents.length,
      ingestion: { seconds: ingested.seconds, chunks: ingested.chunks, failed: ingested.failed },
      live: { everyMs: LIVE_EVERY_MS, ...stats(await live) },
      search: { everyMs: SEARCH_EVERY_MS, ...stats(await search) },
      memoryMiB: { afterStart, afterIngest, settled, settleMs: SETTLE_MS },
      targets: TARGETS,
    };
  } finally {
    await server.stop();
    await store.remove();
  }
}

/** The figures of one run as Markdown, with a verdict against each target. */
export function renderResponsiveness(report) {
  const verdict = (value, target) => `${fmt(value, 1)} ${value < target ? '(< ' : '(NOT < '}${target})`;
  const { afterStart, afterIngest, settled, settleMs } = report.memoryMiB;
  return [
    `ingest: ${report.documents} documents, ${report.ingestion.chunks} chunks in ${fmt(report.ingestion.seconds, 1)} s`,
    '',
    '| probe | n | failed | p50 ms | p95 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...[
      [`GET /health/live every ${report.live.everyMs} ms`, report.live],
      [`POST /rag/search every ${report.search.everyMs} ms`, report.search],
    ].map(
      ([name, s]) =>
        `| ${name} | ${s.n} | ${s.failed} | ${fmt(s.p50, 1)} | ${fmt(s.p95, 1)} | ${fmt(s.p99, 1)} | ${fmt(s.max, 1)} |`,
    ),
    '',
    `/health/live p99 ${verdict(report.live.p99, report.targets.liveP99Ms)} ms; ` +
      `/rag/search p99 ${verdict(report.search.p99, report.targets.searchP99Ms)} ms; ` +
      `RSS after start ${verdict(afterStart.rss, report.targets.rssMiB)} MiB, after the ingest ` +
      `${verdict(afterIngest.rss, report.targets.rssMiB)} MiB, ${settleMs / 1000} s later ` +
      `${verdict(settled.rss, report.targets.rssMiB)} MiB (peak ${fmt(settled.peak)} MiB)`,
  ].join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: { docs: { type: 'string' }, dataset: { type: 'string', default: DEFAULT_DATASET } },
  });
  const docs = values.docs ? positiveInt(values.docs, '--docs') : undefined;
  const report = await benchPgliteResponsiveness({ docs, dataset: values.dataset });
  if (!report) return;
  console.log(`\n## PGlite responsiveness during a SciFact ingest\n\n${renderResponsiveness(report)}`);
  console.log(`\nfigures: ${await writeResults('pglite-responsiveness', report)}`);
}

runMain(import.meta.url, main);
