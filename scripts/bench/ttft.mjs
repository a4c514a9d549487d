#!/usr/bin/env node
// Time to first token through the gateway: how long a client of `POST /rag/query` with "stream": true
// waits for its first `token` event, next to the model's own first-token time, in one process and with
// every context in its own process over Redis. The model is a fake OpenAI-compatible server
// (libs/testing/src/fake-llm.server.ts) that streams with fixed delays, so what is left is ragnest's own
// cost: understanding, retrieval, re-ranking, the hops, and passing the stream on.
//
// Run: npm run bench:ttft -- [--requests 50] [--first-token-ms 100] [--token-ms 10] [--tokens 20] [--docs 200]
// Needs `npm run build`, PostgreSQL with pgvector at postgres://postgres@127.0.0.1:5432/postgres (or
// BENCH_DATABASE_URL) and Redis at redis://127.0.0.1:6379 (or BENCH_REDIS_URL). Prints Markdown; asserts nothing.

import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  databaseUrl,
  adminQuery,
  fmt,
  loadText,
  machine,
  positiveInt,
  readJsonl,
  REPO_ROOT,
  runMain,
  sleep,
  startDistributed,
  startProcess,
} from './lib.mjs';
import { MALLOC_ENV } from './servers.mjs';

const TARGET_ADDED_MS = 20;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      requests: { type: 'string', default: '50' },
      'first-token-ms': { type: 'string', default: '100' },
      'token-ms': { type: 'string', default: '10' },
      tokens: { type: 'string', default: '20' },
      docs: { type: 'string', default: '200' },
    },
    strict: true,
  });
  return {
    requests: positiveInt(values.requests, '--requests'),
    firstTokenMs: positiveInt(values['first-token-ms'], '--first-token-ms'),
    tokenMs: positiveInt(values['token-ms'], '--token-ms'),
    tokens: positiveInt(values.tokens, '--tokens'),
    docs: positiveInt(values.docs, '--docs'),
  };
}

async function withDatabase(fn) {
  const name = `ragnest_ttft_${process.pid}_${Date.now()}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  try {
    return await fn(databaseUrl(name));
  } finally {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

/**
 * Reads a streamed response: when its first SSE `token` event (or, for the model alone, its first
 * content) arrived, and the `done` event's stage timings if `toEnd`.
 */
async function readStream(res, { modelAlone = false } = {}) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let first;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += value;
      if (
        first === undefined &&
        (modelAlone ? /"content":"[^"]/.test(buffer) : buffer.includes('event: token\n'))
      ) {
        first = performance.now();
        if (modelAlone) break;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  if (first === undefined) throw new Error(`the stream ended without a token:\n${buffer.slice(0, 500)}`);
  const done = /event: done\ndata: (.*)\n/.exec(buffer);
  return { first, timings: done ? JSON.parse(done[1]).timings : undefined };
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { p50: at(0.5), p95: at(0.95), n: sorted.length };
}

const TTFT_DEFAULTS = { requests: 50, firstTokenMs: 100, tokenMs: 10, tokens: 20, docs: 200 };

/**
 * The model alone, the monolith and the distributed deployment, each over `requests` sequential streamed
 * requests: the first-token times in ms (`model`), and per deployment the samples { ttft, timings }.
 */
export async function benchTtft(overrides = {}) {
  const options = { ...TTFT_DEFAULTS, ...overrides };
  const { FakeLlmServer, llmReply } = await import(
    pathToFileURL(join(REPO_ROOT, 'dist/libs/testing/src/fake-llm.server.js')).href
  );
  const llm = await new FakeLlmServer().start();
  try {
    return { options, ...(await measureAll(llm, llmReply, options)) };
  } finally {
    await llm.close();
  }
}

async function measureAll(llm, llmReply, options) {
  const words = Array.from({ length: options.tokens }, (_, i) =>
    i === 0 ? 'According to [1], ' : `word${i} `,
  );
  const script = () =>
    llm.reply(
      llmReply.text(words, { firstTokenDelayMs: options.firstTokenMs, tokenDelayMs: options.tokenMs }),
    );
  const dataset = join(REPO_ROOT, '..', 'shared', 'datasets', 'scifact');
  const corpus = (await readJsonl(join(dataset, 'corpus.jsonl')))
    .slice(0, options.docs)
    .map((d) => ({ id: String(d._id), title: d.title, text: d.text }));
  const queries = (await readJsonl(join(dataset, 'queries.jsonl'))).map((q) => q.text);

  // The model alone: the same request shape straight to the fake server.
  const model = [];
  for (let i = 0; i < options.requests; i++) {
    script();
    const started = performance.now();
    const res = await fetch(`${llm.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake-llm', stream: true, messages: [{ role: 'user', content: 'q' }] }),
    });
    model.push((await readStream(res, { modelAlone: true })).first - started);
  }

  const env = {
    ...MALLOC_ENV,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    LLM_PROVIDER: 'openai',
    LLM_MODEL: 'fake-llm',
    LLM_BASE_URL: llm.openaiBaseUrl,
    LLM_API_KEY: 'bench',
    ANSWER_CACHE_SIZE: '0',
  };
  const measure = async (baseUrl) => {
    const post = (path, body) =>
      fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ingested = await post('/rag/collections/ttft/documents', { documents: corpus });
    if (ingested.status !== 202) throw new Error(`ingest: HTTP ${ingested.status} ${await ingested.text()}`);
    for (;;) {
      const view = await (await fetch(`${baseUrl}/rag/collections/ttft`)).json();
      if (view.documents.indexed + view.documents.failed === corpus.length) break;
      await sleep(100);
    }
    const samples = [];
    for (let i = 0; i < options.requests + 5; i++) {
      script();
      const started = performance.now();
      const res = await post('/rag/query', {
        collection: 'ttft',
        query: queries[i % queries.length],
        stream: true,
      });
      const { first, timings } = await readStream(res);
      // The first few warm the processes up.
      if (i >= 5) samples.push({ ttft: first - started, timings });
    }
    return samples;
  };

  const results = {};
  await withDatabase(async (url) => {
    const server = await startProcess(
      'server',
      'bin/ragnest.js',
      ['serve'],
      { ...process.env, ...env, DATABASE_URL: url },
      '/health/ready',
      'monolith',
    );
    try {
      results.monolith = await measure(server.baseUrl);
    } finally {
      await server.stop();
    }
  });
  await withDatabase(async (url) => {
    const deployment = await startDistributed({
      tag: 'ttft',
      env: { ...env, DATABASE_URL: url },
      services: ['query-understanding', 'retrieval', 'generation', 'presentation'].map((c) => [c, c]),
      label: (name) => `distributed ${name}`,
    });
    try {
      results.distributed = await measure(deployment.baseUrl);
    } finally {
      await deployment.stop();
    }
  });
  return { model, results };
}

