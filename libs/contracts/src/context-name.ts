/** The bounded contexts a process can host (RAG_CONTEXTS). */
export enum ContextName {
  Gateway = 'gateway',
  Ingestion = 'ingestion',
  QueryUnderstanding = 'query-understanding',
  Retrieval = 'retrieval',
  Generation = 'generation',
  Presentation = 'presentation',
}

export const ALL_CONTEXTS: readonly ContextName[] = Object.values(ContextName);
