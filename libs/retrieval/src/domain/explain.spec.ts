import { describe, expect, it } from 'vitest';
import { explainHits } from './explain.js';
import { reciprocalRankFusion, relativeScoreFusion } from '#search-index';

const sparse = [
  { id: 'c', score: 3.25 },
  { id: 'a', score: 2.5 },
];
const dense = [
  { id: 'a', score: 0.9 },
  { id: 'b', score: 0.8 },
];

describe('explainHits', () => {
  it('gives each fused hit its rank and raw score in every leg, null where a leg missed it', () => {
    const fused = reciprocalRankFusion(
      [
        { weight: 1, ids: sparse.map((c) => c.id) },
        { weight: 1, ids: dense.map((c) => c.id) },
      ],
      60,
    );
    const explains = explainHits(fused, { sparse, dense }, true);
    expect([...explains.keys()]).toEqual(['a', 'c', 'b']);
    expect(explains.get('a')).toEqual({
      retrievers: { sparse: { rank: 2, score: 2.5 }, dense: { rank: 1, score: 0.9 } },
      fused: { rank: 1, score: Math.round((1 / 62 + 1 / 61) * 1e6) / 1e6 },
    });
    expect(explains.get('c')!.retrievers).toEqual({
      sparse: { rank: 1, score: 3.25 },
      dense: { rank: null, score: null },
    });
    expect(explains.get('b')!.retrievers.sparse).toEqual({ rank: null, score: null });
    expect(explains.get('b')!.fused!.rank).toBe(3);
  });

  it('agrees with the ranks fusion itself reports, whichever fusion', () => {
    const lists = { sparse, dense };
    for (const fused of [
      reciprocalRankFusion(
        Object.values(lists).map((l) => ({ weight: 1, ids: l.map((c) => c.id) })),
        10,
      ),
      relativeScoreFusion(Object.values(lists).map((items) => ({ weight: 1, items }))),
    ]) {
      const explains = explainHits(fused, lists, true);
      for (const item of fused) {
        const { retrievers } = explains.get(item.id)!;
        expect([retrievers.sparse.rank, retrievers.dense.rank]).toEqual(item.ranks);
      }
    }
  });

  it('reports a single leg as it ranked, without a fused rank', () => {
    const explains = explainHits(sparse, { sparse }, false);
    expect(explains.get('c')).toEqual({ retrievers: { sparse: { rank: 1, score: 3.25 } } });
    expect(explains.get('a')).toEqual({ retrievers: { sparse: { rank: 2, score: 2.5 } } });
  });

  it('takes any number of legs, by name', () => {
    const explains = explainHits([{ id: 'x', score: 1 }], { a: [], b: [{ id: 'x', score: 7 }], c: [] }, true);
    expect(Object.keys(explains.get('x')!.retrievers)).toEqual(['a', 'b', 'c']);
    expect(explains.get('x')!.retrievers.b).toEqual({ rank: 1, score: 7 });
  });

  it('counts an id a leg lists twice at its best rank, and rounds scores as hits are', () => {
    const explains = explainHits(
      [{ id: 'a', score: 0.123456789 }],
      {
        sparse: [
          { id: 'a', score: 1.0000004 },
          { id: 'a', score: 0.5 },
        ],
      },
      true,
    );
    expect(explains.get('a')).toEqual({
      retrievers: { sparse: { rank: 1, score: 1 } },
      fused: { rank: 1, score: 0.123457 },
    });
  });

  it("passes on a retriever's per-term scores, rounded, and gives none where it gave none", () => {
    const explains = explainHits(
      [
        { id: 'a', score: 3 },
        { id: 'b', score: 1 },
      ],
      { sparse: [{ id: 'a', score: 3, terms: { run: 2.0000001, dog: 1 } }], dense: [{ id: 'b', score: 1 }] },
      true,
    );
    expect(explains.get('a')!.retrievers.sparse).toEqual({ rank: 1, score: 3, terms: { run: 2, dog: 1 } });
    expect(explains.get('b')!.retrievers.dense).toEqual({ rank: 1, score: 1 });
  });
});
