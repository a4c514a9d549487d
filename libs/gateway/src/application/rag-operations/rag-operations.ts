import { Inject, Injectable } from '@nestjs/common';
import {
  AppError,
  INGESTION_PORT,
  mayRead,
  mayWrite,
  type Principal,
  RETRIEVAL_PORT,
  type CollectionList,
  type CollectionRef,
  type CollectionView,
  type DocumentRef,
  type DocumentView,
  type IngestionPort,
  type IngestResponse,
  type QueryBody,
  type QueryResponse,
  type RetrievalPort,
  type SearchBody,
  type SearchResponse,
} from '#contracts';
import { FORBIDDEN } from '../../domain/auth.errors.js';
import { AnswerQueryUseCase, type QueryProgress } from '../answer-query/answer-query.use-case.js';
import { searchRetrieval } from '../search/search-retrieval.js';
import { toIngestItems, type JsonDocuments } from './json-documents.js';

/**
 * Who is calling, as the transport that carried the call knows it: the request id that every log line
 * and error carries, and the caller's principal (the API key that authenticated the request, put on
 * `request.principal` by the auth guard) when the transport has one. An in-process caller (the stdio
 * MCP server hosting the contexts, the CLI) has none: it already holds the data directory.
 */
export interface Caller {
  requestId: string;
  principal?: Principal;
}

/**
 * The gateway's use cases as one surface for the transports that are not ragnest's own REST API: the MCP
 * server (tools and resources) and the OpenAI-compatible chat endpoint. Each operation is the call the
 * REST controller for the same thing makes (the same port, the same search and answer use cases), so a
 * tool call and an HTTP request cannot drift apart in behaviour; inputs arrive already validated by the
 * contract schemas the HTTP DTOs use. The caller's key must cover the collection, as on the REST routes:
 * read for search, ask and reads, write for adding documents (403 AUTH.FORBIDDEN otherwise); a caller
 * without a principal was let in unrestricted by the auth middleware (anonymous loopback, AUTH=off) or
 * is this process's own (stdio).
 */
@Injectable()
export class RagOperations {
  constructor(
    private readonly answer: AnswerQueryUseCase,
    @Inject(RETRIEVAL_PORT) private readonly retrieval: RetrievalPort,
    @Inject(INGESTION_PORT) private readonly ingestion: IngestionPort,
  ) {}

  search(body: SearchBody, caller: Caller): Promise<SearchResponse> {
    requireRead(caller, body.collection);
    return searchRetrieval(this.retrieval, body);
  }

  ask(body: QueryBody, caller: Caller, progress: QueryProgress = {}): Promise<QueryResponse> {
    requireRead(caller, body.collection);
    return this.answer.execute(body, caller.requestId, progress);
  }

  /** The collections the caller may read. */
  async listCollections(caller: Caller): Promise<CollectionList> {
    const { collections } = await this.ingestion.listCollections({});
    return { collections: collections.filter((c) => mayRead(caller.principal, c.name)) };
  }

  getCollection(ref: CollectionRef, caller: Caller): Promise<CollectionView> {
    requireRead(caller, ref.collection);
    return this.ingestion.getCollection(ref);
  }

  getDocument(ref: DocumentRef, caller: Caller): Promise<DocumentView> {
    requireRead(caller, ref.collection);
    return this.ingestion.getDocument(ref);
  }

  addDocuments(collection: string, body: JsonDocuments, caller: Caller): Promise<IngestResponse> {
    if (!mayWrite(caller.principal, collection))
      throw new AppError(FORBIDDEN, `this API key may not write to collection "${collection}"`);
    return this.ingestion.ingest({ collection, documents: toIngestItems(body.documents) });
  }
}

function requireRead(caller: Caller, collection: string): void {
  if (!mayRead(caller.principal, collection))
    throw new AppError(FORBIDDEN, `this API key may not read collection "${collection}"`);
}
