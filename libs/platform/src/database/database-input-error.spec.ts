import { describe, expect, it } from 'vitest';
import { AppError } from '#contracts';
import { isTargetFailure } from '../resilience/resilience.service.js';
import { serializeError } from '../errors/serialize-error.js';
import { toAppError } from '../http/app-exception.filter.js';
import { DATABASE_INVALID_INPUT, databaseInputError } from './database-input-error.js';

/** What PostgreSQL's driver throws for a NUL in text: a DatabaseError with SQLSTATE 22P05. */
const nulInText = Object.assign(new Error('unsupported Unicode escape sequence'), {
  code: '22P05',
  severity: 'ERROR',
});

describe('a value the database refuses as data', () => {
  it('is the caller’s 400, not the database’s failure', () => {
    const error = databaseInputError(nulInText);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 400, code: DATABASE_INVALID_INPUT });
    // The database's own words may quote SQL or values: they are not passed on.
    expect(error!.message).not.toContain('Unicode');
    expect(toAppError(nulInText).status).toBe(400);
    expect(serializeError(nulInText)).toMatchObject({ status: 400, code: DATABASE_INVALID_INPUT });
  });

  it('never counts towards a circuit breaker, where a database outage does', () => {
    expect(isTargetFailure(nulInText)).toBe(false);
    expect(isTargetFailure(toAppError(nulInText))).toBe(false);
    const outage = Object.assign(new Error('terminating connection'), { code: '57P01', severity: 'FATAL' });
    expect(databaseInputError(outage)).toBeUndefined();
    expect(isTargetFailure(outage)).toBe(true);
    expect(databaseInputError(Object.assign(new Error('x'), { code: '22P05' }))).toBeUndefined();
  });
});
