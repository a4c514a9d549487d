// Timed request runs against a server: /rag/search in each mode and /rag/query at each concurrency.

import { call, COLLECTION } from './ingest-client.mjs';
import { fmt, runLoad, summarise } from './lib.mjs';

export const WARMUP_REQUESTS = 20;
export const SEARCH_MODES = ['sparse', 'dense', 'hybrid'];
export async function measure(baseUrl, endpoint, mode, concurrency, queries) {
  const body = (query) =>
    endpoint === '/rag/search'
      ? { collection: COLLECTION, query, topK: 10, mode }
      : { collection: COLLECTION, query };
  const send = (query) => call(baseUrl, 'POST', endpoint, body(query));
  const warmup = Array.from({ length: WARMUP_REQUESTS }, (_, i) => queries[i % queries.length]);
  await runLoad(warmup, concurrency, send);
  const row = summarise(endpoint, mode, concurrency, await runLoad(queries, concurrency, send));
  process.stderr.write(
    `  ${endpoint} ${mode} c=${concurrency}: p50 ${fmt(row.p50Ms, 1)} ms, ${fmt(row.requestsPerSecond, 1)} req/s\n`,
  );
  for (const e of row.errorSamples) process.stderr.write(`    error: ${e}\n`);
  return row;
}

/** /rag/search in each mode and /rag/query at each concurrency; `search` or `query` false leaves one out. */
export async function measureRequests(baseUrl, queries, concurrencies, { search = true, query = true } = {}) {
  const rows = [];
  for (const mode of search ? SEARCH_MODES : []) {
    for (const c of concurrencies) rows.push(await measure(baseUrl, '/rag/search', mode, c, queries));
  }
  for (const c of query ? concurrencies : []) {
    rows.push(await measure(baseUrl, '/rag/query', 'hybrid', c, queries));
  }
  return rows;
}
