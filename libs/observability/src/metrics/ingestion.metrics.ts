import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What became of a document a batch worked on. */
export type DocumentOutcome = 'indexed' | 'failed' | 'requeued';
/** The BullMQ job states reported as gauges. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/**
 * Ingestion: documents and chunks by outcome (their rates are the indexing throughput), the time of each
 * indexing batch and of each HNSW index build, and the queue's jobs by state, read from BullMQ when
 * scraped. With METRICS_COLLECTION_LABELS=true the counters carry the collection; off by default, since
 * collections are made by users and a label per collection has no bound.
 */
export class IngestionMetrics {
  private readonly documents: Counter<string>;
  private readonly chunks: Counter<string>;
  private readonly batches: Histogram;
  private readonly vectorIndexBuilds: Histogram;
  private readonly jobs: Gauge<'queue' | 'state'>;

  constructor(
    registry: Registry,
    private readonly collectionLabels: boolean,
  ) {
    const extra = collectionLabels ? ['collection'] : [];
    this.documents = new Counter({
      name: 'ragnest_ingestion_documents_total',
      help: 'Documents an indexing batch finished with, by outcome (indexed, failed, requeued).',
      labelNames: ['outcome', ...extra],
      registers: [registry],
    });
    this.chunks = new Counter({
      name: 'ragnest_ingestion_chunks_total',
      help: 'Chunks written to the index by committed batches (rate = indexing throughput).',
      labelNames: ['outcome', ...extra],
      registers: [registry],
    });
    this.batches = new Histogram({
      name: 'ragnest_ingestion_batch_duration_seconds',
      help: 'Time of one indexing batch: extract, chunk, embed and the indexing transaction.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    });
    this.vectorIndexBuilds = new Histogram({
      name: 'ragnest_vector_index_build_duration_seconds',
      help: "Time of one embedding set's HNSW index build (after a bulk load, or before a re-index switches).",
      buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    });
    this.jobs = new Gauge({
      name: 'ragnest_ingestion_queue_jobs',
      help: 'Jobs in the ingestion queue by state, read from BullMQ when scraped.',
      labelNames: ['queue', 'state'],
      registers: [registry],
    });
  }

  documentsDone(outcome: DocumentOutcome, count: number, collection?: string): void {
    if (count > 0) this.documents.inc(this.labels(outcome, collection), count);
  }

  chunksIndexed(count: number, collection?: string): void {
    if (count > 0) this.chunks.inc(this.labels('indexed', collection), count);
  }

  batch(seconds: number): void {
    this.batches.observe(seconds);
  }

  vectorIndexBuilt(seconds: number): void {
    this.vectorIndexBuilds.observe(seconds);
  }

  queueJobs(queue: string, counts: Partial<Record<QueueState, number>>): void {
    for (const state of QUEUE_STATES) this.jobs.set({ queue, state }, counts[state] ?? 0);
  }

  private labels(outcome: string, collection?: string): Record<string, string> {
    return this.collectionLabels ? { outcome, collection: collection ?? '' } : { outcome };
  }
}
