import { Inject, Injectable, Optional } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CONFIG, type AppConfig } from '#platform';
import { BlockCache, type BlockCacheKey, blockCacheKey, DEFAULT_BLOCK_CACHE_BYTES } from './block-cache.js';
import { type Bm25Scoring, type TopKResult, blockMaxTopK } from './block-max-top-k.js';
import { LegacyPostings } from './legacy-postings.js';
import {
  type ChunkTerms,
  IndexChangedError,
  LexicalIndexStore,
  type RemovedChunk,
  type Sql,
  type StoredHeader,
} from './lexical-index.store.js';
import { type DecodedBlock, DecodedBlocks } from './posting-block.js';
import { HeaderCache } from './header-cache.js';
import { SegmentDictionaries } from './segment-dictionaries.js';

/** Searches that met a block rewritten under them before one runs in a snapshot (see LexicalIndex.search). */
const OPTIMISTIC_TRIES = 3;
/** Dead rows below which VACUUM is not worth a pass over the table and its indexes. */
const VACUUM_MIN_DEAD = 10_000;

/** How a collection's lexical index is stored: blocks, or rows of postings until it has moved. */
export type LexicalLayout = 'postings' | 'blocks';

export interface LexicalQuery {
  collectionId: string;
  layout: LexicalLayout;
  /** Analysed query terms with their weights (how often each is in the query), in query order. */
  terms: ReadonlyMap<string, number>;
  k: number;
  scoring: Bm25Scoring;
  /** A metadata filter as SQL over `chunks c`, its parameters numbered from `first`. */
  filter?: (first: number) => { sql: string; params: unknown[] };
}

/**
 * The lexical (BM25) index of every collection: what ingestion writes and deletes, what retrieval
 * searches, and the maintenance that keeps it compact. Each collection is in one layout (see
 * LexicalLayout), and every call goes to the store of that layout.
 */
@Injectable()
export class LexicalIndex {
  private readonly blocks = new LexicalIndexStore();
  private readonly legacy = new LegacyPostings();
  /** The bytes of the blocks searches read, shared by every search of this process. */
  readonly cache: BlockCache;
  /** Where the segments' blocks are, by segment version, shared by every search of this process. */
  readonly dictionaries = new SegmentDictionaries();
  /** The headers of terms' merged blocks, by collection state, shared by every search of this process. */
  readonly headers: HeaderCache<StoredHeader>;

  constructor(@Optional() @Inject(CONFIG) config?: AppConfig) {
    const mb = config?.retrieval.lexicalBlockCacheMb;
    const bytes = mb === undefined ? DEFAULT_BLOCK_CACHE_BYTES : mb * 1024 * 1024;
    this.cache = new BlockCache(bytes);
    // One header a KiB of blocks: 262,144 with 256 MiB, against 344,990 merged blocks of the SciFact test
    // queries' terms at 1M chunks.
    this.headers = new HeaderCache(bytes / 1024);
  }

  /** Indexes new chunks of a collection, in the caller's transaction; returns the segments written. */
  async add(
    m: Sql,
    collection: { id: string; layout: LexicalLayout },
    chunks: readonly ChunkTerms[],
  ): Promise<number> {
    if (chunks.length === 0) return 0;
    if (collection.layout === 'postings') {
      await this.legacy.add(m, collection.id, chunks);
      return 0;
    }
    await this.blocks.add(m, collection.id, chunks);
    return 1;
  }

  /** Removes chunks' postings, in the caller's transaction, which holds their collections key-shared. */
  async remove(m: Sql, chunks: readonly (RemovedChunk & { layout: LexicalLayout })[]): Promise<void> {
    await this.blocks.remove(
      m,
      chunks.filter((c) => c.layout === 'blocks'),
    );
    await this.legacy.remove(
      m,
      chunks.filter((c) => c.layout === 'postings'),
    );
  }

  /** Drops a collection's whole lexical index, in either layout, in the caller's transaction. */
  async drop(m: Sql, collectionId: string): Promise<void> {
    await this.blocks.drop(m, collectionId);
    await m.query(`DELETE FROM chunk_terms WHERE collection_id = $1`, [collectionId]);
  }

  /**
   * The exact BM25 top k of a collection. The blocks' headers are read in one statement (and the
   * dictionaries of segments this process has not read yet in another), then each block in the row
   * version its header names (LexicalIndexStore.read): a merge or a delete committing in
   * between makes the search start again, as if read in one snapshot, without the three statements a
   * transaction costs (a search whose blocks are all cached is one statement). A search that meets a
   * change OPTIMISTIC_TRIES times, and one of a collection still in postings, runs in a repeatable-read
   * snapshot.
   */
  async search(db: DataSource, q: LexicalQuery): Promise<TopKResult> {
    if (q.terms.size === 0 || q.k <= 0) return { hits: [], terms: [], blocks: { total: 0, read: 0 } };
    // A layout only ever moves from postings to blocks, so "blocks" is never out of date.
    if (q.layout === 'blocks')
      for (let attempt = 1; attempt <= OPTIMISTIC_TRIES; attempt++) {
        try {
          return await this.searchBlocks(db, q);
        } catch (error) {
          if (!(error instanceof IndexChangedError)) throw error;
        }
      }
    return db.transaction('REPEATABLE READ', async (m) => {
      // "postings", read up to a second ago by the caller, may be out of date: the move may have
      // committed since, and emptied the postings.
      if (q.layout === 'postings') {
        const [row] = await m.query(`SELECT lexical_layout FROM collections WHERE id = $1`, [q.collectionId]);
        if (row?.lexical_layout === 'postings') {
          const rows = await this.legacy.search(m, q.collectionId, q.terms, q.scoring, q.k, q.filter?.(9));
          return {
            hits: rows.map((r) => ({ id: Number(r.id), score: r.score, terms: [] })),
            terms: [],
            blocks: { total: 0, read: 0 },
          };
        }
      }
      return this.searchBlocks(m, q);
    });
  }

