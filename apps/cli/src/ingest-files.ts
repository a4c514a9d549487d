import { Presets, SingleBar } from 'cli-progress';
import type { IngestionPort, IngestItem } from '#contracts';

export interface IngestSummary {
  queued: number;
  unchanged: number;
  indexed: number;
  failed: { id: string; error: string }[];
  /**
   * The most documents seen stalled (pending with no progress past INGESTION_STALL_AFTER_MS) while
   * waiting: above 0, ingestion stopped moving for a while, even if the reconciler then repaired it.
   */
  stalled: number;
  seconds: number;
}

const BATCH = 500;

/**
 * Sends documents in batches, then follows the collection's counters until every queued document is
 * indexed or failed, with a progress bar (documents/s and time left) on a terminal.
 */
export async function ingestDocuments(
  ingestion: Pick<IngestionPort, 'ingest' | 'getCollection' | 'getDocument'>,
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
          format: 'indexing [{bar}] {value}/{total} docs | {rate} docs/s | ETA {eta_formatted}{stalled}',
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(queuedIds.length, 0, { rate: '0', stalled: '' });
  let stalled = 0;
  for (;;) {
    const view = await ingestion.getCollection({ collection });
    const pending = view.documents.queued + view.documents.processing;
    const done = Math.max(0, queuedIds.length - pending);
    const rate = done / Math.max((Date.now() - started) / 1000, 0.001);
    const nowStalled = view.stalled?.documents ?? 0;
    // Said once, when it first happens, so a wait that does not end is never silent.
    if (nowStalled > 0 && stalled === 0 && !bar) {
      process.stderr.write(
        `${nowStalled} document(s) pending with no progress for over ${view.stalled!.afterMs} ms; ` +
          'ragnest re-queues them (see docs/ingestion.md)\n',
      );
    }
    stalled = Math.max(stalled, nowStalled);
    bar?.update(done, { rate: rate.toFixed(0), stalled: nowStalled > 0 ? ` | ${nowStalled} stalled` : '' });
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
  return {
    queued: queuedIds.length,
    unchanged,
    indexed,
    failed,
    stalled,
    seconds: (Date.now() - started) / 1000,
  };
}
