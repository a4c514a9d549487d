/**
 * Ingestion's error codes: stable strings that clients and tests match on. Codes shared with the
 * platform and every context (validation, transport, overload) are in #contracts' ErrorCode.
 */
export const COLLECTION_NOT_FOUND = 'INGESTION.COLLECTION_NOT_FOUND';
export const DOCUMENT_NOT_FOUND = 'INGESTION.DOCUMENT_NOT_FOUND';
export const JOB_NOT_FOUND = 'INGESTION.JOB_NOT_FOUND';
/** The collection's vectors are of a model this server cannot make: re-index it. */
export const EMBEDDER_MISMATCH = 'INGESTION.EMBEDDER_MISMATCH';
/** Only a failed document can be retried. */
export const NOT_FAILED = 'INGESTION.NOT_FAILED';
export const UNSUPPORTED_MEDIA_TYPE = 'INGESTION.UNSUPPORTED_MEDIA_TYPE';
/** REDIS_PREFIX holds the queue of another database. */
export const REDIS_PREFIX_IN_USE = 'INGESTION.REDIS_PREFIX_IN_USE';
