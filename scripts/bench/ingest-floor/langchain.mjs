// LangChain.js's PGVectorStore on the same chunks and embedder, sequential and with ragnest's parallelism.

import { langchainAddDocuments } from '../langchain-pgvector.mjs';
import { cpuBetween, cpuSnapshot } from './cpu.mjs';
import { createDatabase, dropDatabase, withClient } from './databases.mjs';

/**
 * PGVectorStore.addDocuments with the first run's chunk texts and the same embedder, each time into a
 * fresh database, loaded index-less and indexed after (see langchain-pgvector.mjs): once sequentially
 * (one thread, one call at a time), once with the parallelism of ragnest's fastest run (as many threads as
 * it had ingestion processes, each with its INGESTION_CONCURRENCY calls at a time). It writes no BM25
 * postings, which ragnest's figure includes.
 */
export async function benchLangchain(source, fastest) {
  const { chunks, dimensions } = await withClient(source.url, async (c) => ({
    chunks: (await c.query('SELECT title, text, metadata FROM chunks ORDER BY id')).rows,
    dimensions: (await c.query('SELECT dimensions FROM collections LIMIT 1')).rows[0].dimensions,
  }));
  const shapes = [{ processes: 1, concurrency: 1 }];
  if (fastest.workers * fastest.ingestionConcurrency > 1)
    shapes.push({ processes: fastest.workers, concurrency: fastest.ingestionConcurrency });
  const runs = [];
  for (const shape of shapes) {
    process.stderr.write(
      `\nLangChain.js PGVectorStore.addDocuments, ${shape.processes} thread(s) × ${shape.concurrency}: the same chunks and embedder\n`,
    );
    const db = await createDatabase('langchain');
    try {
      await withClient(db.url, (c) => c.query('CREATE EXTENSION IF NOT EXISTS vector'));
      const before = await cpuSnapshot([]);
      const result = await langchainAddDocuments({ databaseUrl: db.url, chunks, dimensions, ...shape });
      runs.push({ ...result, cpu: cpuBetween(before, await cpuSnapshot([])) });
    } finally {
      await dropDatabase(db);
    }
  }
  return { version: runs[0].version, bm25Postings: false, runs };
}
