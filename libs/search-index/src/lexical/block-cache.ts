import { type StoredHeader } from './lexical-index.store.js';

/**
 * Bytes the cache holds by default (LEXICAL_BLOCK_CACHE_MB): about 60,000 blocks of 128 postings (their
 * encoded bytes, 3 to 5 a posting), 7.7M postings.
 */
export const DEFAULT_BLOCK_CACHE_BYTES = 32 * 1024 * 1024;
/**
 * How long an entry may serve: far below the time PostgreSQL needs to wrap its 32-bit transaction ids
 * (2^31 transactions), so a segment's row version (its xmin, part of the key) can never come back meaning
 * another row in the entry's lifetime (a block's comes from a sequence, and never comes back).
 */
const MAX_AGE_MS = 10 * 60_000;
/** What one cached block costs besides its bytes: the entry, its key and the array's header. */
const ENTRY_OVERHEAD = 250;

/**
 * Posting blocks as read from PostgreSQL (their encoded bytes), bounded in bytes; the oldest out first
 * unless read since it was last passed over (the CLOCK approximation of least recently used: a hit only
 * sets a flag). A hot term's blocks are read by most queries: not reading them from PostgreSQL again is
 * what the cache saves. It holds bytes, not decoded arrays: decoding costs a search little (about 3% of
 * its time), and the encoded form takes 3 to 5 bytes a posting against 16 decoded, so about four times the
 * blocks fit. Keys name a row version (see LexicalIndexStore.read), never a place that can change under
 * the same name, so an entry is never stale: a block rewritten by a merge or a delete is a new key, and
 * the old one ages out unused.
 */
export class BlockCache {
  /** Each key's slot. Slots are reused, never moved: a Map churned by deletes and re-inserts is slow. */
  private readonly slots = new Map<string, number>();
  private readonly keys: (string | undefined)[] = [];
  private readonly blocks: (Uint8Array | undefined)[] = [];
  private readonly costs: number[] = [];
  private readonly times: number[] = [];
  /** Read since the clock's hand last passed it. */
  private readonly used: boolean[] = [];
  private readonly free: number[] = [];
  private hand = 0;
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxBytes = DEFAULT_BLOCK_CACHE_BYTES,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): Uint8Array | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined || this.now() - this.times[slot] > MAX_AGE_MS) {
      if (slot !== undefined) this.drop(slot);
      this.misses++;
      return undefined;
    }
    this.used[slot] = true;
    this.hits++;
    return this.blocks[slot];
  }

  set(key: string, block: Uint8Array): void {
    if (this.maxBytes <= 0) return;
    const old = this.slots.get(key);
    if (old !== undefined) this.drop(old);
    const slot = this.free.pop() ?? this.keys.length;
    this.keys[slot] = key;
    this.blocks[slot] = block;
    this.costs[slot] = block.byteLength + ENTRY_OVERHEAD;
    this.times[slot] = this.now();
    this.used[slot] = false;
    this.slots.set(key, slot);
    this.bytes += this.costs[slot];
    // The clock's hand goes round the slots: one read since it last passed is passed over once more
    // (and forgotten), else it goes. The new entry goes last, only if nothing else is left.
    while (this.bytes > this.maxBytes) {
      let victim = -1;
      for (let step = 0; step < 2 * this.keys.length && victim < 0; step++) {
        const at = this.hand;
        this.hand = (this.hand + 1) % this.keys.length;
        if (at === slot || this.keys[at] === undefined) continue;
        if (this.used[at]) this.used[at] = false;
        else victim = at;
      }
      this.drop(victim < 0 ? slot : victim);
    }
  }

  /** Bytes held now. */
  size(): number {
    return this.bytes;
  }

  private drop(slot: number) {
    this.slots.delete(this.keys[slot]!);
    this.bytes -= this.costs[slot];
    this.keys[slot] = undefined;
    this.blocks[slot] = undefined;
    this.free.push(slot);
  }
}

/**
 * A block's name in the block cache: where it is (a segment and offset, or a term) and the row
 * version it was read from (a segment that loses a chunk, or a merged block, is rewritten in place under
 * a new version). The header is part of the name, so a key can only ever mean one block's postings.
 */
export function blockCacheKey(collectionId: string, b: StoredHeader): string {
  const where = b.segment ? `s${b.segment.id}:${b.version}:${b.segment.offset}` : `b${b.version}:${b.term}`;
  return `${collectionId}:${where}:${b.firstChunk}:${b.lastChunk}:${b.postings}:${b.maxTf}:${b.minLen}`;
}
