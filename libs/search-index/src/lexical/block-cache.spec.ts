import { describe, expect, it } from 'vitest';
import { BlockCache } from './block-cache.js';

/** A block of `n` bytes, each `fill`. */
const block = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('BlockCache', () => {
  it('returns a copy of what was put under a key, and nothing under another', () => {
    const cache = new BlockCache(1 << 20);
    const b = block(512, 7);
    cache.set(1, b);
    b.fill(0); // the cache holds its own copy
    expect(cache.get(1)).toEqual(block(512, 7));
    expect(cache.get(2)).toBeUndefined();
    expect(cache.get('1')).toBeUndefined();
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
  });

  it('keeps what was read since its page was last reclaimed, and stays within its bytes', () => {
    // One page of four blocks.
    const cache = new BlockCache(4 * 512);
    for (const key of [1, 2, 3, 4]) cache.set(key, block(512, key));
    cache.get(1);
    cache.get(3);
    cache.set(5, block(512, 5)); // the page is reclaimed: 1 and 3 stay, moved to its front
    expect(cache.get(2)).toBeUndefined();
    expect(cache.get(4)).toBeUndefined();
    expect(cache.get(1)).toEqual(block(512, 1));
    expect(cache.get(3)).toEqual(block(512, 3));
    expect(cache.get(5)).toEqual(block(512, 5));
    expect(cache.size()).toBe(3 * 512);
    expect(cache.allocated()).toBe(4 * 512);
  });

  it('reclaims the oldest page first, and allocates pages only as they fill', () => {
    const mib = 1 << 20;
    const cache = new BlockCache(3 * mib);
    let key = 0;
    // 1 MiB pages of 1,024 blocks of 1 KiB.
    for (; key < 1024; key++) cache.set(key, block(1024, key % 256));
    expect(cache.allocated()).toBe(mib);
    for (; key < 3 * 1024; key++) cache.set(key, block(1024, key % 256));
    expect(cache.allocated()).toBe(3 * mib);
    cache.get(5); // read: kept when its page goes
    cache.set(key++, block(1024)); // the first page is reclaimed, but for block 5
    expect(cache.get(4)).toBeUndefined();
    expect(cache.get(5)).toEqual(block(1024, 5));
    expect(cache.get(1024)).toEqual(block(1024, 1024 % 256));
    expect(cache.allocated()).toBe(3 * mib);
    expect(cache.size()).toBe(2 * 1024 * 1024 + 2 * 1024);
  });

  it('when every block was read, reclaims a page whole after one turn', () => {
    const cache = new BlockCache(2 * 512);
    cache.set(1, block(512));
    cache.set(2, block(512));
    cache.get(1);
    cache.get(2);
    cache.set(3, block(512));
    expect(cache.get(3)).toBeDefined();
    expect(cache.size()).toBeLessThanOrEqual(2 * 512);
  });

  it('replacing a key does not count its bytes twice', () => {
    const cache = new BlockCache(1 << 20);
    cache.set('a', block(128));
    cache.set('a', block(64, 2));
    expect(cache.size()).toBe(64);
    expect(cache.get('a')).toEqual(block(64, 2));
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

  it('holds nothing when sized 0, nor a block larger than a page', () => {
    const cache = new BlockCache(0);
    cache.set('a', block(8));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size()).toBe(0);
    const small = new BlockCache(256);
    small.set('b', block(512));
    expect(small.get('b')).toBeUndefined();
  });
});
