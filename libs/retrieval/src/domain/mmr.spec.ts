import { describe, expect, it } from 'vitest';
import { jaccard, maximalMarginalRelevance } from './mmr.js';

const set = (s: string) => new Set(s.split(' '));

describe('maximalMarginalRelevance', () => {
  it('skips a near-duplicate in favour of a diverse, slightly less relevant candidate', () => {
    const picked = maximalMarginalRelevance(
      [
        { item: 'a', relevance: 1, terms: set('vitamin d bone density') },
        { item: 'a-copy', relevance: 0.99, terms: set('vitamin d bone density') },
        { item: 'b', relevance: 0.9, terms: set('calcium fracture risk') },
      ],
      2,
      0.7,
    );
    expect(picked).toEqual(['a', 'b']);
  });

  it('is plain relevance order with lambda 1', () => {
    const picked = maximalMarginalRelevance(
      [
        { item: 'x', relevance: 0.5, terms: set('a') },
        { item: 'y', relevance: 0.9, terms: set('a') },
        { item: 'z', relevance: 0.7, terms: set('a') },
      ],
      3,
      1,
    );
    expect(picked).toEqual(['y', 'z', 'x']);
  });

  it('handles fewer candidates than topK and validates lambda', () => {
    expect(maximalMarginalRelevance([{ item: 1, relevance: 1, terms: set('a') }], 5)).toEqual([1]);
    expect(maximalMarginalRelevance([], 5)).toEqual([]);
    expect(() => maximalMarginalRelevance([], 1, 2)).toThrow(/lambda/);
  });

  it('computes jaccard similarity', () => {
    expect(jaccard(set('a b c'), set('b c d'))).toBeCloseTo(2 / 4);
    expect(jaccard(new Set(), set('a'))).toBe(0);
  });
});
