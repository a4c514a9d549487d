import { describe, expect, it } from 'vitest';
import {
  assertComparable,
  compareMode,
  compareReports,
  DEFAULT_COMPARE,
  formatComparison,
  pairedRandomizationTest,
  parseEvalReport,
  seededRandom,
  type EvalReport,
} from './compare.js';

/** An eval output as `ragnest eval --output` writes it, with `ndcg` per query (other metrics derived). */
function output(modes: Record<string, Record<string, number>>, overrides: Record<string, unknown> = {}) {
  return {
    format: 'ragnest-eval',
    dataset: '/data/scifact',
    datasetName: 'scifact',
    split: 'test',
    subset: { docs: 2000, queries: 300 },
    corpusDocuments: 2283,
    results: Object.entries(modes).map(([mode, perQuery]) => ({
      mode,
      perQuery: Object.fromEntries(
        Object.entries(perQuery).map(([id, ndcg]) => [
          id,
          {
            query: `question ${id}`,
            ndcg10: ndcg,
            recall10: ndcg,
            recall100: 1,
            mrr10: ndcg / 2,
            ranked: [],
          },
        ]),
      ),
    })),
    ...overrides,
  };
}

const report = (file: string, ...args: Parameters<typeof output>): EvalReport =>
  parseEvalReport(output(...args), file);

describe('reading eval outputs', () => {
  it('reads metrics and query texts per mode and query', () => {
    const r = report('a.json', { hybrid: { q1: 0.5 } });
    expect(r).toMatchObject({ datasetName: 'scifact', split: 'test', subset: { docs: 2000, queries: 300 } });
    expect(r.modes.get('hybrid')!.get('q1')).toEqual({
      query: 'question q1',
      ndcg10: 0.5,
      recall10: 0.5,
      recall100: 1,
      mrr10: 0.25,
    });
  });

  it('reads files from before subsets as whole-data-set runs, named by their directory', () => {
    const legacy = {
      dataset: '../shared/datasets/scifact/',
      split: 'test',
      results: [
        { mode: 'sparse', perQuery: { q1: { ndcg10: 1, recall10: 1, recall100: 1, mrr10: 1, ranked: [] } } },
      ],
    };
    const r = parseEvalReport(legacy, 'old.json');
    expect(r).toMatchObject({ datasetName: 'scifact', subset: { docs: null, queries: null } });
    expect(r.corpusDocuments).toBeUndefined();
    expect(r.modes.get('sparse')!.get('q1')!.query).toBeUndefined();
  });

  it.each([
    ['an array', [], /not a JSON object/],
    ['another format', { ...output({}), format: 'junit' }, /format is "junit"/],
    ['a package.json', { name: 'ragnest', version: '0.1.0' }, /no "split"/],
    [
      'results without perQuery',
      { ...output({}), results: [{ mode: 'dense' }] },
      /results\[0\] has no "mode"/,
    ],
    [
      'a query without a metric',
      { ...output({}), results: [{ mode: 'dense', perQuery: { q1: { ndcg10: 1 } } }] },
      /perQuery\["q1"\] lacks a metric/,
    ],
  ])('refuses %s as not an eval output', (_what, json, reason) => {
    expect(() => parseEvalReport(json, 'x.json')).toThrow(/^x\.json is not a ragnest eval output/);
    expect(() => parseEvalReport(json, 'x.json')).toThrow(reason);
  });
});

describe('what may be compared', () => {
  const a = report('a.json', { hybrid: { q1: 1 } });

  it('refuses runs on other data, naming every difference', () => {
    const b = report(
      'b.json',
      { hybrid: { q1: 1 } },
      { split: 'train', subset: { docs: 500, queries: 300 } },
    );
    expect(() => assertComparable(a, b)).toThrow(
      'cannot compare runs on different data:\n' +
        '  split: test in a.json, train in b.json\n' +
        '  --docs: 2000 in a.json, 500 in b.json',
    );
  });

  it('refuses another data set, a whole run against a subset, and a corpus of another size', () => {
    const other = report('b.json', { hybrid: { q1: 1 } }, { datasetName: 'nfcorpus' });
    expect(() => assertComparable(a, other)).toThrow('data set: scifact in a.json, nfcorpus in b.json');
    const whole = report('b.json', { hybrid: { q1: 1 } }, { subset: { docs: 2000, queries: null } });
    expect(() => assertComparable(a, whole)).toThrow('--queries: 300 in a.json, all in b.json');
    const bigger = report('b.json', { hybrid: { q1: 1 } }, { corpusDocuments: 2500 });
    expect(() => assertComparable(a, bigger)).toThrow('corpus documents: 2283 in a.json, 2500 in b.json');
  });

  it('refuses files with no mode in common', () => {
    expect(() => assertComparable(a, report('b.json', { dense: { q1: 1 } }))).toThrow(
      'no mode in both files (hybrid in a.json; dense in b.json)',
    );
  });
});

