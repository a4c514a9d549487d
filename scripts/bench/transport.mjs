#!/usr/bin/env node
// Transport benchmark: what one hop between contexts costs, over the in-process transport (the monolith)
// and over Redis Streams (the distributed deployment), with the built transport classes and nothing else.
//
// A server of context `retrieval` echoes its payload back (`retrieval.echo`); a client calls it
// `--calls` times (2,000 by default) with a ~100 B payload (a search request) and a ~20 KB one (a search
// response of ten hits), one call at a time and then `--concurrency` calls at once (8 by default), after
// warm-up calls. It prints p50/p95/p99 latency and calls/s per case, and the Redis-minus-in-process
// latencies as the cost per hop. Client and server share this process, so the Redis figures include both
// ends' work on one event loop, as a hop between two busy processes would not; Redis itself is local.
// It asserts nothing.
//
// Run: npm run build && node scripts/bench/transport.mjs [--calls N] [--concurrency N]
// Redis must be reachable at redis://127.0.0.1:6379, or at BENCH_REDIS_URL; the run's keys live under a
// prefix of their own and are deleted afterwards.

import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { firstValueFrom } from 'rxjs';
import { deleteRedisKeys, loadText, machine, REDIS_URL, REPO_ROOT, runMain } from './lib.mjs';

const TRANSPORT = join(REPO_ROOT, 'dist/libs/transport/src/index.js');
const CONTEXT = 'retrieval';
const PATTERN = `${CONTEXT}.echo`;
const DEADLINE_MS = 5_000;
const WARMUP_CALLS = 200;
const FIRST_CALL_TIMEOUT_MS = 10_000;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      calls: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '8' },
    },
    strict: true,
  });
  return {
    calls: positiveInt(values.calls, '--calls'),
    concurrency: positiveInt(values.concurrency, '--concurrency'),
  };
}

function positiveInt(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a positive integer, not "${text}"`);
  return n;
}

/* ---------- payloads ---------- */

/** Deterministic filler text, so every run sends the same bytes. */
function words(count, seed) {
  const vocabulary = ['protein', 'cell', 'expression', 'patients', 'increased', 'risk', 'study', 'gene'];
  return Array.from({ length: count }, (_, i) => vocabulary[(i * 7 + seed) % vocabulary.length]).join(' ');
}

/** What a search request carries. */
const SMALL = {
  collection: 'bench',
  query: 'does vitamin d supplementation reduce the risk of fractures',
  topK: 10,
};

/** What a search response carries: ten hits with their chunk text and metadata. */
const LARGE = {
  hits: Array.from({ length: 10 }, (_, i) => ({
    chunkId: `doc-${i}#0`,
    documentId: `doc-${i}`,
    score: 1 / (i + 1),
    title: words(12, i),
    text: words(250, i),
    metadata: { source: 'scifact', year: 2000 + i },
  })),
};

const PAYLOADS = [
  { name: '~100 B', payload: SMALL },
  { name: '~20 KB', payload: LARGE },
];

function envelope(payload) {
  return { meta: { requestId: randomUUID(), deadline: Date.now() + DEADLINE_MS }, payload };
}

/* ---------- transports ---------- */

function echo(server) {
  server.addHandler(PATTERN, async (data) => data);
}

function listen(server) {
  return new Promise((resolvePromise, reject) =>
    server.listen((error) => (error ? reject(error) : resolvePromise())),
  );
}

async function inProcessPair(transport) {
  const server = new transport.InProcessServer();
  echo(server);
  await listen(server);
  const client = new transport.InProcessClient(server);
  return { client, close: async () => Promise.all([client.close(), server.close()]) };
}

