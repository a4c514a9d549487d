import { describe, expect, it } from 'vitest';
import { SEGMENT_HEAD } from './lexical-rows.js';
import { SegmentDictionaries, SegmentDictionary } from './segment-dictionaries.js';

/** A dictionary of blocks with these terms (sorted, a term once per block). */
const dictionary = (terms: string[]) =>
  new SegmentDictionary(terms.join('\n'), Buffer.alloc(terms.length * SEGMENT_HEAD));

describe('SegmentDictionary', () => {
  it("finds a term's blocks, one or several, and none of a term it does not hold", () => {
    const d = dictionary(['apple', 'cell', 'cell', 'cell', 'mice', 'zeta']);
    expect(d.blocksOf('cell')).toEqual([1, 4]);
    expect(d.blocksOf('apple')).toEqual([0, 1]);
    expect(d.blocksOf('zeta')).toEqual([5, 6]);
    for (const absent of ['aaa', 'cel', 'cells', 'zz']) {
      const [first, end] = d.blocksOf(absent);
      expect(end).toBe(first);
    }
  });
});

describe('SegmentDictionaries', () => {
  it("keeps a collection's live segments' dictionaries, within its bytes, oldest out first", () => {
    const one = dictionary(['a', 'b']);
    const cache = new SegmentDictionaries(2.5 * one.bytes);
    cache.set('c1', '1:10', one);
    cache.set('c1', '2:11', dictionary(['a', 'b']));
    cache.set('c2', '1:12', dictionary(['a', 'b']));
    expect(cache.get('c1', '1:10')).toBeUndefined();
    expect(cache.get('c1', '2:11')).toBeDefined();
    expect(cache.size()).toBe(2 * one.bytes);
    // Segment 2 was merged (or rewritten under another version): its entry goes.
    cache.retain('c1', new Set(['3:13']));
    expect(cache.get('c1', '2:11')).toBeUndefined();
    expect(cache.get('c2', '1:12')).toBeDefined();
    expect(cache.size()).toBe(one.bytes);
  });
});