describe('the paired randomization test', () => {
  it('is reproducible for a seed', () => {
    const first = seededRandom(7);
    const again = seededRandom(7);
    const draws = Array.from({ length: 5 }, () => first());
    expect(draws).toEqual(Array.from({ length: 5 }, () => again()));
    for (const d of draws) expect(d).toBeGreaterThanOrEqual(0);
    for (const d of draws) expect(d).toBeLessThan(1);
    const differences = [0.1, -0.05, 0.2, 0, 0.3, -0.1];
    expect(pairedRandomizationTest(differences, 2000, 1)).toBe(pairedRandomizationTest(differences, 2000, 1));
  });

  it('gives p = 1 when nothing changed, and a small p for a consistent change', () => {
    expect(pairedRandomizationTest([0, 0, 0], 1000, 1)).toBe(1);
    expect(pairedRandomizationTest([], 1000, 1)).toBe(1);
    // 20 queries all better by the same amount: only the 2 all-same-sign flips of 2^20 reach it.
    const p = pairedRandomizationTest(Array(20).fill(0.1), 10_000, 1);
    expect(p).toBeLessThan(0.001);
    expect(p).toBeGreaterThanOrEqual(1 / 10_001);
  });

  it('matches the exact permutation p-value for a small case', () => {
    // Differences 1, 1, -1: of the 8 sign patterns, those with |sum| >= 1 are all 8 (sums ±1, ±3).
    expect(pairedRandomizationTest([1, 1, -1], 5000, 3)).toBe(1);
    // Differences 3, 1, 1: |sum| >= 5 only for all-plus and all-minus, 2 of 8 patterns.
    expect(pairedRandomizationTest([3, 1, 1], 20_000, 3)).toBeCloseTo(0.25, 1);
  });
});

describe('comparing two runs', () => {
  const a = report('a.json', {
    hybrid: { q1: 0.2, q2: 0.5, q3: 1, q4: 0.7, q5: 0.3, qa: 0.4 },
    sparse: { q1: 1 },
  });
  const b = report('b.json', {
    hybrid: { q1: 0.9, q2: 0.5, q3: 0.6, q4: 0.8, q5: 0.4, qb: 0.1 },
    dense: { q1: 1 },
  });

  it('compares each mode in both files over the queries in both', () => {
    const [hybrid, ...rest] = compareReports(a, b);
    expect(rest).toEqual([]);
    expect(hybrid).toMatchObject({ mode: 'hybrid', paired: 5, onlyInA: 1, onlyInB: 1 });
    expect(hybrid.means.ndcg10.a).toBeCloseTo((0.2 + 0.5 + 1 + 0.7 + 0.3) / 5, 12);
    expect(hybrid.means.ndcg10.b).toBeCloseTo((0.9 + 0.5 + 0.6 + 0.8 + 0.4) / 5, 12);
    expect(hybrid.means.ndcg10.change).toBeCloseTo(0.1, 12);
    expect(hybrid.means.recall100).toEqual({ a: 1, b: 1, change: 0 });
    expect(hybrid.ndcg10).toMatchObject({ improved: 3, worsened: 1, same: 1 });
    expect(hybrid.ndcg10.pValue).toBeGreaterThan(0);
    expect(hybrid.ndcg10.pValue).toBeLessThanOrEqual(1);
  });

  it('lists the largest gains and losses, biggest first, with the query text', () => {
    const [hybrid] = compareReports(a, b);
    expect(hybrid.largestGains.map((q) => q.id)).toEqual(['q1', 'q4', 'q5']);
    expect(hybrid.largestGains[0]).toMatchObject({ id: 'q1', query: 'question q1', a: 0.2, b: 0.9 });
    expect(hybrid.largestGains[0].change).toBeCloseTo(0.7, 12);
    expect(hybrid.largestLosses).toHaveLength(1);
    expect(hybrid.largestLosses[0]).toMatchObject({ id: 'q3', a: 1, b: 0.6 });
  });

  it('keeps the `top` largest changes in each direction, ties by query id', () => {
    const many = (value: number) =>
      new Map(Array.from({ length: 15 }, (_, i) => [`q${String(i).padStart(2, '0')}`, metrics(value)]));
    const c = compareMode('dense', many(0), many(0.5), { ...DEFAULT_COMPARE, permutations: 100 });
    expect(c.largestGains.map((q) => q.id)).toEqual(
      Array.from({ length: 10 }, (_, i) => `q${String(i).padStart(2, '0')}`),
    );
    expect(c.largestLosses).toEqual([]);
  });

  it('prints means, counts, the p-value and the queries that moved', () => {
    const text = formatComparison(a, b, compareReports(a, b));
    expect(text).toMatch(/^scifact, split test \(judged documents \+ 2000, first 300 queries\)/);
    expect(text).toMatch(/## hybrid: 5 queries in both/);
    expect(text).toMatch(/\(left out: 1 queries only in a, 1 only in b\)/);
    expect(text).toMatch(/\| nDCG@10 {4}\| 0\.5400 \| 0\.6400 \| \+0\.1000 \|/);
    expect(text).toMatch(
      /3 improved, 1 worsened, 1 the same; paired randomization test p = 0\.\d{4} \(10000 permutations/,
    );
    expect(text).toMatch(/\+0\.7000 {2}q1 +0\.2000 → 0\.9000 {2}question q1/);
    expect(text).toMatch(/−0\.4000 {2}q3 +1\.0000 → 0\.6000 {2}question q3/);
  });
});

function metrics(ndcg10: number) {
  return { ndcg10, recall10: ndcg10, recall100: 1, mrr10: ndcg10 };
}