async function redisStreamsPair(transport) {
  const prefix = `ragnest-bench-transport-${process.pid}-${randomBytes(4).toString('hex')}`;
  const server = new transport.RedisStreamsServer({ url: REDIS_URL, context: CONTEXT, prefix });
  const client = new transport.RedisStreamsClient({ url: REDIS_URL, prefix });
  const close = async () => {
    try {
      await client.close();
      await server.close();
    } finally {
      await deleteRedisKeys(prefix);
    }
  };
  try {
    echo(server);
    await listen(server);
    await firstSuccessfulCall(client);
    return { client, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The client answers "no live replica" until it reads the server's heartbeat. */
async function firstSuccessfulCall(client) {
  const until = Date.now() + FIRST_CALL_TIMEOUT_MS;
  for (;;) {
    try {
      return await call(client, SMALL);
    } catch (error) {
      if (Date.now() >= until)
        throw new Error(`no call succeeded within ${FIRST_CALL_TIMEOUT_MS} ms`, { cause: error });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/* ---------- runs ---------- */

function call(client, payload) {
  return firstValueFrom(client.send(PATTERN, envelope(payload)));
}

/** `calls` calls with `concurrency` of them in flight at any time; latency of each, in ms. */
async function run(client, payload, calls, concurrency) {
  let next = 0;
  const latencies = [];
  const worker = async () => {
    while (next < calls) {
      next++;
      const t0 = performance.now();
      await call(client, payload);
      latencies.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    calls,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    callsPerSecond: calls / seconds,
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function measureTransport(name, pair, options) {
  const rows = [];
  try {
    for (const concurrency of [1, options.concurrency]) {
      for (const { name: size, payload } of PAYLOADS) {
        await run(pair.client, payload, WARMUP_CALLS, concurrency);
        const row = {
          transport: name,
          payload: size,
          concurrency,
          ...(await run(pair.client, payload, options.calls, concurrency)),
        };
        process.stderr.write(`  ${name} ${size} c=${concurrency}: p50 ${fmt(row.p50Ms, 3)} ms\n`);
        rows.push(row);
      }
    }
  } finally {
    await pair.close();
  }
  return rows;
}

/* ---------- report ---------- */

function fmt(n, digits) {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function formatRuns(rows) {
  return [
    '| transport | payload | concurrency | calls | p50 ms | p95 ms | p99 ms | calls/s |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.transport} | ${r.payload} | ${r.concurrency} | ${r.calls} | ${fmt(r.p50Ms, 3)} | ` +
        `${fmt(r.p95Ms, 3)} | ${fmt(r.p99Ms, 3)} | ${fmt(r.callsPerSecond, 0)} |`,
    ),
  ].join('\n');
}

function formatCostPerHop(inProcess, redis) {
  const lines = [
    '| payload | concurrency | cost per hop p50 ms | p95 ms | p99 ms |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of redis) {
    const base = inProcess.find((i) => i.payload === r.payload && i.concurrency === r.concurrency);
    lines.push(
      `| ${r.payload} | ${r.concurrency} | ${fmt(r.p50Ms - base.p50Ms, 3)} | ${fmt(r.p95Ms - base.p95Ms, 3)} | ` +
        `${fmt(r.p99Ms - base.p99Ms, 3)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Every case over both transports: `calls` calls one at a time and then `concurrency` at once, per
 * payload. Returns the envelopes' sizes and the rows of each transport.
 */
export async function benchTransport({ calls = 2000, concurrency = 8 } = {}) {
  if (!existsSync(TRANSPORT))
    throw new Error('the benchmark imports the built transport: run `npm run build` first');
  const transport = await import(pathToFileURL(TRANSPORT).href);
  const envelopeBytes = Object.fromEntries(
    PAYLOADS.map(({ name, payload }) => [name, JSON.stringify(envelope(payload)).length]),
  );
  const options = { calls, concurrency };
  const inProcess = await measureTransport('in-process', await inProcessPair(transport), options);
  const redis = await measureTransport('redis-streams', await redisStreamsPair(transport), options);
  return { warmupCalls: WARMUP_CALLS, envelopeBytes, inProcess, redis };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const m = machine();
  const { envelopeBytes, inProcess, redis } = await benchTransport(options);
  const bytes = Object.entries(envelopeBytes).map(([name, n]) => `${name} = ${n} B`);
  console.log(
    [
      '',
      '## Transport benchmark',
      '',
      `Machine: ${m.cpu} × ${m.cores}; load average at start ${loadText(m.loadAverageAtStart)}; Node ${m.node}`,
      `Calls: ${options.calls} per case after ${WARMUP_CALLS} warm-up calls; envelopes ${bytes.join(', ')}; Redis ${REDIS_URL}`,
      '',
      formatRuns([...inProcess, ...redis]),
      '',
      'Cost per hop (Redis Streams minus in-process, same payload and concurrency):',
      '',
      formatCostPerHop(inProcess, redis),
    ].join('\n'),
  );
}

runMain(import.meta.url, main);
