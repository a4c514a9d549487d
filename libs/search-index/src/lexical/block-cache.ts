import { type StoredHeader } from './lexical-index.store.js';

/**
 * Bytes of blocks the cache holds by default (LEXICAL_BLOCK_CACHE_MB): about 60,000 blocks of 128
 * postings (their encoded bytes, 3 to 5 a posting), 7.7M postings. Pages are allocated as they fill, so a
 * small collection's process holds only what its blocks take.
 */
export const DEFAULT_BLOCK_CACHE_BYTES = 32 * 1024 * 1024;
/**
 * How long an entry may serve: far below the time PostgreSQL needs to wrap its 32-bit transaction ids
 * (2^31 transactions), so a segment's row version (its xmin, part of the key) can never come back meaning
 * another row in the entry's lifetime (a block's comes from a sequence, and never comes back).
 */
const MAX_AGE_MS = 10 * 60_000;
/** The bytes of one page: blocks are copied into pages, a page at a time is reclaimed. */
const PAGE_BYTES = 1 << 20;

/** A block's name in the cache (blockCacheKey). */
export type BlockCacheKey = number | string;

/**
 * Posting blocks as read from PostgreSQL (their encoded bytes), bounded in bytes. A hot term's blocks are
 * read by most queries: not reading them from PostgreSQL again is what the cache saves. It holds bytes,
 * not decoded arrays: decoding costs a search little, and the encoded form takes 3 to 5 bytes a posting
 * against 16 decoded, so about four times the blocks fit.
 *
 * The bytes are copied into a few large pages, not kept as an array each: at 1M chunks a search reads
 * about 2,000 blocks, and hundreds of thousands of small arrays in the heap cost more collecting than the
 * cache saved. Pages fill in turn; when none is left, the oldest is reclaimed, keeping (moved to its
 * front) the blocks read since it was last reclaimed: the CLOCK approximation of least recently used, a
 * page at a time. The bookkeeping adds about 50 bytes a block to the bytes it bounds.
 *
 * Keys name a row version (see LexicalIndexStore.read), never a place that can change under the same name,
 * so an entry is never stale: a block rewritten by a merge or a delete is a new key, and the old one ages
 * out unused. What `get` returns is a view of a page: valid until the next `set`.
 */
export class BlockCache {
  private readonly slots = new Map<BlockCacheKey, number>();
  /** Per slot: its key (undefined once dropped), page, offset, length, time set and whether read since. */
  private readonly keys: (BlockCacheKey | undefined)[] = [];
  private readonly pageOf: number[] = [];
  private readonly offsets: number[] = [];
  private readonly lengths: number[] = [];
  private readonly times: number[] = [];
  private readonly used: boolean[] = [];
  /** Slots free for reuse: those of dropped entries, once their page is reclaimed. */
  private readonly free: number[] = [];
  private readonly pages: Uint8Array[] = [];
  /** Each page's slots, in the order of their bytes, and how many of its bytes are taken. */
  private readonly pageSlots: number[][] = [];
  private readonly fills: number[] = [];
  private readonly pageBytes: number;
  private readonly maxPages: number;
  /** The page filling now. */
  private head = -1;
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    maxBytes = DEFAULT_BLOCK_CACHE_BYTES,
    private readonly now: () => number = Date.now,
  ) {
    this.pageBytes = Math.max(0, Math.min(PAGE_BYTES, maxBytes));
    this.maxPages = this.pageBytes === 0 ? 0 : Math.floor(maxBytes / this.pageBytes);
  }

  get(key: BlockCacheKey): Uint8Array | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined || this.now() - this.times[slot] > MAX_AGE_MS) {
      if (slot !== undefined) this.drop(slot);
      this.misses++;
      return undefined;
    }
    this.used[slot] = true;
    this.hits++;
    const at = this.offsets[slot];
    return this.pages[this.pageOf[slot]].subarray(at, at + this.lengths[slot]);
  }

  /** Copies `block` in under `key`; a block larger than a page is not kept. */
  set(key: BlockCacheKey, block: Uint8Array): void {
    const length = block.byteLength;
    if (length > this.pageBytes || this.maxPages === 0) return;
    const old = this.slots.get(key);
    if (old !== undefined) this.drop(old);
    this.makeRoom(length);
    const page = this.head;
    const at = this.fills[page];
    this.pages[page].set(block, at);
    this.fills[page] = at + length;
    const slot = this.free.pop() ?? this.keys.length;
    this.keys[slot] = key;
    this.pageOf[slot] = page;
    this.offsets[slot] = at;
    this.lengths[slot] = length;
    this.times[slot] = this.now();
    this.used[slot] = false;
    this.pageSlots[page].push(slot);
    this.slots.set(key, slot);
    this.bytes += length;
  }

  /** Bytes of the blocks held now. */
  size(): number {
    return this.bytes;
  }

  /** Bytes of the pages allocated. */
  allocated(): number {
    return this.pages.length * this.pageBytes;
  }

  /**
   * Makes the head page one with `length` bytes free: the next page, a new one while fewer than the most
   * are allocated, else the oldest, reclaimed. Going round every page once more, nothing read is kept.
   */
  private makeRoom(length: number): void {
    for (let turn = 0; this.head < 0 || this.fills[this.head] + length > this.pageBytes; turn++) {
      const next = (this.head + 1) % this.maxPages;
      if (next >= this.pages.length) {
        this.pages.push(new Uint8Array(this.pageBytes));
        this.pageSlots.push([]);
        this.fills.push(0);
        this.head = this.pages.length - 1;
        continue;
      }
      this.head = next;
      this.reclaim(next, turn < this.maxPages);
    }
  }

  /** Drops a page's entries, but for those read since it was last reclaimed (when `keepRead`), moved to its front. */
  private reclaim(page: number, keepRead: boolean): void {
    const now = this.now();
    const bytes = this.pages[page];
    const kept: number[] = [];
    let fill = 0;
    for (const slot of this.pageSlots[page]) {
      if (
        this.keys[slot] !== undefined &&
        keepRead &&
        this.used[slot] &&
        now - this.times[slot] <= MAX_AGE_MS
      ) {
        this.used[slot] = false;
        const from = this.offsets[slot];
        const length = this.lengths[slot];
        if (from !== fill) bytes.copyWithin(fill, from, from + length);
        this.offsets[slot] = fill;
        fill += length;
        kept.push(slot);
        continue;
      }
      if (this.keys[slot] !== undefined) this.drop(slot);
      this.free.push(slot);
    }
    this.pageSlots[page] = kept;
    this.fills[page] = fill;
  }

  /** Forgets an entry; its slot is freed when its page is reclaimed. */
  private drop(slot: number) {
    this.slots.delete(this.keys[slot]!);
    this.bytes -= this.lengths[slot];
    this.keys[slot] = undefined;
  }
}

/**
 * A block's name in the block cache: the row version it was read from. A merged block's version comes
 * from a sequence, so it names one block's postings in the whole database. A segment's row version is its
 * xmin, so its blocks are named by the segment, that version and the block's place and header: a segment
 * that loses a chunk is rewritten in place under a new version.
 */
export function blockCacheKey(collectionId: string, b: StoredHeader): BlockCacheKey {
  if (!b.segment) return b.version;
  return `${collectionId}:${b.segment.id}:${b.version}:${b.segment.offset}:${b.firstChunk}:${b.lastChunk}:${b.postings}:${b.maxTf}:${b.minLen}`;
}
