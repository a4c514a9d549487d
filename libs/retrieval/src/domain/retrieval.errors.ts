import { ErrorCode } from '#contracts';

/**
 * Retrieval's error codes: stable strings that clients and tests match on. RETRIEVAL.UNAVAILABLE is
 * #contracts' ErrorCode.RetrievalUnavailable, as the gateway raises it when retrieval cannot be reached.
 */
export const COLLECTION_NOT_FOUND = 'RETRIEVAL.COLLECTION_NOT_FOUND';
/** The query was embedded with other dimensions than the collection's vectors. */
export const DIMENSION_MISMATCH = 'RETRIEVAL.DIMENSION_MISMATCH';
export const EMBEDDER_TIMEOUT = 'RETRIEVAL.EMBEDDER_TIMEOUT';
/** The configured cross-encoder failed or answered nonsense. */
export const RERANK_FAILED = 'RETRIEVAL.RERANK_FAILED';
/** A metadata filter that cannot be compiled (shared with the transport's tests through ErrorCode). */
export const INVALID_FILTER = ErrorCode.InvalidFilter;
