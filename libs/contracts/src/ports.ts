import type { Observable } from 'rxjs';
import type {
  CollectionList,
  CollectionRef,
  CollectionView,
  DocumentPage,
  DocumentRef,
  DocumentView,
  GenerateRequest,
  GenerateResponse,
  IngestRequest,
  IngestResponse,
  JobRef,
  JobView,
  ReindexResponse,
  ListDocumentsRequest,
  PresentRequest,
  PresentResponse,
  RerankRequest,
  RerankResponse,
  RetriedDocument,
  SearchRequest,
  SearchResponse,
  StagedFile,
  UnderstandRequest,
  UnderstoodQuery,
} from './dto/index.js';

/**
 * The ports through which the gateway (and any other caller) reaches a context. Whether the call stays
 * in-process or crosses Redis is decided once, at start, by the transport behind them.
 */
export interface QueryUnderstandingPort {
  understand(request: UnderstandRequest): Promise<UnderstoodQuery>;
}

export interface RetrievalPort {
  search(request: SearchRequest): Promise<SearchResponse>;
  rerank(request: RerankRequest): Promise<RerankResponse>;
}

/** A piece of an answer as the model produced it. */
export interface AnswerToken {
  text: string;
}

export interface GenerationPort {
  generate(request: GenerateRequest): Promise<GenerateResponse>;
  /** The answer as the model produces it; unsubscribing cancels the model call. */
  stream(request: GenerateRequest): Observable<AnswerToken>;
}

export interface PresentationPort {
  present(request: PresentRequest): Promise<PresentResponse>;
}

export interface IngestionPort {
  ingest(request: IngestRequest): Promise<IngestResponse>;
  getCollection(request: CollectionRef): Promise<CollectionView>;
  getDocument(request: DocumentRef): Promise<DocumentView>;
  deleteDocument(request: DocumentRef): Promise<{ deleted: true }>;
  listDocuments(request: ListDocumentsRequest): Promise<DocumentPage>;
  retryDocument(request: DocumentRef): Promise<RetriedDocument>;
  getJob(request: JobRef): Promise<JobView>;
  reindex(request: CollectionRef): Promise<ReindexResponse>;
  /** Every collection with its counts; the gateway shows each caller those it may read. */
  listCollections(request: Record<string, never>): Promise<CollectionList>;
  /** The collection with its documents, chunks, vectors and lexical index. */
  deleteCollection(request: CollectionRef): Promise<{ deleted: true }>;
}

/**
 * Streams a file's bytes into ingestion's staging store (in PostgreSQL, shared by every process) in bounded
 * parts, so that only a StagedFile reference crosses the transport to `ingestion.ingest`. Ingestion owns
 * the store and provides this port (UploadStagingModule); the gateway uses it for multipart uploads.
 */
export interface UploadStagingPort {
  /**
   * Each piece is used (copied) before the next is asked for, so the source may reuse one buffer. `as`
   * is the file's size and the document it will be ingested as (title, metadata), so that its content
   * hash is computed on the way.
   */
  stage(bytes: AsyncIterable<Uint8Array>, as: StagedDocument): Promise<StagedFile>;
  /** Removes a staged file that was never ingested (the ingest call failed). */
  discard(blobId: string): Promise<void>;
}

export interface StagedDocument {
  size: number;
  title: string | null;
  metadata: Record<string, unknown>;
}

export const UPLOAD_STAGING = Symbol('UploadStaging');
export const QUERY_UNDERSTANDING_PORT = Symbol('QueryUnderstandingPort');
export const RETRIEVAL_PORT = Symbol('RetrievalPort');
export const GENERATION_PORT = Symbol('GenerationPort');
export const PRESENTATION_PORT = Symbol('PresentationPort');
export const INGESTION_PORT = Symbol('IngestionPort');
