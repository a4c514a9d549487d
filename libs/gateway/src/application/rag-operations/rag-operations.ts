import { Inject, Injectable } from '@nestjs/common';
import {
  INGESTION_PORT,
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
  principal?: unknown;
}

/**
 * The gateway's use cases as one surface for the transports that are not ragnest's own REST API: the MCP
 * server (tools and resources) and the OpenAI-compatible chat endpoint. Each operation is the call the
 * REST controller for the same thing makes (the same port, the same search and answer use cases), so a
 * tool call and an HTTP request cannot drift apart in behaviour; inputs arrive already validated by the
 * contract schemas the HTTP DTOs use.
 */
@Injectable()
export class RagOperations {
  constructor(
    private readonly answer: AnswerQueryUseCase,
    @Inject(RETRIEVAL_PORT) private readonly retrieval: RetrievalPort,
    @Inject(INGESTION_PORT) private readonly ingestion: IngestionPort,
  ) {}

  search(body: SearchBody, _caller: Caller): Promise<SearchResponse> {
    return searchRetrieval(this.retrieval, body);
  }

  ask(body: QueryBody, caller: Caller, progress: QueryProgress = {}): Promise<QueryResponse> {
    return this.answer.execute(body, caller.requestId, progress);
  }

  listCollections(_caller: Caller): Promise<CollectionList> {
    return this.ingestion.listCollections();
  }

  getCollection(ref: CollectionRef, _caller: Caller): Promise<CollectionView> {
    return this.ingestion.getCollection(ref);
  }

  getDocument(ref: DocumentRef, _caller: Caller): Promise<DocumentView> {
    return this.ingestion.getDocument(ref);
  }

  addDocuments(collection: string, body: JsonDocuments, _caller: Caller): Promise<IngestResponse> {
    return this.ingestion.ingest({ collection, documents: toIngestItems(body.documents) });
  }
}
