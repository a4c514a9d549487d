import { Inject, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import {
  Pattern,
  type CollectionList,
  type CollectionRef,
  type CollectionView,
  type DocumentPage,
  type DocumentRef,
  type DocumentView,
  type GenerateRequest,
  type GenerateResponse,
  type AnswerToken,
  type GenerationPort,
  type IngestionPort,
  type IngestRequest,
  type IngestResponse,
  type JobRef,
  type JobView,
  type ListDocumentsRequest,
  type PresentationPort,
  type PresentRequest,
  type PresentResponse,
  type QueryUnderstandingPort,
  type RerankRequest,
  type RerankResponse,
  type ReindexResponse,
  type RetriedDocument,
  type RetrievalPort,
  type SearchRequest,
  type SearchResponse,
  type UnderstandRequest,
  type UnderstoodQuery,
} from '#contracts';
import { CONFIG, type AppConfig } from '#platform';
import { ContextCaller } from './context-caller.js';

/** The contexts' ports as callers see them: each method is one message through the ContextCaller. */

@Injectable()
export class QueryUnderstandingClient implements QueryUnderstandingPort {
  constructor(private readonly caller: ContextCaller) {}
  understand(request: UnderstandRequest): Promise<UnderstoodQuery> {
    return this.caller.call(Pattern.QueryUnderstand, request);
  }
}

@Injectable()
export class RetrievalClient implements RetrievalPort {
  constructor(private readonly caller: ContextCaller) {}
  search(request: SearchRequest): Promise<SearchResponse> {
    return this.caller.call(Pattern.RetrievalSearch, request);
  }
  rerank(request: RerankRequest): Promise<RerankResponse> {
    return this.caller.call(Pattern.RetrievalRerank, request);
  }
}

@Injectable()
export class GenerationClient implements GenerationPort {
  constructor(
    private readonly caller: ContextCaller,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}
  generate(request: GenerateRequest): Promise<GenerateResponse> {
    // A model takes longer than the other stages: its own budget, still bounded by the request deadline.
    return this.caller.call(Pattern.GenerationGenerate, request, { timeoutMs: this.config.llm.timeoutMs });
  }
  stream(request: GenerateRequest): Observable<AnswerToken> {
    return this.caller.stream(Pattern.GenerationStream, request, { timeoutMs: this.config.llm.timeoutMs });
  }
}

@Injectable()
export class PresentationClient implements PresentationPort {
  constructor(private readonly caller: ContextCaller) {}
  present(request: PresentRequest): Promise<PresentResponse> {
    return this.caller.call(Pattern.PresentationPresent, request);
  }
}

@Injectable()
export class IngestionClient implements IngestionPort {
  constructor(private readonly caller: ContextCaller) {}
  ingest(request: IngestRequest): Promise<IngestResponse> {
    return this.caller.call(Pattern.IngestionIngest, request);
  }
  getCollection(request: CollectionRef): Promise<CollectionView> {
    return this.caller.call(Pattern.IngestionGetCollection, request);
  }
  getDocument(request: DocumentRef): Promise<DocumentView> {
    return this.caller.call(Pattern.IngestionGetDocument, request);
  }
  deleteDocument(request: DocumentRef): Promise<{ deleted: true }> {
    return this.caller.call(Pattern.IngestionDeleteDocument, request);
  }
  listDocuments(request: ListDocumentsRequest): Promise<DocumentPage> {
    return this.caller.call(Pattern.IngestionListDocuments, request);
  }
  retryDocument(request: DocumentRef): Promise<RetriedDocument> {
    return this.caller.call(Pattern.IngestionRetryDocument, request);
  }
  getJob(request: JobRef): Promise<JobView> {
    return this.caller.call(Pattern.IngestionGetJob, request);
  }
  reindex(request: CollectionRef): Promise<ReindexResponse> {
    return this.caller.call(Pattern.IngestionReindex, request);
  }
  listCollections(request: Record<string, never>): Promise<CollectionList> {
    return this.caller.call(Pattern.IngestionListCollections, request);
  }
  deleteCollection(request: CollectionRef): Promise<{ deleted: true }> {
    return this.caller.call(Pattern.IngestionDeleteCollection, request);
  }
}
