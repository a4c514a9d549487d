import type { Metadata } from '#contracts';

/**
 * A document version as the pipeline moves it: what a job carries, what it is read as, and the job id
 * clients see (`<document number>:<version>`).
 */

/** What a document version holds: its identity in the collection, its description and its source. */
export interface DocumentContent {
  externalId: string;
  title: string | null;
  metadata: Metadata;
  sourceKind: string;
  sourceText: string | null;
  sourceBytes: Buffer | null;
  /** A staged upload's bytes (ingestion_upload_parts), read by the worker when it extracts them. */
  sourceBlob: string | null;
}

export interface NewDocumentVersion extends DocumentContent {
  contentHash: string;
}

/** A document version waiting to be indexed: what a job carries. */
export interface DocumentJob {
  documentId: string;
  version: number;
  /**
   * Drawn anew each time the version is queued (see the queue-jobs migration): the BullMQ job id carries
   * it, and a job whose token is no longer the document's is a no-op. Absent in the in-process queue.
   */
  token?: string;
}

export interface DocumentSource extends DocumentJob, DocumentContent {
  collectionId: string;
  collection: string;
}

export function jobId(job: DocumentJob): string {
  return `${job.documentId}:${job.version}`;
}

/** The inverse of `jobId`, for ids already checked against the `JobId` schema. */
export function parseJobId(id: string): DocumentJob {
  const colon = id.indexOf(':');
  return { documentId: id.slice(0, colon), version: Number(id.slice(colon + 1)) };
}
