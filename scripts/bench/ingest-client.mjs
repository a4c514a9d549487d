// Ingesting a corpus through the HTTP API as a client would: batches of documents POSTed, then polled until
// none is queued or processing.

import { performance } from 'node:perf_hooks';
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
