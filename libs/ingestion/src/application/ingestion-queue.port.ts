import type { DocumentJob } from '../domain/document-job.js';

/**
 * Where accepted document versions wait to be indexed, and re-indexes to be run: the port the use cases
 * enqueue through. Its adapters are in infrastructure/queue (in-process, or BullMQ when Redis is set).
 */
export interface IngestionQueue {
  enqueue(jobs: DocumentJob[]): Promise<void>;
  /** Runs (or resumes) the re-index that fills embedding set `setId`. */
  reindex(setId: number): Promise<void>;
  /** Resolves when every job enqueued so far has been processed (tests, CLI). */
  drained(): Promise<void>;
}
export const INGESTION_QUEUE = Symbol('IngestionQueue');
