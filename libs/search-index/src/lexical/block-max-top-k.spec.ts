import { describe, expect, it } from 'vitest';
import { exhaustiveBm25 } from '#testing';
import { blockMaxTopK, ScoreSums, Spares } from './block-max-top-k.js';
import { type BlockHeader, type Posting, decodeBlock, encodeBlocks } from './posting-block.js';

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface StoredBlock extends BlockHeader {
  data: Buffer;
}

/** An index of random chunks: each term's postings in blocks, some of them cut into overlapping runs. */
function randomIndex(seed: number, chunks: number, vocabulary: number, gap = 1) {
  const rnd = random(seed);
  const postings = new Map<string, Posting[]>();
  const lengths: number[] = [];
  let tokens = 0;
  let id = 1000;
  for (let c = 0; c < chunks; c++) {
    id += (1 + Math.floor(rnd() * 3)) * gap;
    const len = 5 + Math.floor(rnd() * 60);
    lengths.push(len);
    tokens += len;
    const counts = new Map<string, number>();
    for (let i = 0; i < len; i++) {
      // Zipf-like: low term numbers are frequent.
      const term = `t${Math.floor(vocabulary * rnd() ** 3)}`;
      counts.set(term, (counts.get(term) ?? 0) + 1);
    }
    // A term of known rarity: in 25 chunks, whatever the size.
    if (c % Math.ceil(chunks / 25) === 0) counts.set('rare', 1);
    for (const [term, tf] of counts) {
      if (!postings.has(term)) postings.set(term, []);
      postings.get(term)!.push({ chunkId: id, tf, len });
    }
  }
  const blocks = new Map<string, StoredBlock[]>();
  for (const [term, list] of postings) {
    // Like fresh blocks of concurrent batches: some terms' postings are split by parity, so blocks overlap.
    const parts =
      rnd() < 0.3 ? [list.filter((_, i) => i % 2 === 0), list.filter((_, i) => i % 2 === 1)] : [list];
    blocks.set(
      term,
      parts.filter((p) => p.length > 0).flatMap((p) => encodeBlocks(p)),
    );
  }
  return { postings, blocks, chunks, avgdl: tokens / chunks };
}

async function search(
  index: ReturnType<typeof randomIndex>,
  query: [string, number][],
  k: number,
  accept?: (id: number) => boolean,
  readAllPostings = 0,
) {
  const scoring = { k1: 1.2, b: 0.75, chunks: index.chunks, avgdl: index.avgdl };
  const result = await blockMaxTopK({
    terms: query.map(([term, weight]) => ({ term, weight, blocks: index.blocks.get(term) ?? [] })),
    k,
    scoring,
    fetch: async (blocks) => blocks.map((b) => decodeBlock(b.data, b.firstChunk, b.postings)),
    readAllPostings,
    ...(accept && { accept: async (ids) => new Set(ids.filter(accept)) }),
  });
  return { result, expected: exhaustiveBm25(index.postings, query, scoring, k, accept) };
}

