import { ErrorCode } from './error-codes.js';

/**
 * The one table that turns an error code into the HTTP status it is answered with. Code that raises an
 * error names only its code (from #contracts' ErrorCode or its context's catalogue,
 * libs/<context>/src/domain/<context>.errors.ts); the exception filter answers with the status found here,
 * and the transports carry the same status so that every process agrees. A code missing from the table is
 * a server fault (500): libs/app's error-status spec checks that every catalogue's codes are listed.
 */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  // Shared by the platform and several contexts.
  [ErrorCode.ValidationFailed]: 400,
  [ErrorCode.InvalidFilter]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.Internal]: 500,
  'INTERNAL.ERROR': 500,
  [ErrorCode.Overloaded]: 503,
  [ErrorCode.RetrievalUnavailable]: 503,
  [ErrorCode.TransportUnavailable]: 503,
  [ErrorCode.TransportNoReplica]: 503,
  [ErrorCode.DatabaseUnavailable]: 503,
  'GATEWAY.UNAVAILABLE': 503,
  [ErrorCode.TransportTimeout]: 504,
  /** A value the database refused as data (libs/platform's database-input-error.ts). */
  'DATABASE.INVALID_INPUT': 400,
  // The gateway's HTTP edge (libs/platform/src/http: rate-limit.ts, http-edge.ts).
  /** A body still incomplete at its deadline: written by the body-deadline middleware itself. */
  'GATEWAY.REQUEST_TIMEOUT': 408,
  /** Sent with the limiter's own Retry-After. */
  'GATEWAY.RATE_LIMITED': 429,
  // The gateway's uploads and OpenAI-compatible API (libs/gateway/src/interface: uploads.ts, openai/).
  'GATEWAY.LENGTH_REQUIRED': 411,
  'GATEWAY.UNSUPPORTED_MEDIA_TYPE': 415,
  'GATEWAY.MODEL_NOT_FOUND': 404,
  // Authentication and authorization (libs/gateway/src/domain/auth.errors.ts); 401s carry WWW-Authenticate.
  'AUTH.KEY_MISSING': 401,
  'AUTH.KEY_INVALID': 401,
  'AUTH.KEY_REVOKED': 401,
  'AUTH.FORBIDDEN': 403,
  /** No key exists yet and the client is not on loopback (protected mode). */
  'AUTH.LOOPBACK_ONLY': 403,
  'AUTH.KEY_NOT_FOUND': 404,
  // Ingestion (libs/ingestion/src/domain/ingestion.errors.ts).
  'INGESTION.COLLECTION_NOT_FOUND': 404,
  'INGESTION.DOCUMENT_NOT_FOUND': 404,
  'INGESTION.JOB_NOT_FOUND': 404,
  'INGESTION.EMBEDDER_MISMATCH': 409,
  'INGESTION.NOT_FAILED': 409,
  'INGESTION.UNSUPPORTED_MEDIA_TYPE': 415,
  /** A deployment fault (two databases on one queue), not the caller's. */
  'INGESTION.REDIS_PREFIX_IN_USE': 500,
  // Retrieval (libs/retrieval/src/domain/retrieval.errors.ts).
  'RETRIEVAL.COLLECTION_NOT_FOUND': 404,
  'RETRIEVAL.DIMENSION_MISMATCH': 409,
  /** The configured cross-encoder failed: it never reaches a client, the ranking falls back. */
  'RETRIEVAL.RERANK_FAILED': 502,
  'RETRIEVAL.EMBEDDER_TIMEOUT': 504,
};

/** `GATEWAY.HTTP_415`: a framework or body-parser refusal that keeps its own status (under 500). */
const HTTP_PASSTHROUGH = /^GATEWAY\.HTTP_([1-4]\d\d)$/;
/** `<TARGET>.UNAVAILABLE`: a call target whose circuit is open (embedder, reranker, a context). */
const UNAVAILABLE = /\.UNAVAILABLE$/;

/** The HTTP status an error code is answered with. */
export function httpStatusOf(code: string): number {
  const status = STATUS_BY_CODE[code];
  if (status !== undefined) return status;
  const passthrough = HTTP_PASSTHROUGH.exec(code);
  if (passthrough) return Number(passthrough[1]);
  if (UNAVAILABLE.test(code)) return 503;
  return 500;
}

/** Whether the table lists the code itself (not through a family rule or the 500 default). */
export function hasListedStatus(code: string): boolean {
  return STATUS_BY_CODE[code] !== undefined;
}
