import { describe, expect, it } from 'vitest';
import { hasListedStatus, httpStatusOf } from '#contracts';
import * as catalogue from './auth.errors.js';

describe('the auth error catalogue', () => {
  it('has every code listed in the one code-to-status table of #contracts', () => {
    const codes = Object.values(catalogue).filter((value) => typeof value === 'string');
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.filter((code) => !hasListedStatus(code))).toEqual([]);
  });

  it('answers 401 for a missing, invalid or revoked key (the statuses that carry WWW-Authenticate)', () => {
    expect(httpStatusOf(catalogue.KEY_MISSING)).toBe(401);
    expect(httpStatusOf(catalogue.KEY_INVALID)).toBe(401);
    expect(httpStatusOf(catalogue.KEY_REVOKED)).toBe(401);
  });

  it('answers 403 for a key whose scopes fall short and for a remote client in protected mode', () => {
    expect(httpStatusOf(catalogue.FORBIDDEN)).toBe(403);
    expect(httpStatusOf(catalogue.LOOPBACK_ONLY)).toBe(403);
    expect(httpStatusOf(catalogue.KEY_NOT_FOUND)).toBe(404);
  });
});
