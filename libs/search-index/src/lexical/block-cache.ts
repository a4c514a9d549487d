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

interface Entry {
  block: Uint8Array;
  bytes: number;
  at: number;
  /** Read since it was last passed over for eviction. */
  used: boolean;
}

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
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxBytes = DEFAULT_BLOCK_CACHE_BYTES,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): Uint8Array | undefined {
    const entry = this.entries.get(key);
    if (!entry || this.now() - entry.at > MAX_AGE_MS) {
      if (entry) this.drop(key, entry);
      this.misses++;
      return undefined;
    }
    entry.used = true;
    this.hits++;
    return entry.block;
  }

  set(key: string, block: Uint8Array): void {
    if (this.maxBytes <= 0) return;
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    const bytes = block.byteLength + ENTRY_OVERHEAD;
    this.entries.set(key, { block, bytes, at: this.now(), used: false });
    this.bytes += bytes;
    // Oldest first (a Map keeps insertion order); one read since it was last passed over moves it to the back.
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      if (e.used && k !== key) {
        e.used = false;
        this.entries.set(k, e);
      } else this.bytes -= e.bytes;
    }
  }

  /** Bytes held now. */
  size(): number {
    return this.bytes;
  }

  private drop(key: string, entry: Entry) {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
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
