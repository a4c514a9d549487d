/**
 * Errors that cross a boundary carry a stable code `CONTEXT.REASON` and the HTTP status they map to.
 * The same object travels over any transport, so a client sees the same error in every deployment.
 *
 * ErrorCode holds the codes the platform and several contexts share; each context's own codes are in
 * its catalogue (libs/<context>/src/domain/<context>.errors.ts).
 */
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

export interface SerializedError {
  code: string;
  message: string;
  status: number;
  details?: unknown;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }

  static badRequest(code: ErrorCode, message: string, details?: unknown): AppError {
    return new AppError(code, message, 400, details);
  }

  static notFound(code: ErrorCode, message: string): AppError {
    return new AppError(code, message, 404);
  }

  static unavailable(code: ErrorCode, message: string): AppError {
    return new AppError(code, message, 503);
  }

  toJSON(): SerializedError {
    return { code: this.code, message: this.message, status: this.status, details: this.details };
  }

  static isSerialized(value: unknown): value is SerializedError {
    return (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as SerializedError).code === 'string' &&
      typeof (value as SerializedError).status === 'number'
    );
  }

  static fromSerialized(value: SerializedError): AppError {
    return new AppError(value.code as ErrorCode, value.message, value.status, value.details);
  }
}
