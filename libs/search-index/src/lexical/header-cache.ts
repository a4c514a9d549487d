const MAX_COLLECTION_KEYS = 10_000;

/**
 * The headers (StoredHeader) of terms' merged blocks, as the last search of their collection read them,
 * so that the next one need not read them again: a query's terms have thousands of blocks in a large
 * collection, and reading their headers from the index and parsing them was about a sixth of a search's
 * time at 100k chunks (docs/benchmarks-notes.md).
 *
 * Each term's headers are kept under its collection's change key (the count and the largest version of
 * its `lexical_changes` rows, read in the same statement as the search's segments), and serve only while
 * the collection's key is the same: every statement that writes a collection's blocks adds a row, so a
 * key names one state of its blocks. Bounded by the headers held (LexicalIndex keeps one per KiB of its
 * block cache: about 90 bytes each in the heap, a tenth more memory); the least recently used terms go
 * first.
 * A segment's headers are not kept here: they come from its dictionary (SegmentDictionaries).
 */
export class HeaderCache<H> {
  private readonly entries = new Map<string, { key: string; headers: readonly H[] }>();
  /** The change key each collection had at its last search. */
  private readonly keys = new Map<string, string>();
  private held = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxHeaders: number) {}

  /**
   * The change key `collectionId` had at its last search, if any: a search asks for the headers of the
   * terms not kept under it, and for all its terms again only if the collection's key has changed since.
   */
  keyOf(collectionId: string): string | undefined {
    return this.keys.get(collectionId);
  }

  /** A term's headers as read under `key`, if they are kept. */
  get(collectionId: string, key: string, term: string): readonly H[] | undefined {
    const name = `${collectionId}\n${term}`;
    const entry = this.entries.get(name);
    if (entry?.key !== key) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Most recently used last.
    this.entries.delete(name);
    this.entries.set(name, entry);
    return entry.headers;
  }

  /** Keeps a term's headers, read when its collection's change key was `key`. */
  set(collectionId: string, key: string, term: string, headers: readonly H[]): void {
    // Only a hint of which terms to ask for (see keyOf): deleted collections' keys go in bulk.
    if (this.keys.size >= MAX_COLLECTION_KEYS) this.keys.clear();
    this.keys.set(collectionId, key);
    const name = `${collectionId}\n${term}`;
    const old = this.entries.get(name);
    if (old) {
      this.entries.delete(name);
      this.held -= old.headers.length;
    }
    if (headers.length > this.maxHeaders) return;
    this.entries.set(name, { key, headers });
    this.held += headers.length;
    for (const [oldest, { headers: dropped }] of this.entries) {
      if (this.held <= this.maxHeaders) break;
      this.entries.delete(oldest);
      this.held -= dropped.length;
    }
  }

  /** Headers held now. */
  size(): number {
    return this.held;
  }
}
