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
  IngestionListCollections: 'ingestion.list-collections',
  IngestionDeleteCollection: 'ingestion.delete-collection',
} as const;
export type Pattern = (typeof Pattern)[keyof typeof Pattern];

/**
 * Calls that may run twice with no effect beyond running once: reads and pure computations. The one
 * table the transport consults when the replica holding a call dies: these are handed to another live
 * replica; any other call (a model generating, a write) fails at once into its stage's fallback, since
 * running it again could repeat an effect the caller cannot see.
 */
export const IDEMPOTENT_PATTERNS: ReadonlySet<string> = new Set<Pattern>([
  Pattern.QueryUnderstand,
  Pattern.RetrievalSearch,
  Pattern.RetrievalRerank,
  Pattern.PresentationPresent,
  Pattern.IngestionGetCollection,
  Pattern.IngestionGetDocument,
  Pattern.IngestionListDocuments,
  Pattern.IngestionGetJob,
  Pattern.IngestionListCollections,
]);

export function isIdempotent(pattern: string): boolean {
  return IDEMPOTENT_PATTERNS.has(pattern);
}
