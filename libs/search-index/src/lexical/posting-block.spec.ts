import { describe, expect, it } from 'vitest';
import {
  BLOCK_SIZE,
  decodeBlock,
  encodeBlock,
  encodeBlocks,
  type EncodedBlock,
  PostingRuns,
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

  it('gathers blocks of many terms into shared arrays and writes each term back in chunk-id order', () => {
    const postings = (ids: number[], tf: number) =>
      ids.map((chunkId) => ({ chunkId, tf, len: chunkId + 10 }));
    const dogIds = Array.from({ length: 200 }, (_, i) => 100 + 2 * i);
    // Two interleaving blocks of "cat", two of "dog", their bytes in one buffer after a stray byte, as a
    // segment holds them (decoded from views on it); "cat" is decoded in the wrong order.
    const blocks = [
      { term: 'dog', ...encodeBlocks(postings(dogIds, 3))[0] },
      { term: 'cat', ...encodeBlock(postings([2, 9], 2)) },
      { term: 'dog', ...encodeBlocks(postings(dogIds, 3))[1] },
      { term: 'cat', ...encodeBlock(postings([1, 4], 1)) },
    ];
    const data = Buffer.concat([Buffer.from([0xff]), ...blocks.map((b) => b.data)]);
    const runs = new PostingRuns();
    for (const b of blocks) runs.count(b.term, b.firstChunk, b.postings);
    expect(runs.terms()).toEqual(['dog', 'cat']);
    expect(runs.lowest('cat')).toBe(1);
    expect(runs.lowest('dog')).toBe(100);
    runs.allocate();
    let offset = 1;
    for (const b of blocks) {
      runs.decode(b.term, data.subarray(offset, offset + b.data.length), b.firstChunk, b.postings);
      offset += b.data.length;
    }
    const decoded = (list: EncodedBlock[]) =>
      postingsOf(list.map((x) => decodeBlock(x.data, x.firstChunk, x.postings)));
    const cat = runs.encode('cat');
    expect(cat.map((b) => [b.firstChunk, b.lastChunk, b.postings])).toEqual([[1, 9, 4]]);
    expect(decoded(cat)).toEqual(postingsOf([toRun([...postings([1, 4], 1), ...postings([2, 9], 2)])]));
    const dog = runs.encode('dog');
    expect(dog.map((b) => b.postings)).toEqual([BLOCK_SIZE, 200 - BLOCK_SIZE]);
    expect(decoded(dog)).toEqual(postings(dogIds, 3));
    // A block counted and not decoded would be lost; one that was not counted has no room.
    const partial = new PostingRuns();
    partial.count('cat', 1, 2);
    partial.count('cat', 2, 2);
    partial.allocate();
    partial.decode('cat', blocks[3].data, 1, 2);
    expect(() => partial.encode('cat')).toThrow(/counted but not decoded/);
    expect(() => runs.decode('cat', blocks[0].data, 100, 1)).toThrow(/not counted/);
    expect(() => runs.decode('eel', blocks[0].data, 100, 1)).toThrow(/not counted/);
  });

  it('writes postings pushed one at a time as the blocks encodeBlocks makes of them', () => {
    const postings = Array.from({ length: 130 }, (_, i) => ({
      chunkId: 10 + 3 * i,
      tf: 1 + (i % 3),
      len: 20 + i,
    }));
    const runs = new PostingRuns();
    for (const p of postings) runs.count('t', p.chunkId, 1);
    runs.allocate();
    for (const p of postings) runs.push('t', p.chunkId, p.tf, p.len);
    expect(() => runs.push('t', 999, 1, 1)).toThrow(/not counted/);
    expect(runs.encode('t')).toEqual(encodeBlocks(postings));
  });
});
