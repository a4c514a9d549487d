import { describe, expect, it } from 'vitest';
import { documentRanking, meanMetrics, mrrAt, ndcgAt, queryMetrics, recallAt } from './metrics.js';

const rel = (entries: [string, number][]) => new Map(entries);

describe('ranking metrics', () => {
  it('nDCG@k is 1 for the ideal ranking and discounts later hits by log2', () => {
    expect(
      ndcgAt(
        ['a', 'b', 'x'],
        rel([
          ['a', 1],
          ['b', 1],
        ]),
        10,
      ),
    ).toBe(1);
    const expected = 1 / Math.log2(3) / (1 + 1 / Math.log2(3));
    expect(
      ndcgAt(
        ['x', 'a', 'b'],
        rel([
          ['a', 1],
          ['b', 1],
        ]),
        10,
      ),
    ).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3)), 12);
    expect(
      ndcgAt(
        ['x', 'a'],
        rel([
          ['a', 1],
          ['b', 1],
        ]),
        10,
      ),
    ).toBeCloseTo(expected, 12);
    expect(ndcgAt(['x'], rel([['a', 1]]), 10)).toBe(0);
  });

  it('uses graded relevance as the gain', () => {
    expect(
      ndcgAt(
        ['b', 'a'],
        rel([
          ['a', 2],
          ['b', 1],
        ]),
        10,
      ),
    ).toBeCloseTo((1 + 2 / Math.log2(3)) / (2 + 1 / Math.log2(3)), 12);
  });

  it('recall@k and MRR@k', () => {
    const r = rel([
      ['a', 1],
      ['b', 1],
    ]);
    expect(recallAt(['x', 'a', 'y'], r, 2)).toBe(0.5);
    expect(recallAt(['a', 'b'], r, 10)).toBe(1);
    expect(mrrAt(['x', 'y', 'b'], r, 10)).toBeCloseTo(1 / 3);
    expect(mrrAt(['x', 'y', 'b'], r, 2)).toBe(0);
  });

  it('averages per-query metrics', () => {
    const m = meanMetrics([queryMetrics(['a'], rel([['a', 1]])), queryMetrics(['x'], rel([['a', 1]]))]);
    expect(m).toEqual({ ndcg10: 0.5, recall10: 0.5, recall100: 0.5, mrr10: 0.5 });
  });

  it('ranks documents by their best chunk', () => {
    expect(
      documentRanking([
        { documentId: 'd1' },
        { documentId: 'd2' },
        { documentId: 'd1' },
        { documentId: 'd3' },
      ]),
    ).toEqual(['d1', 'd2', 'd3']);
  });
});