  private async searchBlocks(m: Sql, q: LexicalQuery): Promise<TopKResult> {
    const headers = await this.blocks.headers(
      m,
      q.collectionId,
      [...q.terms.keys()],
      this.dictionaries,
      this.headers,
    );
    const filter = q.filter?.(2);
    return blockMaxTopK({
      terms: [...q.terms].map(([term, weight]) => ({ term, weight, blocks: headers.get(term) ?? [] })),
      k: q.k,
      scoring: q.scoring,
      fetch: (blocks) => this.read(m, q.collectionId, blocks),
      ...(filter && {
        accept: async (ids) => {
          const rows: { id: string }[] = await m.query(
            `SELECT c.id FROM chunks c WHERE c.id = ANY($1::bigint[]) AND ${filter.sql}`,
            [ids, ...filter.params],
          );
          return new Set(rows.map((r) => Number(r.id)));
        },
      }),
    });
  }

  /**
   * The postings of blocks, in the order given: those whose bytes the cache holds from it (decoded at once:
   * what the cache returns is only good until another search adds to it), the rest in one round trip
   * (none if all are cached), then cached.
   */
  private async read(m: Sql, collectionId: string, blocks: readonly StoredHeader[]): Promise<DecodedBlock[]> {
    const decoded = new DecodedBlocks(blocks);
    const missing: number[] = [];
    const keys: BlockCacheKey[] = [];
    for (let i = 0; i < blocks.length; i++) {
      const key = blockCacheKey(collectionId, blocks[i]);
      const hit = this.cache.get(key);
      if (hit) decoded.decode(i, hit);
      else {
        missing.push(i);
        keys.push(key);
      }
    }
    if (missing.length > 0) {
      const fetched = await this.blocks.read(
        m,
        collectionId,
        missing.map((i) => blocks[i]),
      );
      missing.forEach((i, j) => {
        decoded.decode(i, fetched[j]);
        this.cache.set(keys[j], fetched[j]);
      });
    }
    return decoded.blocks;
  }

  /** Every posting of a collection in the blocks layout, and the terms whose blocks overlap. */
  dump(m: Sql, collectionId: string) {
    return this.blocks.dump(m, collectionId);
  }

  /** Collections with segments to merge, and how many each has. */
  segments(m: Sql): Promise<Map<string, number>> {
    return this.blocks.segments(m);
  }

  /**
   * Merges a collection's segments into its blocks, one short transaction per round of at most
   * `roundPostings` (the store's default when not given), until none is left or `stopping`; `afterRound`
   * is told the rows each round replaced (what it left for VACUUM). Returns the rows replaced in all.
   */
  async merge(
    db: DataSource,
    collectionId: string,
    options: {
      stopping?: () => boolean;
      roundPostings?: number;
      afterRound?: (replaced: number) => Promise<void>;
    } = {},
  ): Promise<number> {
    let replaced = 0;
    while (!options.stopping?.()) {
      const round = await db.transaction((m) =>
        this.blocks.mergeRound(m, collectionId, options.roundPostings),
      );
      if (round.merged === 0) break;
      replaced += round.replaced;
      await options.afterRound?.(round.replaced);
    }
    // The merged segments are gone: their dictionaries need not wait for this process's next search.
    if (replaced > 0) this.dictionaries.retain(collectionId, new Set());
    return replaced;
  }

  /** VACUUM of the segments table: the segment rows are few, but their bytes are the whole batch's postings. */
  async vacuumSegments(db: DataSource): Promise<void> {
    await db.query('VACUUM lexical_segments');
  }

  /**
   * VACUUM of the blocks table, once the rows merges replaced pass a fifth of it (autovacuum's default
   * scale factor): merges replace rows all the time in a load, and without it the table grows by all
   * they replaced, since only VACUUM makes their space reusable. `dead` is what was replaced since the
   * last call that vacuumed; returns whether this one did.
   */
  async vacuumIfBloated(db: DataSource, dead: number): Promise<boolean> {
    // Below the floor no table size can call for it: no statement (merges ask after every round).
    if (dead < VACUUM_MIN_DEAD) return false;
    const [{ rows }] = await db.query(
      `SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = 'lexical_blocks'::regclass`,
    );
    if (dead < Math.max(VACUUM_MIN_DEAD, 0.2 * Number(rows))) return false;
    await db.query('VACUUM lexical_blocks');
    return true;
  }

  /** Collections still in the postings layout. */
  async unmoved(m: Sql): Promise<{ id: string; name: string }[]> {
    return m.query(`SELECT id, name FROM collections WHERE lexical_layout = 'postings' ORDER BY name`);
  }

  /**
   * Moves a collection from postings to blocks in one transaction: indexing and deletes in it wait (they
   * hold the collection key-shared; this holds it for update), searches go on from the postings until
   * the switch commits, then read blocks. Returns the postings moved, or null if it had moved already.
   */
  async moveToBlocks(db: DataSource, collectionId: string): Promise<number | null> {
    return db.transaction(async (m) => {
      const [row] = await m.query(`SELECT lexical_layout FROM collections WHERE id = $1 FOR UPDATE`, [
        collectionId,
      ]);
      if (!row || row.lexical_layout !== 'postings') return null;
      const moved = await this.legacy.moveToBlocks(m, collectionId);
      await m.query(`UPDATE collections SET lexical_layout = 'blocks' WHERE id = $1`, [collectionId]);
      return moved;
    });
  }
}
