import { describe, expect, it } from 'vitest';
import { DecodedBlockCache } from './block-cache.js';
import { type DecodedBlock } from './posting-block.js';

const block = (n: number): DecodedBlock => ({
  ids: Float64Array.from({ length: n }, (_, i) => i + 1),
  tfs: new Uint32Array(n).fill(1),
  lens: new Uint32Array(n).fill(10),
});
/** What a block of `n` postings costs the cache: 16 bytes a posting and the entry's overhead. */
const cost = (n: number) => 16 * n + 400;

describe('DecodedBlockCache', () => {
  it('returns what was put under a key, and nothing under another', () => {
    const cache = new DecodedBlockCache(1 << 20);
    const b = block(128);
    cache.set('a', b);
    expect(cache.get('a')).toBe(b);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
  });

  it('stays within its bytes, least recently used out first', () => {
    const cache = new DecodedBlockCache(3 * cost(128));
    for (const key of ['a', 'b', 'c']) cache.set(key, block(128));
    cache.get('a'); // a is now the most recently used: b goes first
    cache.set('d', block(128));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.get('d')).toBeDefined();
    expect(cache.size()).toBe(3 * cost(128));
  });

  it('replacing a key does not count its bytes twice', () => {
    const cache = new DecodedBlockCache(1 << 20);
    cache.set('a', block(128));
    cache.set('a', block(64));
    expect(cache.size()).toBe(cost(64));
  });

  it('serves an entry for ten minutes at most', () => {
    let now = 0;
    const cache = new DecodedBlockCache(1 << 20, () => now);
    cache.set('a', block(8));
    now = 10 * 60_000;
    expect(cache.get('a')).toBeDefined();
    now += 1;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size()).toBe(0);
  });

  it('holds nothing when sized 0', () => {
    const cache = new DecodedBlockCache(0);
    cache.set('a', block(8));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size()).toBe(0);
  });
});
