#!/usr/bin/env node
// The cost of observability: hybrid /rag/search requests/s at concurrency 8 with tracing and metrics
// scraping on, beside them off, against the target (on within 5% of off). Three single-binary servers
// on one database filled once: "off" has no OTEL_* variables and nobody scrapes it; "on" exports over
// OTLP/HTTP to a receiver this script runs with ragnest's default sampler (a tenth of new traces,
// parent-based) and is scraped at /metrics every second; "all" is "on" with every request traced
// (OTEL_TRACES_SAMPLER=always_on), what tracing costs per traced request. Their rounds alternate
// (off, on, all, off...) so that the machine's load drifts over all alike. Metrics are recorded in
// memory by all (the counters cannot be turned off): "on" and "all" add the scrapes. A ratio is of the
// summed requests over the summed seconds of each side; the target applies to "on". Beside it, each
// server's own CPU time per request (warm-up included), which the neighbours of a shared machine
// disturb far less than requests/s: what tracing adds to the server's work, PostgreSQL's not counted.
//
// Run: npm run build && node scripts/bench/observability.mjs [--scale 10k] [--queries 300] [--rounds 2]
//        [--concurrency 8]
// Also the `observability` scenario of `npm run bench`. Needs PostgreSQL with pgvector and Redis as
// run.mjs does. Prints Markdown; asserts nothing.

import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCALES, scaleCorpus } from './corpus.mjs';
import { loadDataset } from './dataset.mjs';
import { ingest, maintenanceSettled } from './ingest-client.mjs';
import { measure, WARMUP_REQUESTS } from './requests.mjs';
import { prepareStore, startMonolith } from './servers.mjs';
import { cpuSeconds, fmt, positiveInt, REPO_ROOT, runMain } from './lib.mjs';

/** The bound: with tracing and metrics on, at least this share of the requests/s with them off. */
export const TARGET_RATIO = 0.95;

