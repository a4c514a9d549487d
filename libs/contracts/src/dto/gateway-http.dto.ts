import { z } from 'zod';
import { Filter } from '../filter.js';
import { CollectionName, DocumentId, DocumentStatus, Metadata, SearchMode } from './common.dto.js';
import { DocumentCursor } from './document-cursor.js';
import { LIST_DOCUMENTS_DEFAULT_LIMIT, LIST_DOCUMENTS_MAX_LIMIT, SourceUrl } from './ingestion.dto.js';
import type { Citation } from './presentation.dto.js';
import { ChatHistory, QueryExpansion } from './query-understanding.dto.js';
import type { SearchExplain } from './retrieval.dto.js';
import { NO_NUL, noNul, QueryText } from './schema-rules.js';

/** The gateway's HTTP bodies: what clients send to ingest, list and ask, and the answer they get back. */

export const JsonDocument = z
  .object({
    id: DocumentId.optional(),
    text: z
      .string()
      .max(10_000_000)
      .refine((t) => t.trim().length > 0, { message: 'must not be empty' })
      .refine(noNul, NO_NUL)
      .optional(),
    /** A page (HTML, text, PDF, Office…) or a sitemap, fetched by the ingestion worker; instead of text. */
    url: SourceUrl.optional(),
    title: z.string().max(2000).refine(noNul, NO_NUL).optional(),
    metadata: Metadata.optional(),
  })
  .strict()
  .refine((d) => (d.text === undefined) !== (d.url === undefined), {
    message: 'a document carries either "text" or "url"',
  });
export type JsonDocument = z.infer<typeof JsonDocument>;

export const IngestDocumentsBody = z.object({ documents: z.array(JsonDocument).min(1).max(1000) }).strict();
export type IngestDocumentsBody = z.infer<typeof IngestDocumentsBody>;

/** The short form for one URL: `{"url": "...", "id"?, "title"?, "metadata"?}`. */
export const IngestUrlBody = z
  .object({
    url: SourceUrl,
    id: DocumentId.optional(),
    title: z.string().max(2000).refine(noNul, NO_NUL).optional(),
    metadata: Metadata.optional(),
  })
  .strict();
export type IngestUrlBody = z.infer<typeof IngestUrlBody>;

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
