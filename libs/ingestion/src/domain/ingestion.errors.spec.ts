import { describe, expect, it } from 'vitest';
import { hasListedStatus } from '#contracts';
import * as catalogue from './ingestion.errors.js';

describe('the ingestion error catalogue', () => {
  it('has every code listed in the one code-to-status table of #contracts', () => {
    const codes = Object.values(catalogue).filter((value) => typeof value === 'string');
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.filter((code) => !hasListedStatus(code))).toEqual([]);
  });
});
