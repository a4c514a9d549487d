import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '#testing';

/** The built `ragnest` command, run as a user runs it, on a fresh PostgreSQL database. */
const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/ragnest.js', import.meta.url));

describe('ragnest CLI', () => {
  let db: TestDatabase;
  let dir: string;
  const ragnest = (...args: string[]) =>
    run(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn' },
      timeout: 120_000,
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'ragnest-cli-'));
    writeFileSync(
      join(dir, 'tea.md'),
      '# Green tea\n\nGreen tea contains catechins, which are antioxidants.',
    );
    writeFileSync(join(dir, 'coffee.txt'), 'Coffee contains caffeine, a stimulant of the nervous system.');
    writeFileSync(
      join(dir, 'more.jsonl'),
      [
        { id: 'cocoa', title: 'Cocoa', text: 'Cocoa beans contain flavanols and theobromine.' },
        { id: 'mate', title: 'Mate', text: 'Yerba mate is brewed from holly leaves.' },
      ]
        .map((d) => JSON.stringify(d))
        .join('\n'),
    );
    writeFileSync(join(dir, 'broken.pdf'), '%PDF-1.4 not a real pdf');
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('ingests a directory and sums up indexed, unchanged and failed documents with reasons', async () => {
    const first = await ragnest('ingest', 'drinks', dir).catch((e: { stdout: string; code: number }) => e);
    expect(first.stdout).toMatch(/^4 indexed, 0 unchanged, 1 failed/m);
    expect(first.stdout).toMatch(/failed broken\.pdf: .+/);
    expect((first as { code?: number }).code).toBe(2);

    const again = await ragnest('ingest', 'drinks', join(dir, '*.{md,txt,jsonl}'));
    expect(again.stdout).toMatch(/^0 indexed, 4 unchanged, 0 failed/m);
  });

  it('answers a question with its numbered sources', async () => {
    const { stdout } = await ragnest('query', 'drinks', 'What does green tea contain?');
    expect(stdout).toMatch(/catechins.*\[1\]/);
    expect(stdout).toMatch(/Sources:\n\[1\] Green tea \(tea\.md/);
  });

  it('evaluates a BEIR-layout data set', async () => {
    const beir = join(dir, 'beir');
    mkdirSync(join(beir, 'qrels'), { recursive: true });
    writeFileSync(
      join(beir, 'corpus.jsonl'),
      [
        { _id: 'd1', title: 'Aspirin', text: 'Aspirin lowers the risk of stroke.' },
        { _id: 'd2', title: 'Statins', text: 'Statins lower cholesterol.' },
        { _id: 'd3', title: 'Sleep', text: 'Short sleep is linked to obesity.' },
      ]
        .map((d) => JSON.stringify(d))
        .join('\n'),
    );
    writeFileSync(
      join(beir, 'queries.jsonl'),
      [
        { _id: 'q1', text: 'aspirin stroke' },
        { _id: 'q2', text: 'cholesterol statins' },
      ]
        .map((q) => JSON.stringify(q))
        .join('\n'),
    );
    writeFileSync(join(beir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n');
    const output = join(dir, 'eval.json');
    const { stdout } = await ragnest(
      'eval',
      beir,
      '--collection',
      'tiny',
      '--mode',
      'sparse,hybrid',
      '--output',
      output,
    );
    expect(stdout).toMatch(/\| sparse \| 1\.0000 \| 1\.0000 \| 1\.0000 \| 1\.0000 \|/);
    expect(stdout).toMatch(/\| hybrid \| 1\.0000 \|/);
    const report = JSON.parse((await import('node:fs')).readFileSync(output, 'utf8'));
    expect(report.results[0].perQuery.q1.ranked[0]).toBe('d1');
  });

  it('refuses a bad collection name with a clear message', async () => {
    const failure = await ragnest('query', 'bad name', 'x').catch((e: { stderr: string; code: number }) => e);
    expect((failure as { code: number }).code).toBe(1);
    expect((failure as { stderr: string }).stderr).toMatch(/collection name/);
  });
});
