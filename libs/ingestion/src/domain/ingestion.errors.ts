/** Ingestion's error codes: stable strings clients and tests match on (see the exception filter). */
export const COLLECTION_NOT_FOUND = 'INGESTION.COLLECTION_NOT_FOUND';
export const DOCUMENT_NOT_FOUND = 'INGESTION.DOCUMENT_NOT_FOUND';
export const EMBEDDER_MISMATCH = 'INGESTION.EMBEDDER_MISMATCH';
export const NOT_FAILED = 'INGESTION.NOT_FAILED';
export const JOB_NOT_FOUND = 'INGESTION.JOB_NOT_FOUND';
