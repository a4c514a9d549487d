import { Presets, SingleBar } from 'cli-progress';
import type { IngestionPort, IngestItem } from '#contracts';

export interface IngestSummary {
  queued: number;
  unchanged: number;
  indexed: number;
  failed: { id: string; error: string }[];
  seconds: number;
}

const BATCH = 500;

/**
 * Sends documents in batches, then follows the collection's counters until every queued document is
 * indexed or failed, with a progress bar (documents/s and time left) on a terminal.
 */
export async function ingestDocuments(
  ingestion: IngestionPort,
  collection: string,
  documents: IngestItem[],
  options: { progress: boolean; pollMs?: number },
): Promise<IngestSummary> {
  const started = Date.now();
  const queuedIds: string[] = [];
  let unchanged = 0;
  for (let i = 0; i < documents.length; i += BATCH) {
    const { documents: statuses } = await ingestion.ingest({
      collection,
      documents: documents.slice(i, i + BATCH),
    });
    for (const s of statuses) {
      if (s.status === 'queued') queuedIds.push(s.id);
      else unchanged++;
    }
  }
  const bar = options.progress
    ? new SingleBar(
        {
          format: 'indexing [{bar}] {value}/{total} docs | {rate} docs/s | ETA {eta_formatted}',
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(queuedIds.length, 0, { rate: '0' });
  for (;;) {
    const view = await ingestion.getCollection({ collection });
    const pending = view.documents.queued + view.documents.processing;
    const done = Math.max(0, queuedIds.length - pending);
    const rate = done / Math.max((Date.now() - started) / 1000, 0.001);
    bar?.update(done, { rate: rate.toFixed(0) });
    if (pending === 0) break;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
  }
  bar?.stop();
  const failed: IngestSummary['failed'] = [];
  let indexed = 0;
  for (const id of queuedIds) {
    const doc = await ingestion.getDocument({ collection, id });
    if (doc.status === 'failed') failed.push({ id, error: doc.error ?? 'unknown error' });
    else indexed++;
  }
  return { queued: queuedIds.length, unchanged, indexed, failed, seconds: (Date.now() - started) / 1000 };
}
