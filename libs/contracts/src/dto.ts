import { z } from 'zod';
import { Filter } from './filter.js';

/** Published language between the contexts and with HTTP clients: one schema per message. */

export const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const CollectionName = z
  .string()
  .regex(
    COLLECTION_NAME,
    'a collection name is 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** PostgreSQL cannot store NUL in text or jsonb: such input is refused up front, with the field named. */
const NUL = '\u0000';
const noNul = (s: string) => !s.includes(NUL);
const NO_NUL = { message: 'must not contain NUL (\\u0000) characters' };

export const DocumentId = z.string().trim().min(1).max(512).refine(noNul, NO_NUL);

export const QUERY_MAX_CHARS = 4000;
const QueryText = z
  .string()
  .max(QUERY_MAX_CHARS)
  .refine((q) => q.trim().length > 0, { message: 'must not be empty' });

export const Metadata = z
  .record(z.string().max(200), z.unknown())
  // JSON.stringify escapes NUL, so it is the escape that is looked for.
  .refine((m) => !JSON.stringify(m).includes('\\u0000'), NO_NUL);
export type Metadata = z.infer<typeof Metadata>;

export const SearchMode = z.enum(['hybrid', 'dense', 'sparse']);
export type SearchMode = z.infer<typeof SearchMode>;

export const DocumentStatus = z.enum(['queued', 'processing', 'indexed', 'failed']);
export type DocumentStatus = z.infer<typeof DocumentStatus>;

/** The step a document is at while processing; a failed document keeps the step it failed at. */
export const DocumentStage = z.enum(['extract', 'chunk', 'embed', 'index']);
export type DocumentStage = z.infer<typeof DocumentStage>;

/* ---------- ingestion ---------- */

export const JsonDocument = z
  .object({
    id: DocumentId.optional(),
    text: z
      .string()
      .max(10_000_000)
      .refine((t) => t.trim().length > 0, { message: 'must not be empty' })
      .refine(noNul, NO_NUL),
    title: z.string().max(2000).refine(noNul, NO_NUL).optional(),
    metadata: Metadata.optional(),
  })
  .strict();
export type JsonDocument = z.infer<typeof JsonDocument>;

export const IngestDocumentsBody = z.object({ documents: z.array(JsonDocument).min(1).max(1000) }).strict();
export type IngestDocumentsBody = z.infer<typeof IngestDocumentsBody>;

/** What a document's source is: JSON text, or a file of one of the supported kinds. */
export const SourceKind = z.enum(['text', 'txt', 'md', 'html', 'pdf']);
export type SourceKind = z.infer<typeof SourceKind>;

/** A document as ingestion receives it: JSON text, or an uploaded file (bytes as base64 on the wire). */
export const UploadedFile = z
  .object({
    name: z.string().min(1).max(1000),
    mimeType: z.string().max(200).optional(),
    contentBase64: z.string(),
  })
  .strict();
export type UploadedFile = z.infer<typeof UploadedFile>;

export const IngestItem = z
  .object({
    id: DocumentId,
    title: z.string().max(2000).optional(),
    metadata: Metadata.default({}),
    text: z.string().optional(),
    file: UploadedFile.optional(),
  })
  .strict()
  .refine((d) => (d.text === undefined) !== (d.file === undefined), {
    message: 'a document carries either text or a file',
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

/**
 * A page cursor is the base64url of the last external id of the previous page: opaque to clients, and
 * checked here so that a damaged one is refused instead of silently restarting or skipping the listing.
 */
export function encodeDocumentCursor(externalId: string): string {
  return Buffer.from(externalId, 'utf8').toString('base64url');
}

export function decodeDocumentCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
// Node's decoder skips characters it does not know, so only a cursor that encodes back to itself is sound.
const isDocumentCursor = (cursor: string) => {
  if (!BASE64URL.test(cursor)) return false;
  const id = decodeDocumentCursor(cursor);
  return encodeDocumentCursor(id) === cursor && id.length <= 512 && noNul(id);
};
export const DocumentCursor = z
  .string()
  .max(2048)
  .refine(isDocumentCursor, { message: 'is not a cursor returned by this listing' });

export const LIST_DOCUMENTS_MAX_LIMIT = 500;
export const LIST_DOCUMENTS_DEFAULT_LIMIT = 50;

/** The query string of a listing: every value arrives as text, so `limit` is parsed here. */
export const ListDocumentsQuery = z
  .object({
    status: DocumentStatus.optional(),
    limit: z
      .string()
      .regex(/^\d+$/, `must be a whole number from 1 to ${LIST_DOCUMENTS_MAX_LIMIT}`)
      .transform(Number)
      .pipe(z.number().int().min(1).max(LIST_DOCUMENTS_MAX_LIMIT))
      .default(LIST_DOCUMENTS_DEFAULT_LIMIT),
    cursor: DocumentCursor.optional(),
  })
  .strict();
export type ListDocumentsQuery = z.infer<typeof ListDocumentsQuery>;

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

export interface RetriedDocument {
  id: string;
  status: 'queued';
  jobId: string;
}

/**
 * A job is one version of one document, named `<document number>:<version>`. Both parts are bounded by
 * their column types (bigint, int), so a well-formed id never makes the database raise.
 */
const JOB_ID = /^([1-9]\d{0,18}):([1-9]\d{0,9})$/;
const MAX_DOCUMENT_NUMBER = 2n ** 63n - 1n;
const MAX_VERSION = 2 ** 31 - 1;
// Zod runs every check of a schema, so the range check leaves the wrong shapes to the regex.
const jobIdInRange = (id: string) => {
  const parts = JOB_ID.exec(id);
  return !parts || (BigInt(parts[1]) <= MAX_DOCUMENT_NUMBER && Number(parts[2]) <= MAX_VERSION);
};
export const JobId = z
  .string()
  .regex(JOB_ID, 'must be "<document number>:<version>", as ingestion returned it')
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

/* ---------- query understanding ---------- */

export const HISTORY_MAX_TURNS = 20;
export const HISTORY_TURN_MAX_CHARS = 8000;

/** One earlier turn of a conversation; the current question is `query`, not the last turn. */
export const ChatTurn = z
  .object({
    role: z.enum(['user', 'assistant']),
    content: z.string().max(HISTORY_TURN_MAX_CHARS).refine(noNul, NO_NUL),
  })
  .strict();
export type ChatTurn = z.infer<typeof ChatTurn>;

export const ChatHistory = z.array(ChatTurn).max(HISTORY_MAX_TURNS);

/** At most this many extra phrasings of a question are searched (QUERY_MULTI_QUERY). */
export const MULTI_QUERY_MAX = 5;

/**
 * Query expansion asked for by one request; an absent member takes the configured default
 * (QUERY_MULTI_QUERY, QUERY_HYDE). Both need an LLM (LLM_PROVIDER=openai); without one they are skipped.
 */
export const QueryExpansion = z
  .object({ multiQuery: z.boolean().optional(), hyde: z.boolean().optional() })
  .strict();
export type QueryExpansion = z.infer<typeof QueryExpansion>;

export const UnderstandRequest = z
  .object({
    collection: CollectionName,
    query: QueryText,
    history: ChatHistory.optional(),
    expand: QueryExpansion.optional(),
  })
  .strict();
export type UnderstandRequest = z.infer<typeof UnderstandRequest>;

export interface UnderstoodQuery {
  original: string;
  /** The standalone question as retrieval should see it: normalised, and condensed from the history. */
  text: string;
  /** ISO 639-1 code of the question's language, or `und` when it cannot be told. */
  language: string;
  /** What retrieval searches: `text` first, then its other phrasings (multi-query expansion). */
  queries: string[];
  /** A hypothetical answer passage (HyDE), searched by meaning like a document would be. */
  hyde?: string;
  /** An LLM step failed and the plain question stood in for what it would have produced. */
  degraded?: boolean;
}

/* ---------- retrieval ---------- */

export const SearchBody = z
  .object({
    collection: CollectionName,
    query: QueryText,
    topK: z.number().int().min(1).max(100).default(10),
    mode: SearchMode.default('hybrid'),
    filter: Filter.optional(),
    // Described here, as the OpenAPI document is built from these schemas.
    explain: z
      .boolean()
      .optional()
      .describe(
        'Adds `explain` to the response (the retrievers that ran, the query as each saw it, the fusion) and to ' +
          'each hit (its rank and raw score in each retriever, null where it did not return the hit, and its fused rank).',
      ),
  })
  .strict();
export type SearchBody = z.infer<typeof SearchBody>;

/** The internal search request may ask for deeper candidate lists than HTTP clients can (evaluation). */
export const SearchRequest = SearchBody.extend({ topK: z.number().int().min(1).max(1000).default(10) });
export type SearchRequest = z.infer<typeof SearchRequest>;

/* ---------- explain: why each result ranked where it did (only when a request asks) ---------- */

/** A retriever's own view of a hit: its 1-based rank and raw score, both null when it did not return it. */
export const RetrieverRank = z.object({
  rank: z.number().int().min(1).nullable(),
  score: z.number().nullable(),
  /** BM25 only: each query term's share of the score, by term (terms the chunk lacks are absent). */
  terms: z.record(z.string(), z.number()).optional(),
});
export type RetrieverRank = z.infer<typeof RetrieverRank>;

export const FusedRank = z.object({ rank: z.number().int().min(1), score: z.number() });
export type FusedRank = z.infer<typeof FusedRank>;

/**
 * One hit of one search: each retriever that ran, by name (`sparse`: BM25 score, `dense`: cosine
 * similarity), and, when several were fused, the fused rank and score.
 */
export const HitExplain = z.object({
  retrievers: z.record(z.string(), RetrieverRank),
  fused: FusedRank.optional(),
});
export type HitExplain = z.infer<typeof HitExplain>;

/** The query as BM25 saw it: its terms after normalisation, stop words and stemming, with their counts. */
export interface SparseRetrieverExplain {
  query: string;
  terms: { term: string; weight: number }[];
}

export interface DenseRetrieverExplain {
  query: string;
  model: string;
  dimensions: number;
}

/** How one search ranked: the retrievers that answered, and how their lists were fused. */
export interface SearchExplain {
  mode: SearchMode;
  retrievers: { sparse?: SparseRetrieverExplain; dense?: DenseRetrieverExplain };
  /** Absent unless two or more lists were fused; `k` is RRF's only. */
  fusion?: { method: 'score' | 'rrf'; weights: Record<string, number>; k?: number };
  /** Retrievers that failed and were answered without, as in SearchResponse. */
  degraded?: string[];
}

export const SearchHit = z.object({
  documentId: z.string(),
  chunkId: z.string(),
  score: z.number(),
  title: z.string().nullable(),
  text: z.string(),
  metadata: Metadata,
  explain: HitExplain.optional(),
});
export type SearchHit = z.infer<typeof SearchHit>;

export interface SearchResponse {
  results: SearchHit[];
  timings: Record<string, number>;
  /** Legs the search answered without, e.g. `["dense"]` when the embedder was down; absent when none. */
  degraded?: string[];
  /** Only when the request asked for it. */
  explain?: SearchExplain;
}

export const RerankRequest = z
  .object({ query: QueryText, topK: z.number().int().min(1).max(1000), hits: z.array(SearchHit) })
  .strict();
export type RerankRequest = z.infer<typeof RerankRequest>;

export interface RerankResponse {
  results: SearchHit[];
}

/* ---------- generation ---------- */

export const GenerationSource = z.object({
  index: z.number().int().min(1),
  title: z.string().nullable(),
  text: z.string(),
});
export type GenerationSource = z.infer<typeof GenerationSource>;

export const GenerateRequest = z
  .object({ query: QueryText, sources: z.array(GenerationSource).max(100) })
  .strict();
export type GenerateRequest = z.infer<typeof GenerateRequest>;

export interface GenerateResponse {
  answer: string;
  model: string;
}

/* ---------- presentation ---------- */

export const PresentRequest = z
  .object({ query: QueryText, answer: z.string(), sources: z.array(SearchHit).max(100) })
  .strict();
export type PresentRequest = z.infer<typeof PresentRequest>;

export interface Citation {
  index: number;
  documentId: string;
  chunkId: string;
  title: string | null;
  text: string;
  score: number;
  /** Only when the query asked for it. */
  explain?: CitationExplain;
}

export interface PresentResponse {
  answer: string;
  citations: Citation[];
}

/* ---------- gateway: the query path ---------- */

export const QueryBody = z
  .object({
    collection: CollectionName,
    query: QueryText,
    topK: z.number().int().min(1).max(50).default(5),
    mode: SearchMode.default('hybrid'),
    filter: Filter.optional(),
    stream: z.boolean().default(false),
    /** The conversation so far; the question is condensed with it into a standalone one. */
    history: ChatHistory.optional(),
    expand: QueryExpansion.optional(),
    explain: z
      .boolean()
      .optional()
      .describe(
        'Adds `explain` to the response (the question as understood, the variants searched and each search’s ' +
          'explain, their fusion, the reranker) and to each citation (its rank in each variant, the fused rank, ' +
          'and its rank before and after re-ranking). Such a request bypasses the answer cache.',
      ),
  })
  .strict();
export type QueryBody = z.infer<typeof QueryBody>;

/** What a searched variant of the question is: the question itself, another phrasing, or HyDE's passage. */
export type QueryVariantKind = 'question' | 'rewrite' | 'hyde';

export interface QueryExplain {
  query: {
    original: string;
    /** The standalone question searched. */
    text: string;
    language: string;
    variants: { text: string; kind: QueryVariantKind; mode: SearchMode }[];
  };
  /** Each variant's search, in the order of `query.variants`. */
  searches: SearchExplain[];
  /** How the variants' lists were fused; absent for a single variant. */
  fusion?: { method: 'rrf'; k: number };
  /** `degraded` when the reranker failed and the fused order stood. */
  rerank: { provider: string; degraded?: true };
}

export interface CitationExplain {
  /** Each variant whose search found the chunk: its index in `query.variants`, and the hit's rank there. */
  variants: ({ variant: number; rank: number } & HitExplain)[];
  /** The rank and score after fusing the variants; absent for a single variant. */
  fused?: FusedRank;
  /** Absent when the reranker failed; `before` is the rank in the candidate list it was given. */
  reranked?: FusedRank & { before: number };
}

export interface QueryTimings {
  understandMs: number;
  retrieveMs: number;
  rerankMs: number;
  generateMs: number;
  presentMs: number;
  totalMs: number;
}

export interface QueryResponse {
  answer: string;
  citations: Citation[];
  degraded: string[];
  timings: QueryTimings;
  requestId: string;
  /** Only when the request asked for it. */
  explain?: QueryExplain;
}
