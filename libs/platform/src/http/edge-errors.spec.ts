import { describe, expect, it } from 'vitest';
import { hasListedStatus, httpStatusOf } from '#contracts';
import { DATABASE_INVALID_INPUT } from '../database/database-input-error.js';
import { REQUEST_TIMEOUT } from './http-edge.js';
import { RATE_LIMITED } from './rate-limit.js';

/** The codes the platform raises at the HTTP edge and for the database's refusals. */
describe("the platform's error codes", () => {
  it('are listed in the one code-to-status table of #contracts, with the statuses they are answered with', () => {
    const expected = { [DATABASE_INVALID_INPUT]: 400, [REQUEST_TIMEOUT]: 408, [RATE_LIMITED]: 429 };
    const codes = Object.keys(expected);
    expect(codes.filter((code) => !hasListedStatus(code))).toEqual([]);
    expect(Object.fromEntries(codes.map((code) => [code, httpStatusOf(code)]))).toEqual(expected);
  });
});