/** An OTLP/HTTP receiver that takes every export and keeps only counts. */
async function startOtlpSink() {
  const sink = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (chunk) => (sink.bytes += chunk.length));
    req.on('end', () => {
      sink.requests++;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${server.address().port}`;
  sink.close = () => new Promise((resolve) => server.close(resolve));
  return sink;
}

/** Scrapes /metrics every `everyMs` until stopped, as Prometheus would; counts the scrapes. */
function scrapeEvery(baseUrl, everyMs) {
  const state = { scrapes: 0, failures: 0 };
  const timer = setInterval(() => {
    fetch(`${baseUrl}/metrics`)
      .then(async (r) => {
        await r.text();
        if (r.ok) state.scrapes++;
        else state.failures++;
      })
      .catch(() => state.failures++);
  }, everyMs);
  state.stop = () => clearInterval(timer);
  return state;
}

/** One measurement: the corpus ingested once, then `rounds` alternating rounds of each server. */
export async function benchObservability({ documents, queries, rounds = 2, concurrency = 8 }) {
  const store = await prepareStore('postgres');
  const sink = await startOtlpSink();
  const servers = [];
  try {
    const benchEnv = { VECTOR_INDEX_MIN_CHUNKS: '1' };
    const off = await startMonolith('postgres', store.env, benchEnv);
    servers.push(off);
    process.stderr.write(`observability: ingesting ${documents.length} documents\n`);
    const ingestion = await ingest(off.baseUrl, documents, { waitForIndex: true });
    await maintenanceSettled(store.env.DATABASE_URL);
    const traced = { ...benchEnv, DATABASE_MIGRATE: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url };
    const on = await startMonolith('postgres', store.env, { ...traced, OTEL_SERVICE_NAME: 'ragnest-bench' });
    servers.push(on);
    const all = await startMonolith('postgres', store.env, {
      ...traced,
      OTEL_SERVICE_NAME: 'ragnest-bench-all',
      OTEL_TRACES_SAMPLER: 'always_on',
    });
    servers.push(all);
    const scrapers = [scrapeEvery(on.baseUrl, 1000), scrapeEvery(all.baseUrl, 1000)];
    const sides = { off: [], on: [], all: [] };
    try {
      for (let round = 1; round <= rounds; round++) {
        for (const [name, server] of [
          ['off', off],
          ['on', on],
          ['all', all],
        ]) {
          process.stderr.write(`observability: round ${round}, ${name}\n`);
          const pid = server.processes[0].child.pid;
          const cpuBefore = await cpuSeconds(pid);
          const row = await measure(server.baseUrl, '/rag/search', 'hybrid', concurrency, queries);
          const cpu = (await cpuSeconds(pid)) - cpuBefore;
          sides[name].push({ ...row, cpuMsPerRequest: (1000 * cpu) / (row.requests + WARMUP_REQUESTS) });
        }
      }
    } finally {
      for (const scraper of scrapers) scraper.stop();
    }
    const total = (rows) => {
      const requests = rows.reduce((n, r) => n + (r.requests - r.errors), 0);
      const seconds = rows.reduce((n, r) => n + r.seconds, 0);
      const cpuMs = rows.reduce((n, r) => n + r.cpuMsPerRequest, 0) / rows.length;
      return {
        requestsPerSecond: requests / seconds,
        cpuMsPerRequest: cpuMs,
        errors: rows.reduce((n, r) => n + r.errors, 0),
      };
    };
    const offTotal = total(sides.off);
    const onTotal = total(sides.on);
    const allTotal = total(sides.all);
    return {
      documents: documents.length,
      chunks: ingestion.chunks,
      concurrency,
      queries: queries.length,
      rounds,
      off: { ...offTotal, rounds: sides.off },
      on: { ...onTotal, rounds: sides.on, scrapes: scrapers[0].scrapes },
      all: { ...allTotal, rounds: sides.all, scrapes: scrapers[1].scrapes },
      otlpExports: sink.requests,
      otlpBytes: sink.bytes,
      ratio: onTotal.requestsPerSecond / offTotal.requestsPerSecond,
      ratioAll: allTotal.requestsPerSecond / offTotal.requestsPerSecond,
      target: TARGET_RATIO,
    };
  } finally {
    for (const s of servers.reverse()) await s.stop();
    await sink.close();
    await store.remove();
  }
}

/** The figures as a Markdown section. */
export function renderObservability(runs) {
  const lines = ['### Observability overhead', ''];
  if (!runs?.length) return [...lines, 'Not run (scenario `observability`).'].join('\n');
  lines.push(
    '| run | hybrid req/s, tracing + scraping off | on (default sampler, 10%) | on / off | target | all traced | all / off | server CPU ms/request: off, on, all |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |',
  );
  runs.forEach((r, i) =>
    lines.push(
      `| ${i + 1} | ${fmt(r.off.requestsPerSecond, 1)} | ${fmt(r.on.requestsPerSecond, 1)} | ${fmt(r.ratio, 3)} | ≥ ${r.target} ${r.ratio >= r.target ? '(met)' : '(not met)'} | ${fmt(r.all.requestsPerSecond, 1)} | ${fmt(r.ratioAll, 3)} | ${[r.off, r.on, r.all].map((s) => fmt(s.cpuMsPerRequest, 2)).join(', ')} |`,
    ),
  );
  const r = runs[0];
  lines.push(
    '',
    `/rag/search hybrid at concurrency ${r.concurrency}, ${r.queries} queries per round, ${r.rounds} alternating rounds per side, ` +
      `${r.documents} documents (${r.chunks} chunks); "on" and "all" exported ${r.otlpExports} OTLP batches (${fmt(r.otlpBytes / 1024, 0)} KiB) ` +
      `and were scraped ${r.on.scrapes} and ${r.all.scrapes} times (scripts/bench/observability.mjs).`,
    '',
    `Each round's req/s (run 1): ` +
      ['off', 'on', 'all']
        .map((side) => `${side} ${r[side].rounds.map((x) => fmt(x.requestsPerSecond, 1)).join(', ')}`)
        .join('; ') +
      '.',
  );
  return lines.join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '10k' },
      queries: { type: 'string', default: '300' },
      rounds: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '8' },
      dataset: { type: 'string', default: join(REPO_ROOT, '..', 'shared', 'datasets', 'scifact') },
    },
    strict: true,
  });
  if (!(values.scale in SCALES)) throw new Error(`--scale takes ${Object.keys(SCALES).join(', ')}`);
  const { documents: base, queries } = await loadDataset(
    values.dataset,
    Infinity,
    positiveInt(values.queries, '--queries'),
  );
  const { documents } = scaleCorpus(base, values.scale);
  const result = await benchObservability({
    documents,
    queries,
    rounds: positiveInt(values.rounds, '--rounds'),
    concurrency: positiveInt(values.concurrency, '--concurrency'),
  });
  console.log(renderObservability([result]));
}

runMain(import.meta.url, main);
