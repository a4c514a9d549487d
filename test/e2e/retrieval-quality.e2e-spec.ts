import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGESTION_PORT, RETRIEVAL_PORT, type IngestionPort, type RetrievalPort } from '#contracts';
import { SCIFACT_DIR, scifactAvailable, startTestApp, type TestApp } from '#testing';
import { createApp } from '#app';
import type { EvalMode } from '../../apps/cli/src/eval-modes.js';
import { evaluate, formatResults, type ModeResult } from '../../apps/cli/src/evaluate.js';

/**
 * The retrieval quality guard: `ragnest eval`'s own code scores a fixed SciFact subset (all test queries;
 * the judged documents plus the first 2000 others) on a fresh PostgreSQL database, in the default
 * configuration. It fails when
 * - any query came back `degraded` (a leg missing: hybrid answered by BM25 alone is not hybrid);
 * - a mode's ranking stops differing from the modes it is made of: hybrid must rank the top 10
 *   differently from sparse and from dense, and hybrid-rerank from hybrid, on at least half as many
 *   queries as the record says they did (their nDCG@10 are within 0.002 of each other, so the figures
 *   alone could not see fusion or re-ranking switched off);
 * - a mode's nDCG@10 moves more than TOLERANCE from the record in test/quality/scifact-subset.json, below
 *   or above: an improvement updates the record in the same commit, so that the next change is held to
 *   the new level rather than the old one.
 * UPDATE_QUALITY_RECORD=1 (npm run quality:record) writes the record instead of comparing.
 */
const DATASET = SCIFACT_DIR;
const RECORD = fileURLToPath(new URL('../quality/scifact-subset.json', import.meta.url));
const RECORD_PATH = 'test/quality/scifact-subset.json';
const SUBSET = { dataset: 'scifact', split: 'test', docs: 2000, queries: 300 };
const MODES: EvalMode[] = ['sparse', 'dense', 'hybrid', 'hybrid-rerank'];
/**
 * How far a mode's nDCG@10 may move from its record, chosen from measured run-to-run noise: there is
 * none. Four runs on 2026-12-06 (fresh database each, two of them while another e2e suite loaded the
 * 2 cores) gave the same figures to six decimals (sparse 0.746368, dense 0.536473, hybrid 0.746180,
 * hybrid-rerank 0.745070): the hashing embedder, BM25 and MMR are deterministic, and the HNSW graph of
 * 2,000-odd vectors finds the same neighbours. So the tolerance is tight; 0.002 rather than 0.0001
 * leaves room for another PostgreSQL or pgvector build ordering ties differently. The old 0.01 was wider
 * than the gap between the modes, so it could not see hybrid fall back to BM25 alone; the differing-top-10
 * check below sees that (with HYBRID_DENSE_WEIGHT=0 hybrid ranked like sparse on all 300 queries and
 * its nDCG@10 moved by 0.0002, inside any tolerance).
 */
const TOLERANCE = 0.002;
/** A fused mode and the mode it is made from: their top 10s must differ on enough queries. */
const MUST_DIFFER: [EvalMode, EvalMode][] = [
  ['hybrid', 'sparse'],
  ['hybrid', 'dense'],
  ['hybrid-rerank', 'hybrid'],
];
/** Below this share of the recorded count of differing queries, a mode is taken to have stopped differing. */
const MIN_DIFFERING_SHARE = 0.5;
const UPDATE = process.env.UPDATE_QUALITY_RECORD === '1';
const HOW_TO_UPDATE = `npm run quality:record, then commit ${RECORD_PATH} with the change (and say why in its "updated")`;
const HAS_SCIFACT = scifactAvailable('retrieval-quality.e2e-spec.ts');

type PairName = `${EvalMode}~${EvalMode}`;

interface QualityRecord {
  subset: typeof SUBSET;
  ndcg10: Partial<Record<EvalMode, number>>;
  /** Queries (of SUBSET.queries) on which the two modes' top-10 document rankings differ. */
  differingTop10: Partial<Record<PairName, number>>;
  updated: string;
}

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;
const pairName = ([a, b]: [EvalMode, EvalMode]): PairName => `${a}~${b}`;

describe.skipIf(!HAS_SCIFACT)('retrieval quality on a SciFact subset', () => {
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
    console.log(
      `nDCG@10 unrounded: ${results.map((r) => `${r.mode} ${r.metrics.ndcg10.toFixed(6)}`).join(', ')}; ` +
        `top 10 differs on: ${MUST_DIFFER.map((p) => `${pairName(p)} ${differing(p)}`).join(', ')}`,
    );
  });

  afterAll(async () => {
    await t?.close();
  });

  const result = (mode: EvalMode) => {
    const r = results.find((x) => x.mode === mode)!;
    // A query without text in queries.jsonl would be skipped and shift the mean: the subset must be whole.
    expect(r.queries).toBe(SUBSET.queries);
    return r;
  };
  const figure = (mode: EvalMode) => round4(result(mode).metrics.ndcg10);
  /** Queries on which the two modes rank different documents in their top 10 (order counts). */
  const differing = ([a, b]: [EvalMode, EvalMode]) => {
    const top = (mode: EvalMode) => result(mode).perQuery;
    const ofA = top(a);
    const ofB = top(b);
    return Object.keys(ofA).filter(
      (qid) => ofA[qid].ranked.slice(0, 10).join(' ') !== ofB[qid]?.ranked.slice(0, 10).join(' '),
    ).length;
  };

  if (UPDATE) {
    it(`writes ${RECORD_PATH}`, () => {
      for (const mode of MODES) expect(result(mode).degraded, `${mode}: degraded queries`).toBe(0);
      const record: QualityRecord = {
        subset: SUBSET,
        ndcg10: Object.fromEntries(MODES.map((m) => [m, figure(m)])),
        differingTop10: Object.fromEntries(MUST_DIFFER.map((p) => [pairName(p), differing(p)])),
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

  it.each(MODES)('%s: no query came back degraded', (mode) => {
    const r = result(mode);
    expect(
      r.degraded,
      `${mode}: ${r.degraded} of ${r.queries} queries were answered without a leg ` +
        `(${JSON.stringify(r.degradedLegs)}): the figures would not be ${mode}'s`,
    ).toBe(0);
  });

  it.each(MUST_DIFFER)('%s ranks differently from %s on enough queries', (a, b) => {
    const recorded = record().differingTop10?.[pairName([a, b])];
    expect(
      recorded,
      `${RECORD_PATH} has no differingTop10 for ${pairName([a, b])}; ${HOW_TO_UPDATE}`,
    ).toBeTypeOf('number');
    const n = differing([a, b]);
    expect(
      n,
      `${a} ranks the top 10 like ${b} on all but ${n} of ${SUBSET.queries} queries (recorded: ${recorded}): ` +
        `has ${a === 'hybrid-rerank' ? 're-ranking' : 'fusion'} stopped working? If the change is intended, ${HOW_TO_UPDATE}`,
    ).toBeGreaterThanOrEqual(Math.max(1, Math.ceil(MIN_DIFFERING_SHARE * recorded!)));
  });

  it.each(MODES)(`%s: nDCG@10 stays within ${TOLERANCE} of its record`, (mode) => {
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
