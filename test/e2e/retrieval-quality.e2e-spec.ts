import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGESTION_PORT, RETRIEVAL_PORT, type IngestionPort, type RetrievalPort } from '#contracts';
import { startTestApp, type TestApp } from '#testing';
import { createApp } from '../../apps/server/src/bootstrap.js';
import type { EvalMode } from '../../apps/cli/src/eval-modes.js';
import { evaluate, formatResults, type ModeResult } from '../../apps/cli/src/evaluate.js';

/**
 * The retrieval quality guard: `ragnest eval`'s own code scores a fixed SciFact subset (all test queries;
 * the judged documents plus the first 2000 others) on a fresh PostgreSQL database, in the default
 * configuration, and each mode's nDCG@10 must stay within TOLERANCE of the record in
 * test/quality/scifact-subset.json. A figure above the record fails as well: an improvement updates the
 * record in the same commit, so that the next change is held to the new level rather than the old one.
 * UPDATE_QUALITY_RECORD=1 (npm run quality:record) writes the record instead of comparing.
 */
const DATASET = fileURLToPath(new URL('../../../shared/datasets/scifact', import.meta.url));
const RECORD = fileURLToPath(new URL('../quality/scifact-subset.json', import.meta.url));
const RECORD_PATH = 'test/quality/scifact-subset.json';
const SUBSET = { dataset: 'scifact', split: 'test', docs: 2000, queries: 300 };
const MODES: EvalMode[] = ['sparse', 'dense', 'hybrid', 'hybrid-rerank'];
const TOLERANCE = 0.01;
const UPDATE = process.env.UPDATE_QUALITY_RECORD === '1';
const HOW_TO_UPDATE = `npm run quality:record, then commit ${RECORD_PATH} with the change (and say why in its "updated")`;

interface QualityRecord {
  subset: typeof SUBSET;
  ndcg10: Partial<Record<EvalMode, number>>;
  updated: string;
}

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;

describe('retrieval quality on a SciFact subset', () => {
  let t: TestApp;
  let results: ModeResult[];

  beforeAll(async () => {
    t = await startTestApp(createApp, 'postgres');
    results = await evaluate(
      t.app.get<IngestionPort>(INGESTION_PORT),
      t.app.get<RetrievalPort>(RETRIEVAL_PORT),
      {
        dir: DATASET,
        collection: 'scifact-quality',
        modes: MODES,
        split: SUBSET.split,
        docs: SUBSET.docs,
        queries: SUBSET.queries,
        progress: false,
        rerankDocuments: t.config.rerank.maxDocuments,
      },
    );
    console.log(formatResults(results));
  });

  afterAll(async () => {
    await t?.close();
  });

  const figure = (mode: EvalMode) => {
    const result = results.find((r) => r.mode === mode)!;
    // A query without text in queries.jsonl would be skipped and shift the mean: the subset must be whole.
    expect(result.queries).toBe(SUBSET.queries);
    return round4(result.metrics.ndcg10);
  };

  if (UPDATE) {
    it(`writes ${RECORD_PATH}`, () => {
      const record: QualityRecord = {
        subset: SUBSET,
        ndcg10: Object.fromEntries(MODES.map((m) => [m, figure(m)])),
        updated: `${new Date().toISOString().slice(0, 10)}: written by UPDATE_QUALITY_RECORD=1`,
      };
      writeFileSync(RECORD, `${JSON.stringify(record, null, 2)}\n`);
      expect(JSON.parse(readFileSync(RECORD, 'utf8'))).toEqual(record);
    });
    return;
  }

  const record = (): QualityRecord => {
    if (!existsSync(RECORD)) throw new Error(`${RECORD_PATH} is missing; write it with: ${HOW_TO_UPDATE}`);
    const r = JSON.parse(readFileSync(RECORD, 'utf8')) as QualityRecord;
    expect(r.subset, `${RECORD_PATH} records another subset than this test scores; ${HOW_TO_UPDATE}`).toEqual(
      SUBSET,
    );
    return r;
  };

  it.each(MODES)('%s: nDCG@10 stays within 0.01 of its record', (mode) => {
    const recorded = record().ndcg10[mode];
    const ndcg = figure(mode);
    expect(recorded, `${RECORD_PATH} has no nDCG@10 for ${mode}; ${HOW_TO_UPDATE}`).toBeTypeOf('number');
    const change = round4(ndcg - recorded!);
    expect(
      change,
      `${mode}: nDCG@10 is ${ndcg.toFixed(4)}, ${Math.abs(change).toFixed(4)} below its record ${recorded!.toFixed(4)} ` +
        `in ${RECORD_PATH} (tolerance ${TOLERANCE}). If the loss is intended, update the record: ${HOW_TO_UPDATE}`,
    ).toBeGreaterThanOrEqual(-TOLERANCE);
    expect(
      change,
      `${mode}: nDCG@10 is ${ndcg.toFixed(4)}, ${change.toFixed(4)} above its record ${recorded!.toFixed(4)} ` +
        `in ${RECORD_PATH} (tolerance ${TOLERANCE}). An improvement must update the record in the same commit, ` +
        `so that later changes are held to it: ${HOW_TO_UPDATE}`,
    ).toBeLessThanOrEqual(TOLERANCE);
  });
});
