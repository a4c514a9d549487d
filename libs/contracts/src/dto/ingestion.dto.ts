import { z } from 'zod';
import { CollectionName, DocumentId, DocumentStage, DocumentStatus, Metadata } from './common.dto.js';
import { DocumentCursor } from './document-cursor.js';

/** Ingestion's published language: what it is asked to index, and its views of collections, documents and jobs. */

/** What a document's source is: JSON text, a URL to fetch, or a file of one of the supported kinds. */
export const SourceKind = z.enum(['text', 'url', 'txt', 'md', 'html', 'pdf', 'docx', 'pptx', 'xlsx', 'csv']);
export type SourceKind = z.infer<typeof SourceKind>;

/** An absolute http(s) URL, as long as browsers and servers commonly accept. */
export const SourceUrl = z
  .string()
  .trim()
  .max(2048)
  .refine((u) => /^https?:\/\//i.test(u) && URL.canParse(u), { message: 'must be an absolute http(s) URL' });

/**
 * A file's bytes already staged in the database by ingestion's upload staging (UPLOAD_STAGING): only this
 * reference crosses the transport, never the bytes.
 */
export const StagedFile = z
  .object({
    blobId: z.string().uuid(),
    size: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();
export type StagedFile = z.infer<typeof StagedFile>;

/**
 * A document as ingestion receives it: JSON text, or a file, its bytes either as base64 in the message
 * (small files, the CLI) or staged beforehand (uploads, streamed: see StagedFile).
 */
export const UploadedFile = z
  .object({
    name: z.string().min(1).max(1000),
    mimeType: z.string().max(200).optional(),
    contentBase64: z.string().optional(),
    staged: StagedFile.optional(),
  })
  .strict()
  .refine((f) => (f.contentBase64 === undefined) !== (f.staged === undefined), {
    message: 'a file carries either contentBase64 or a staged reference',
  });
export type UploadedFile = z.infer<typeof UploadedFile>;

export const IngestItem = z
  .object({
    id: DocumentId,
    title: z.string().max(2000).optional(),
    metadata: Metadata.default({}),
    text: z.string().optional(),
    file: UploadedFile.optional(),
    /** A page or sitemap to fetch, in the ingestion worker. */
    url: SourceUrl.optional(),
    /**
     * What changes when the URL's content does (a sitemap's `lastmod`); without it, each ingest of the
     * URL is a new version, fetched again.
     */
    lastModified: z.string().max(100).optional(),
  })
  .strict()
  .refine((d) => [d.text, d.file, d.url].filter((v) => v !== undefined).length === 1, {
    message: 'a document carries one of text, a file or a url',
  });
export type IngestItem = z.infer<typeof IngestItem>;

export const IngestRequest = z
  .object({ collection: CollectionName, documents: z.array(IngestItem).min(1).max(1000) })
  .strict();
export type IngestRequest = z.infer<typeof IngestRequest>;

export const IngestedDocument = z.object({
  id: z.string(),
  status: z.enum(['queued', 'unchanged']),
  jobId: z.string().nullable(),
});
export interface IngestResponse {
  documents: z.infer<typeof IngestedDocument>[];
}

export const CollectionRef = z.object({ collection: CollectionName }).strict();
export type CollectionRef = z.infer<typeof CollectionRef>;

export const DocumentRef = z.object({ collection: CollectionName, id: DocumentId }).strict();
export type DocumentRef = z.infer<typeof DocumentRef>;

export interface CollectionView {
  name: string;
  documents: Record<DocumentStatus, number>;
  chunks: number;
  /**
   * The model whose vectors search uses, and how: through the HNSW index, or by an exact scan while a
   * first bulk load is under way (the index is built in one pass when it is done).
   */
  embedding: { model: string; dimensions: number; index: 'hnsw' | 'exact' };
  /**
   * Documents queued or processing that have made no progress for longer than `afterMs`
   * (INGESTION_STALL_AFTER_MS; counted up to 100,000), and how long the longest-waiting pending document
   * has sat still (null when none is pending). The reconciler repairs what it can within a minute, so a
   * count that stays above 0 is worth a look: a provider failing for long, or a bug.
   */
  stalled?: { documents: number; oldestPendingMs: number | null; afterMs: number };
  /** A re-index towards another model, while it runs (or after it failed, until asked again). */
  reindex?: {
    model: string;
    dimensions: number;
    status: 'running' | 'failed';
    /** Chunks that have their new vector. */
    embedded: number;
    progress: number;
    error?: string;
  };
}

export interface ReindexResponse {
  collection: string;
  /** `reindexing`: under way, search keeps the current vectors until it switches; `current`: nothing to do. */
  status: 'reindexing' | 'current';
  model: string;
  dimensions: number;
}

export interface DocumentView {
  id: string;
  status: DocumentStatus;
  stage?: DocumentStage;
  /** Percent of the pipeline done, 0..100: 0 while queued, 100 once indexed. */
  progress: number;
  title: string | null;
  metadata: Metadata;
  chunkCount: number;
  contentHash: string;
  version: number;
  error?: string;
  updatedAt: string;
}

export const LIST_DOCUMENTS_MAX_LIMIT = 500;
export const LIST_DOCUMENTS_DEFAULT_LIMIT = 50;

export const ListDocumentsRequest = z
  .object({
    collection: CollectionName,
    status: DocumentStatus.optional(),
    limit: z.number().int().min(1).max(LIST_DOCUMENTS_MAX_LIMIT),
    cursor: DocumentCursor.optional(),
  })
  .strict();
export type ListDocumentsRequest = z.infer<typeof ListDocumentsRequest>;

/** Documents in external-id order; `nextCursor` is null on the last page. */
export interface DocumentPage {
  documents: DocumentView[];
  nextCursor: string | null;
}

export interface CollectionSummary {
  name: string;
  /** Documents in every status. */
  documents: number;
  chunks: number;
}

export interface CollectionList {
  collections: CollectionSummary[];
}

export const ListCollectionsRequest = z.object({}).strict();

export interface RetriedDocument {
  id: string;
  status: 'queued';
  jobId: string;
}

/**
 * A job is one version of one document, named `<document number>:<version>:<tag>`, the tag (32 hex
 * digits) signed by ingestion so that ids cannot be guessed. The numbers are bounded by their column types
 * (bigint, int), so a well-formed id never makes the database raise. The unsigned `<number>:<version>` of
 * earlier releases is still well-formed, and names no job.
 */
const JOB_ID = /^([1-9]\d{0,18}):([1-9]\d{0,9})(?::[0-9a-f]{32})?$/;
const MAX_DOCUMENT_NUMBER = 2n ** 63n - 1n;
const MAX_VERSION = 2 ** 31 - 1;
// Zod runs every check of a schema, so the range check leaves the wrong shapes to the regex.
const jobIdInRange = (id: string) => {
  const parts = JOB_ID.exec(id);
  return !parts || (BigInt(parts[1]) <= MAX_DOCUMENT_NUMBER && Number(parts[2]) <= MAX_VERSION);
};
export const JobId = z
  .string()
  .regex(JOB_ID, 'must be a job id as ingestion returned it ("<document number>:<version>:<tag>")')
  .refine(jobIdInRange, { message: 'is out of range' });

export const JobRef = z.object({ jobId: JobId }).strict();
export type JobRef = z.infer<typeof JobRef>;

/** A job's state is its document's row: a version that is no longer the document's is `superseded`. */
export interface JobView {
  jobId: string;
  collection: string;
  documentId: string;
  version: number;
  status: DocumentStatus | 'superseded';
  stage?: DocumentStage;
  /** The document's progress (see DocumentView); absent once superseded, as it is the newer version's. */
  progress?: number;
  error?: string;
  updatedAt: string;
  current: boolean;
}