describe('blockMaxTopK', () => {
  it('returns exactly the exhaustive top k, scores and tie order included, over many random indexes', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      // Every fifth index spreads its chunk ids wider than partial scores are kept densely for.
      const index = randomIndex(seed, 300 + seed * 40, 400, seed % 5 === 0 ? 1 << 16 : 1);
      const rnd = random(seed * 7919);
      for (let q = 0; q < 10; q++) {
        const query: [string, number][] = [];
        const size = 1 + Math.floor(rnd() * 6);
        for (let i = 0; i < size; i++) {
          const term = `t${Math.floor(400 * rnd() ** 2)}`;
          if (!query.some(([t]) => t === term)) query.push([term, 1 + Math.floor(rnd() * 2)]);
        }
        const k = [1, 5, 10, 50][q % 4];
        // Bounded rounds, and the one round a query with few postings takes.
        for (const readAll of [0, Infinity]) {
          const { result, expected } = await search(index, query, k, undefined, readAll);
          expect(
            result.hits.map((h) => h.id),
            `seed ${seed} query ${q}`,
          ).toEqual(expected.map((e) => e.id));
          expect(result.hits.map((h) => h.score)).toEqual(expected.map((e) => e.score));
        }
      }
    }
  }, 30_000);

  it('keeps every posting of a round when its partial scores outgrow their arrays', async () => {
    // The arrays of partial scores double at powers of two (from 1,024, or from a larger array a search
    // before left): the postings that land on each doubling score most, so each must be in the top k.
    const marks = Array.from({ length: 9 }, (_, i) => 1024 << i);
    const list: Posting[] = Array.from({ length: 300_000 }, (_, i) => ({
      chunkId: i + 1,
      tf: marks.includes(i) ? 2 + marks.indexOf(i) : 1,
      len: 20,
    }));
    const index = {
      postings: new Map([['t', list]]),
      blocks: new Map([['t', encodeBlocks(list)]]),
      chunks: list.length,
      avgdl: 20,
    };
    const { result, expected } = await search(index, [['t', 1]], marks.length, undefined, Infinity);
    expect(expected.map((e) => e.id).sort((a, b) => a - b)).toEqual(marks.map((m) => m + 1));
    expect(result.hits.map((h) => [h.id, h.score])).toEqual(expected.map((e) => [e.id, e.score]));
  });

  it('keeps every score when its spare arrays for ids and sums differ in size', () => {
    // Spares hand out any array at least as large as asked: here the ids get 4,096 slots and the sums
    // 1,024, as when the spares' bound let one of a finished search's pair back in and not the other.
    const spares = new Spares<Float64Array>((n) => new Float64Array(n), 1 << 30);
    spares.give(new Float64Array(4096));
    spares.give(new Float64Array(1024));
    const sums = new ScoreSums(1, 1 << 20, spares);
    const n = 3000;
    const block = {
      ids: Float64Array.from({ length: n }, (_, i) => 1 + 3 * i),
      tfs: new Uint32Array(n).fill(1),
      lens: new Uint32Array(n).fill(1),
    };
    sums.addBlock(block, 2, 0, 1); // 2 × 1 / (1 + 0 + 1): 1 a posting
    sums.addBlock(block, 2, 0, 1);
    expect(sums.size).toBe(n);
    expect([...block.ids].filter((id) => sums.get(id) !== 2)).toEqual([]);
    sums.release();
  });

  it('reads fewer blocks than there are when a rare term decides the top k', async () => {
    const index = randomIndex(99, 100_000, 50_000);
    // t0 and t1 are in most chunks; a rare term picks the few that matter.
    const rare = 'rare';
    const { result, expected } = await search(
      index,
      [
        ['t0', 1],
        ['t1', 1],
        [rare, 1],
      ],
      10,
    );
    expect(result.hits.map((h) => h.id)).toEqual(expected.map((e) => e.id));
    // What must be read: the rare term's blocks (at most two: its postings may be split into two
    // overlapping runs), and the blocks of t0 and t1 that hold one of its chunks (two each likewise); not
    // the hundreds of blocks of t0 and t1.
    const most = 2 + 4 * index.postings.get(rare)!.length;
    expect(result.blocks.read).toBeLessThanOrEqual(most);
    expect(result.blocks.total).toBeGreaterThan(4 * most);
  }, 30_000);

  it('applies a filter exactly: the top k of the chunks it lets through', async () => {
    const index = randomIndex(5, 3_000, 300);
    for (const modulus of [2, 7, 97]) {
      const accept = (id: number) => id % modulus === 0;
      const { result, expected } = await search(
        index,
        [
          ['t0', 1],
          ['t3', 1],
          ['t40', 2],
        ],
        10,
        accept,
      );
      expect(result.hits.map((h) => h.id)).toEqual(expected.map((e) => e.id));
      expect(result.hits.every((h) => accept(h.id))).toBe(true);
    }
  });

  it('gives each hit its per-term scores and each term its df, and answers nothing for unknown terms', async () => {
    const index = randomIndex(3, 500, 100);
    const { result } = await search(
      index,
      [
        ['t0', 1],
        ['nope', 1],
        ['t1', 1],
      ],
      3,
    );
    expect(result.terms.map((t) => t.term)).toEqual(['t0', 'nope', 't1']);
    expect(result.terms[1]).toEqual({ term: 'nope', df: 0, idf: 0 });
    expect(result.terms[0].df).toBe(index.postings.get('t0')!.length);
    for (const h of result.hits) {
      expect(h.terms[1]).toBe(0);
      expect(h.terms.reduce((s, x) => s + x, 0)).toBe(h.score);
    }
    expect((await search(index, [['nope', 1]], 5)).result.hits).toEqual([]);
  });
});
