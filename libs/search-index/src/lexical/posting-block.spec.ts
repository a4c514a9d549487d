import { describe, expect, it } from 'vitest';
import {
  BLOCK_SIZE,
  decodeBlock,
  encodeBlock,
  encodeBlocks,
  mergeRuns,
  postingsOf,
  toRun,
} from './posting-block.js';

describe('posting blocks', () => {
  it('round-trips postings with large gaps, frequencies and lengths, and keeps the header bounds', () => {
    const postings = [
      { chunkId: 7, tf: 1, len: 300 },
      { chunkId: 8, tf: 200, len: 12 },
      { chunkId: 2 ** 40, tf: 3, len: 70_000 },
    ];
    const block = encodeBlock(postings);
    expect(block).toMatchObject({ firstChunk: 7, lastChunk: 2 ** 40, postings: 3, maxTf: 200, minLen: 12 });
    expect(postingsOf([decodeBlock(block.data, block.firstChunk, block.postings)])).toEqual(postings);
  });

  it('takes a few bytes a posting for a frequent term', () => {
    const postings = Array.from({ length: BLOCK_SIZE }, (_, i) => ({
      chunkId: 1_000_000 + i * 4,
      tf: 1 + (i % 3),
      len: 90,
    }));
    expect(encodeBlock(postings).data.length).toBeLessThanOrEqual(3 * BLOCK_SIZE);
  });

  it('splits a long list into full blocks and a last one with the rest', () => {
    const postings = Array.from({ length: 300 }, (_, i) => ({ chunkId: i + 1, tf: 1, len: 10 }));
    expect(encodeBlocks(postings).map((b) => b.postings)).toEqual([
      BLOCK_SIZE,
      BLOCK_SIZE,
      300 - 2 * BLOCK_SIZE,
    ]);
  });

  it('refuses unsorted or duplicate chunk ids, empty or oversized blocks, and a truncated block', () => {
    expect(() =>
      encodeBlock([
        { chunkId: 2, tf: 1, len: 1 },
        { chunkId: 2, tf: 1, len: 1 },
      ]),
    ).toThrow(RangeError);
    expect(() => encodeBlock([])).toThrow(RangeError);
    const big = Array.from({ length: BLOCK_SIZE + 1 }, (_, i) => ({ chunkId: i + 1, tf: 1, len: 1 }));
    expect(() => encodeBlock(big)).toThrow(RangeError);
    const block = encodeBlock([
      { chunkId: 1, tf: 1, len: 1 },
      { chunkId: 500, tf: 1, len: 1 },
    ]);
    expect(() => decodeBlock(block.data.subarray(0, 3), 1, 2)).toThrow(RangeError);
  });

  it('merges runs into one in chunk-id order, sorting only when they interleave', () => {
    const a = toRun([
      { chunkId: 1, tf: 1, len: 5 },
      { chunkId: 4, tf: 2, len: 6 },
    ]);
    const b = toRun([
      { chunkId: 2, tf: 3, len: 7 },
      { chunkId: 9, tf: 4, len: 8 },
    ]);
    const merged = mergeRuns([a, b]);
    expect(Array.from(merged.ids)).toEqual([1, 2, 4, 9]);
    expect(Array.from(merged.tfs)).toEqual([1, 3, 2, 4]);
    expect(Array.from(merged.lens)).toEqual([5, 7, 6, 8]);
    const blocks = encodeBlocks(mergeRuns([b, a]));
    expect(postingsOf(blocks.map((x) => decodeBlock(x.data, x.firstChunk, x.postings)))).toEqual(
      postingsOf([merged]),
    );
  });
});
