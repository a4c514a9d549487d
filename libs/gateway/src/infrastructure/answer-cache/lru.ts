import type { AnswerCacheOptions, CachedAnswer } from '../../application/answer-query/answer-cache.port.js';

/** The memory cache's store: bounded in entries (least recently used go first) and in age, by collection. */

interface Entry {
  collection: string;
  answer: CachedAnswer;
  expiresAt: number;
}

export class Lru {
  /** Map order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly keysByCollection = new Map<string, Set<string>>();

  constructor(
    private readonly options: AnswerCacheOptions,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(collection: string, hash: string): CachedAnswer | undefined {
    const key = `${collection}\n${hash}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.answer;
  }

  set(collection: string, hash: string, answer: CachedAnswer): void {
    const key = `${collection}\n${hash}`;
    this.remove(key);
    this.entries.set(key, { collection, answer, expiresAt: this.now() + this.options.ttlMs });
    let keys = this.keysByCollection.get(collection);
    if (!keys) this.keysByCollection.set(collection, (keys = new Set()));
    keys.add(key);
    while (this.entries.size > this.options.maxEntries) this.remove(this.entries.keys().next().value!);
  }

  drop(collection: string): void {
    for (const key of this.keysByCollection.get(collection) ?? []) this.entries.delete(key);
    this.keysByCollection.delete(collection);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const keys = this.keysByCollection.get(entry.collection);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByCollection.delete(entry.collection);
  }
}
