import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type INestApplication, Logger } from '@nestjs/common';
import {
  ContextName,
  INGESTION_PORT,
  RETRIEVAL_PORT,
  type IngestionPort,
  type RetrievalPort,
} from '#contracts';
import type { AppConfig } from '#platform';

/** How long the warm-up waits for its document to be indexed before it gives up (and the start goes on). */
const WARM_UP_DEADLINE_MS = 15_000;

const TEXT =
  'Retrieval-augmented generation answers a question from documents: the question is embedded, the ' +
  'nearest passages are found by their vectors and by their words, and the answer cites them. ' +
  'An inverted index keeps, for every term, the passages that contain it and how often.';

/**
 * Whether this process warms up before it listens: on the embedded database (PGlite), where each of
 * PostgreSQL's functions is compiled to machine code the first time it runs, hosting the whole path
 * (gateway, ingestion, retrieval), with the local embedder (the warm-up calls no paid or remote API).
 */
export function warmsUp(config: AppConfig): boolean {
  return (
    config.database.url === undefined &&
    config.embeddings.provider === 'hashing' &&
    [ContextName.Gateway, ContextName.Ingestion, ContextName.Retrieval].every((c) => config.contexts.has(c))
  );
}

/**
 * Indexes one short document into a collection of its own, searches it (hybrid: both legs), and deletes it,
 * before the server listens, so that the first requests do not pay for compiling the database's code
 * for those statements (on PGlite the first ingest's insert took 143-210 ms instead of 31-58, and a
 * search sent beside it waited behind it: docs/operations.md). The collection's name is random and
 * nothing can reach the API yet, so no one sees it. A failure is logged and the start goes on.
 * Returns how long it took, or undefined when it failed.
 */
export async function warmUp(app: INestApplication): Promise<number | undefined> {
  const log = new Logger('WarmUp');
  const ingestion = app.get<IngestionPort>(INGESTION_PORT);
  const retrieval = app.get<RetrievalPort>(RETRIEVAL_PORT);
  const collection = `ragnest-warm-up-${randomUUID()}`;
  const started = performance.now();
  try {
    await ingestion.ingest({ collection, documents: [{ id: 'warm-up', text: TEXT, metadata: {} }] });
    const deadline = Date.now() + WARM_UP_DEADLINE_MS;
    for (;;) {
      const { status } = await ingestion.getDocument({ collection, id: 'warm-up' });
      if (status === 'indexed') break;
      if (status === 'failed' || Date.now() > deadline) throw new Error(`its document is ${status}`);
      await sleep(10);
    }
    // Hybrid runs both legs' statements; a dense or sparse search would run the same ones again.
    await retrieval.search({ collection, query: 'how are passages found', mode: 'hybrid', topK: 3 });
    return performance.now() - started;
  } catch (error) {
    log.warn(`warm-up failed, the first requests will be slower: ${(error as Error).message}`);
    return undefined;
  } finally {
    await ingestion.deleteCollection({ collection }).catch(() => undefined);
  }
}
