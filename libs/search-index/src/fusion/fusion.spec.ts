import { describe, expect, it } from 'vitest';
import { reciprocalRankFusion } from './fusion.js';

describe('reciprocalRankFusion', () => {
  it('sums weighted reciprocal ranks', () => {
    const fused = reciprocalRankFusion(
      [
        { weight: 1, ids: ['a', 'b', 'c'] },
        { weight: 1, ids: ['b', 'd'] },
      ],
      60,
    );
    expect(fused.map((f) => f.id)).toEqual(['b', 'a', 'd', 'c']);
    expect(fused[0].score).toBeCloseTo(1 / 62 + 1 / 61, 12);
    expect(fused[0].ranks).toEqual([2, 1]);
    expect(fused.find((f) => f.id === 'c')!.ranks).toEqual([3, null]);
  });

  it('lets a weight favour one list', () => {
    const lists = [
      { weight: 1, ids: ['a', 'b'] },
      { weight: 3, ids: ['b', 'a'] },
    ];
    expect(reciprocalRankFusion(lists, 60)[0].id).toBe('b');
    expect(
      reciprocalRankFusion(
        [
          { ...lists[0], weight: 3 },
          { ...lists[1], weight: 1 },
        ],
        60,
      )[0].id,
    ).toBe('a');
  });

  it('is deterministic on ties and ignores repeated ids', () => {
    const fused = reciprocalRankFusion(
      [
        { weight: 1, ids: ['x', 'x', 'y'] },
        { weight: 1, ids: ['y', 'x'] },
      ],
      10,
    );
    expect(fused.map((f) => f.id)).toEqual(['x', 'y']);
    expect(fused[0].score).toBeCloseTo(1 / 11 + 1 / 12, 12);
  });

  it('handles empty lists and rejects a bad k', () => {
    expect(reciprocalRankFusion([{ weight: 1, ids: [] }], 60)).toEqual([]);
    expect(() => reciprocalRankFusion([], 0)).toThrow(/positive/);
  });
});