async function main() {
  const host = machine();
  const { options, model, results } = await benchTtft(parseOptions(process.argv.slice(2)));
  const m = stats(model);
  console.log(`\n## Time to first token through the gateway\n`);
  console.log(
    `Machine: ${host.cpu} × ${host.cores}; load average ${loadText(host.loadAverageAtStart)} at the start, ` +
      `${loadText(os.loadavg())} at the end`,
  );
  console.log(
    `Fake model: first token after ${options.firstTokenMs} ms, then one every ${options.tokenMs} ms; ${options.requests} sequential streamed /rag/query requests per deployment over ${options.docs} SciFact documents, after 5 warm-up requests.\n`,
  );
  console.log('| path | first token p50 | p95 | added to the model p50 | p95 |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  console.log(`| the model alone | ${fmt(m.p50, 1)} ms | ${fmt(m.p95, 1)} ms | | |`);
  for (const [name, samples] of Object.entries(results)) {
    const s = stats(samples.map((x) => x.ttft));
    console.log(
      `| ${name} | ${fmt(s.p50, 1)} ms | ${fmt(s.p95, 1)} ms | ${fmt(s.p50 - m.p50, 1)} ms | ${fmt(s.p95 - m.p95, 1)} ms |`,
    );
  }
  console.log("\nWhere the time before generation went (p50 of the `done` event's timings):\n");
  console.log('| path | understand | retrieve | re-rank |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [name, samples] of Object.entries(results)) {
    const stage = (key) => fmt(stats(samples.map((x) => x.timings[key])).p50, 1);
    console.log(
      `| ${name} | ${stage('understandMs')} ms | ${stage('retrieveMs')} ms | ${stage('rerankMs')} ms |`,
    );
  }
  const worst = Math.max(...Object.values(results).map((s) => stats(s.map((x) => x.ttft)).p50 - m.p50));
  console.log(
    `\nTarget: under ${TARGET_ADDED_MS} ms added at p50: ${worst < TARGET_ADDED_MS ? 'met' : 'missed'} (worst ${fmt(worst, 1)} ms).`,
  );
}

runMain(import.meta.url, main);
