import { AppError } from '#contracts';

/** A value the database refused as data (SQLSTATE class 22): the request's fault, not the database's. */
export const DATABASE_INVALID_INPUT = 'DATABASE.INVALID_INPUT';

const DATA_EXCEPTION = /^22[0-9A-Z]{3}$/;

/**
 * PostgreSQL (and PGlite) report a value they cannot take (a NUL in text, a number out of range, bad
 * UTF-8) as a data exception. Validation refuses such values first, naming the field; this is the second
 * wall for whatever slips past it, so that a client's bad input is a 400 and never counts towards a
 * circuit breaker as a failing database would. The database's own message is not passed on: it may
 * quote SQL or values.
 */
export function databaseInputError(error: unknown): AppError | undefined {
  const e = error as { code?: unknown; severity?: unknown } | null;
  if (typeof e !== 'object' || e === null) return undefined;
  if (typeof e.code !== 'string' || !DATA_EXCEPTION.test(e.code) || e.severity === undefined)
    return undefined;
  return new AppError(
    DATABASE_INVALID_INPUT,
    `a value in the request cannot be stored or compared by the database (SQLSTATE ${e.code})`,
  );
}
