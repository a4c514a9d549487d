// Ingesting a corpus through the HTTP API as a client would: batches of documents POSTed, then polled until
// none is queued or processing.

import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ingestTimeoutMs, sleep, stopping } from './lib.mjs';

export const COLLECTION = 'bench';
const INGEST_BATCH = 500;
const REQUEST_TIMEOUT_MS = 120_000;
const POLL_MS = 100;
export async function call(baseUrl, method, path, body) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
  });
  const text = await res.text();
  return { status: res.status, text };
}

/* ---------- ingestion ---------- */

/**
 * The ingestion phase's requests. While the server indexes, its event loop can stall for seconds; a
 * keep-alive connection that waited through such a stall may then be reset by the server's idle timer
 * before it reads the request. Ingestion requests are idempotent (documents carry ids), so they are sent
 * again, as an HTTP client library would; the resets and the slowest status poll are reported, since a
 * user sees both.
 */
function ingestionClient(baseUrl) {
  const stats = { resets: 0, slowestPollMs: 0 };
  const send = async (method, path, body) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(baseUrl, method, path, body);
      } catch (error) {
        if (stopping.signal.aborted || attempt === 3 || !isConnectionReset(error)) throw error;
        stats.resets++;
      }
    }
  };
  const poll = async (path) => {
    const t0 = performance.now();
    const res = await send('GET', path);
    stats.slowestPollMs = Math.max(stats.slowestPollMs, performance.now() - t0);
    return res;
  };
  return { stats, send, poll };
}

function isConnectionReset(error) {
  const code = error?.cause?.code;
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE';
}

/**
 * POSTs `documents` and waits until none is queued or processing, and, with `waitForIndex`, until the
 * collection's HNSW index is built (the server must then build it at any size: VECTOR_INDEX_MIN_CHUNKS=1).
 */
export async function ingest(baseUrl, documents, { waitForIndex = false } = {}) {
  const client = ingestionClient(baseUrl);
  const started = performance.now();
  for (let i = 0; i < documents.length; i += INGEST_BATCH) {
    const batch = documents.slice(i, i + INGEST_BATCH);
    const res = await client.send('POST', `/rag/collections/${COLLECTION}/documents`, { documents: batch });
    if (res.status !== 202) {
      throw new Error(`ingesting documents ${i}-${i + batch.length - 1}: HTTP ${res.status} ${res.text}`);
    }
  }
  const postedSeconds = (performance.now() - started) / 1000;
  const view = await waitIndexed(client, started, waitForIndex, ingestTimeoutMs(documents.length));
  const seconds = (performance.now() - started) / 1000;
  return {
    documents: view.documents.indexed,
    failed: view.documents.failed,
    chunks: view.chunks,
    embedding: view.embedding,
    postedSeconds,
    seconds,
    documentsPerSecond: view.documents.indexed / seconds,
    chunksPerSecond: view.chunks / seconds,
    slowestPollMs: client.stats.slowestPollMs,
    connectionResets: client.stats.resets,
  };
}

async function waitIndexed(client, started, waitForIndex, timeoutMs) {
  const path = `/rag/collections/${COLLECTION}`;
  while (performance.now() - started < timeoutMs) {
    const res = await client.poll(path);
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status} ${res.text}`);
    const view = JSON.parse(res.text);
    const indexed = !waitForIndex || view.embedding.index === 'hnsw';
    if (view.documents.queued + view.documents.processing === 0 && indexed) return view;
    await sleep(POLL_MS);
  }
  throw new Error(`ingestion did not finish within ${Math.round(timeoutMs / 60_000)} minutes`);
}

/**
 * Waits until the server has merged every lexical segment into blocks (it does once ingestion is idle,
 * after the HNSW build), then until none of its statements has run on the database for a second (the
 * VACUUMs that follow the merge give the merged segments' space back), so that sizes and searches are of
 * the index as it stays. Returns the seconds until the segments were merged.
 */
export async function maintenanceSettled(databaseUrl, timeoutMs = 600_000) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const started = performance.now();
  const waitFor = async (what, done) => {
    while (!(await done())) {
      if (performance.now() - started > timeoutMs) throw new Error(`${what} within ${timeoutMs / 1000} s`);
      await sleep(200);
    }
  };
  try {
    await waitFor('lexical segments were not merged', async () => {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM lexical_segments');
      return rows[0].n === 0;
    });
    const merged = (performance.now() - started) / 1000;
    let quiet = 0;
    await waitFor('the server did not go quiet', async () => {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`,
      );
      quiet = rows[0].n === 0 ? quiet + 1 : 0;
      return quiet >= 5;
    });
    return merged;
  } finally {
    await client.end();
  }
}
