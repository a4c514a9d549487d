import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { scifactAvailable } from './scifact.js';

describe('scifactAvailable', () => {
  let dir: string;
  const required = process.env.REQUIRE_SCIFACT;

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'ragnest-scifact-')), 'scifact');
  });

  afterEach(() => {
    rmSync(join(dir, '..'), { recursive: true, force: true });
    if (required === undefined) delete process.env.REQUIRE_SCIFACT;
    else process.env.REQUIRE_SCIFACT = required;
    vi.restoreAllMocks();
  });

  it('says what is missing and where to put it, and skips, on a clone without the data set', () => {
    delete process.env.REQUIRE_SCIFACT;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(scifactAvailable('some.e2e-spec.ts', dir)).toBe(false);
    const [notice] = warn.mock.calls[0] as [string];
    expect(notice).toContain('SKIPPED: some.e2e-spec.ts needs BEIR SciFact in');
    expect(notice).toContain(dir);
    expect(notice).toContain('corpus.jsonl, queries.jsonl, qrels/test.tsv');
    expect(notice).toContain('scifact.zip');
  });

  it('fails instead under REQUIRE_SCIFACT=1, as .ci/run sets it', () => {
    process.env.REQUIRE_SCIFACT = '1';
    expect(() => scifactAvailable('some.e2e-spec.ts', dir)).toThrow(/REQUIRE_SCIFACT=1/);
  });

  it('runs the suite when the files are there', () => {
    mkdirSync(join(dir, 'qrels'), { recursive: true });
    for (const f of ['corpus.jsonl', 'queries.jsonl', join('qrels', 'test.tsv')])
      writeFileSync(join(dir, f), '');
    expect(scifactAvailable('some.e2e-spec.ts', dir)).toBe(true);
  });
});
