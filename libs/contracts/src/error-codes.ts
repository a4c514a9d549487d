/** The error codes the platform and several contexts share (each context's own are in its catalogue). */
export const ErrorCode = {
  ValidationFailed: 'GATEWAY.VALIDATION_FAILED',
  PayloadTooLarge: 'GATEWAY.PAYLOAD_TOO_LARGE',
  NotFound: 'GATEWAY.NOT_FOUND',
  Internal: 'GATEWAY.INTERNAL',
  Overloaded: 'GATEWAY.OVERLOADED',
  InvalidFilter: 'RETRIEVAL.INVALID_FILTER',
  RetrievalUnavailable: 'RETRIEVAL.UNAVAILABLE',
  TransportTimeout: 'TRANSPORT.TIMEOUT',
  TransportUnavailable: 'TRANSPORT.UNAVAILABLE',
  TransportNoReplica: 'TRANSPORT.NO_REPLICA',
  DatabaseUnavailable: 'DATABASE.UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode] | `${string}.${string}`;
