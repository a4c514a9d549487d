import { type ErrorCode } from './error-codes.js';
import { httpStatusOf } from './error-status.js';

export { ErrorCode } from './error-codes.js';

/**
 * Errors that cross a boundary carry a stable code `CONTEXT.REASON`, a message and optional details;
 * the HTTP status of a code is chosen in one table (error-status.ts), never where the error is raised.
 * The same object travels over any transport, so a client sees the same error in every deployment.
 *
 * ErrorCode holds the codes the platform and several contexts share; each context's own codes are in
 * its catalogue (libs/<context>/src/domain/<context>.errors.ts).
 */
/** An error on the wire: `status` is the code's status from the table, so every process agrees. */
export interface SerializedError {
  code: string;
  message: string;
  status: number;
  details?: unknown;
}

/** What an error says beyond its message (the offending field, the cause's code, …). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = 'AppError';
  }

  /** The code's HTTP status, from the one table; under 500 means the caller's fault. */
  get status(): number {
    return httpStatusOf(this.code);
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
    return new AppError(value.code as ErrorCode, value.message, value.details as ErrorDetails | undefined);
  }
}
