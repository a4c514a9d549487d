import { describe, expect, it } from 'vitest';
import { BlockCache } from './block-cache.js';

/** A block's bytes, 4 a posting. */
const block = (n: number) => new Uint8Array(4 * n).fill(1);
/** What a block of `n` postings costs the cache: its bytes and the entry's overhead. */
const cost = (n: number) => 4 * n + 250;

describe('BlockCache', () => {
  it('returns what was put under a key, and nothing under another', () => {
    const cache = new BlockCache(1 << 20);
    const b = block(128);
    cache.set('a', b);
    expect(cache.get('a')).toBe(b);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
  });

  it('stays within its bytes, least recently used out first', () => {
    const cache = new BlockCache(3 * cost(128));
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
    const cache = new BlockCache(1 << 20);
    cache.set('a', block(128));
    cache.set('a', block(64));
    expect(cache.size()).toBe(cost(64));
  });

  it('serves an entry for ten minutes at most', () => {
    let now = 0;
    const cache = new BlockCache(1 << 20, () => now);
    cache.set('a', block(8));
    now = 10 * 60_000;
    expect(cache.get('a')).toBeDefined();
    now += 1;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size()).toBe(0);
  });

  it('holds nothing when sized 0', () => {
    const cache = new BlockCache(0);
    cache.set('a', block(8));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size()).toBe(0);
  });
});
