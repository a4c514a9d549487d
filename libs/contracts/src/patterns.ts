/** Message patterns: the names of the calls a context answers, whatever carries them. */
export const Pattern = {
  QueryUnderstand: 'query-understanding.understand',
  RetrievalSearch: 'retrieval.search',
  RetrievalRerank: 'retrieval.rerank',
  GenerationGenerate: 'generation.generate',
  GenerationStream: 'generation.stream',
  PresentationPresent: 'presentation.present',
  IngestionIngest: 'ingestion.ingest',
  IngestionGetCollection: 'ingestion.get-collection',
  IngestionGetDocument: 'ingestion.get-document',
  IngestionDeleteDocument: 'ingestion.delete-document',
  IngestionListDocuments: 'ingestion.list-documents',
  IngestionRetryDocument: 'ingestion.retry-document',
  IngestionGetJob: 'ingestion.get-job',
  IngestionReindex: 'ingestion.reindex',
} as const;
export type Pattern = (typeof Pattern)[keyof typeof Pattern];
