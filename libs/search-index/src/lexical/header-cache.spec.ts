import { describe, expect, it } from 'vitest';
import { HeaderCache } from './header-cache.js';
import { type StoredHeader } from './lexical-index.store.js';

const headers = (term: string, n: number): StoredHeader[] =>
  Array.from({ length: n }, (_, i) => ({
    term,
    firstChunk: i * 10 + 1,
    lastChunk: i * 10 + 10,
    postings: 10,
    maxTf: 1,
    minLen: 1,
    version: i + 1,
  }));

describe('HeaderCache', () => {
  it('serves a term only under the key it was read with', () => {
    const cache = new HeaderCache<StoredHeader>(100);
    expect(cache.keyOf('c')).toBeUndefined();
    cache.set('c', '1:5', 'word', headers('word', 2));
    expect(cache.keyOf('c')).toBe('1:5');
    expect(cache.get('c', '1:5', 'word')).toHaveLength(2);
    expect(cache.get('c', '2:6', 'word')).toBeUndefined();
    expect(cache.get('other', '1:5', 'word')).toBeUndefined();
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
  });

  it('holds at most its bound of headers, the least recently used terms going first', () => {
    const cache = new HeaderCache<StoredHeader>(10);
    cache.set('c', 'k', 'a', headers('a', 4));
    cache.set('c', 'k', 'b', headers('b', 4));
    expect(cache.get('c', 'k', 'a')).toBeDefined();
    cache.set('c', 'k', 'd', headers('d', 4));
    expect(cache.get('c', 'k', 'b')).toBeUndefined();
    expect(cache.get('c', 'k', 'a')).toBeDefined();
    expect(cache.get('c', 'k', 'd')).toBeDefined();
    expect(cache.size()).toBe(8);
    // A term read again replaces its entry; one larger than the bound is not kept.
    cache.set('c', 'k2', 'a', headers('a', 2));
    expect(cache.size()).toBe(6);
    cache.set('c', 'k2', 'e', headers('e', 11));
    expect(cache.get('c', 'k2', 'e')).toBeUndefined();
    expect(cache.size()).toBe(6);
  });
});
