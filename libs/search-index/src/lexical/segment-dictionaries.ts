import { cmp, SEGMENT_HEAD } from './lexical-rows.js';

/**
 * Bytes of segment dictionaries kept by default: the 81 segments of a 10k-chunk load take 8.3 MiB (about
 * 2,500 blocks each: 7 bytes of term a block, and a 36-byte head), and a collection has at most 128
 * segments per ingestion process (MERGE_AFTER_SEGMENTS) before a merge.
 */
export const DEFAULT_SEGMENT_DICTIONARY_BYTES = 32 * 1024 * 1024;

/** A segment's blocks in its row version: the blocks' terms (sorted, a term once per block) and heads. */
export class SegmentDictionary {
  /** Where each block's term starts in `terms` (one more: the end), terms joined by '\n'. */
  private readonly starts: Int32Array;

  constructor(
    private readonly terms: string,
    readonly heads: Buffer,
  ) {
    const blocks = heads.length / SEGMENT_HEAD;
    this.starts = new Int32Array(blocks + 1);
    for (let i = 1, at = -1; i <= blocks; i++) {
      at = terms.indexOf('\n', at + 1);
      this.starts[i] = (at < 0 ? terms.length : at) + 1;
    }
  }

  get bytes(): number {
    return this.terms.length + this.starts.byteLength + this.heads.byteLength;
  }

  private term(i: number): string {
    return this.terms.slice(this.starts[i], this.starts[i + 1] - 1);
  }

  /** The blocks of a term, as [first, end) of their places: the first block whose term is not before it. */
  blocksOf(term: string): [number, number] {
    const blocks = this.starts.length - 1;
    let lo = 0;
    let hi = blocks;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(this.term(mid), term) < 0) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < blocks && this.term(end) === term) end++;
    return [lo, end];
  }
}

/**
 * The term dictionaries (terms and heads) of segments, by row version, so that a search finds its terms'
 * blocks in a segment without PostgreSQL: there, each (segment, query term) pair fetched the segment's
 * whole out-of-line `terms` array and scanned it, 50 ms a query over the 81 segments of a 10k load. A
 * segment is only ever rewritten under a new version (its xmin), so an entry is never stale; entries of a
 * collection's segments that are gone (merged, or rewritten) are dropped at its next search, and the
 * oldest go first past `maxBytes`.
 */
export class SegmentDictionaries {
  private readonly byCollection = new Map<string, Map<string, SegmentDictionary>>();
  private bytes = 0;
  /** Dictionaries read from the database. */
  reads = 0;

  constructor(private readonly maxBytes = DEFAULT_SEGMENT_DICTIONARY_BYTES) {}

  get(collectionId: string, key: string): SegmentDictionary | undefined {
    return this.byCollection.get(collectionId)?.get(key);
  }

  set(collectionId: string, key: string, dictionary: SegmentDictionary): void {
    this.reads++;
    if (dictionary.bytes > this.maxBytes) return;
    let entries = this.byCollection.get(collectionId);
    if (!entries) this.byCollection.set(collectionId, (entries = new Map()));
    entries.set(key, dictionary);
    this.bytes += dictionary.bytes;
    while (this.bytes > this.maxBytes) {
      const [oldestCollection, oldest] = this.byCollection.entries().next().value!;
      const [oldestKey, dropped] = oldest.entries().next().value!;
      oldest.delete(oldestKey);
      if (oldest.size === 0) this.byCollection.delete(oldestCollection);
      this.bytes -= dropped.bytes;
    }
  }

  /** Keeps only the entries of a collection's segments named in `live` (none: forgets the collection). */
  retain(collectionId: string, live: ReadonlySet<string>): void {
    const entries = this.byCollection.get(collectionId);
    if (!entries) return;
    for (const [key, dictionary] of entries)
      if (!live.has(key)) {
        entries.delete(key);
        this.bytes -= dictionary.bytes;
      }
    if (entries.size === 0) this.byCollection.delete(collectionId);
  }

  /** Bytes held now. */
  size(): number {
    return this.bytes;
  }
}
