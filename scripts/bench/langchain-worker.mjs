// One LangChain.js loader for langchain-pgvector.mjs, run in a worker thread as one of ragnest's
// ingestion processes would be: its own PGVectorStore and pool, ragnest's hashing embedder behind
// LangChain's Embeddings interface (so both sides embed identically), `concurrency` addDocuments calls
// at a time over its share of the batches. It says 'ready' once its store is made, loads on 'go', and
// says 'done' (or 'error').

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { Document } from '@langchain/core/documents';
import { Embeddings } from '@langchain/core/embeddings';
import pg from 'pg';
import { REPO_ROOT } from './lib.mjs';

const HASHING_EMBEDDER = join(REPO_ROOT, 'dist/libs/embeddings/src/hashing.embedder.js');

class RagnestEmbeddings extends Embeddings {
  constructor(embedder) {
    super({});
    this.embedder = embedder;
  }

  embedDocuments(texts) {
    return this.embedder.embedDocuments(texts);
  }

  embedQuery(text) {
    return this.embedder.embedQuery(text);
  }
}

async function main() {
  const { databaseUrl, table, dimensions, batchSize, concurrency, batches } = workerData;
  if (!existsSync(HASHING_EMBEDDER))
    throw new Error(`${HASHING_EMBEDDER} is missing: run \`npm run build\` first`);
  const { HashingEmbedder } = await import(pathToFileURL(HASHING_EMBEDDER).href);
  // initialize() holds one client of the pool for the store's lifetime: the calls need their own.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: concurrency + 1 });
  const store = await PGVectorStore.initialize(new RagnestEmbeddings(new HashingEmbedder({ dimensions })), {
    pool,
    tableName: table,
    dimensions,
    distanceStrategy: 'cosine',
    chunkSize: batchSize,
  });
  try {
    await new Promise((go) => {
      parentPort.once('message', (m) => m.type === 'go' && go());
      parentPort.postMessage({ type: 'ready' });
    });
    let next = 0;
    const loop = async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        await store.addDocuments(batch.map((d) => new Document(d)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, loop));
    parentPort.postMessage({ type: 'done' });
  } finally {
    await store.end();
  }
}

main().catch((error) => parentPort.postMessage({ type: 'error', message: error.stack ?? String(error) }));
