import { setTimeout as delay } from 'node:timers/promises';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppError } from '#contracts';
import { Metrics } from '#observability';
import { type AppConfig, CONFIG, DATABASE, type Database, transactionRetryingConflicts } from '#platform';
import { buildVectorIndex, dropVectorIndex, type VectorIndexPrecision } from '#search-index';
import { COLLECTION_NOT_FOUND } from '../domain/ingestion.errors.js';

export type EmbeddingSetState = 'building' | 'active' | 'retired';

/** The vectors of one collection made by one model (see the embedding-sets migration). */
export interface EmbeddingSet {
  id: number;
  collectionId: string;
  model: string;
  dimensions: number;
  state: EmbeddingSetState;
  indexed: boolean;
  /** Of its HNSW index, once indexed: 'single' for one built before half-precision indexes. */
  indexPrecision: VectorIndexPrecision;
  error: string | null;
}

/** A chunk as an embedder sees it. */
export interface ChunkText {
  id: string;
  title: string | null;
  text: string;
}

/** Longer than any process keeps a collection's statistics (retrieval's are kept 1 s). */
const STATISTICS_LIFETIME_MS = 5_000;

const SET_COLUMNS = 'id, collection_id, model, dimensions, state, indexed, index_precision, error';
const prefixed = (alias: string) =>
  SET_COLUMNS.split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');

/**
 * Embedding sets and their vectors: which sets new chunks are written to, the re-index of a collection
 * into a new set and the switch to it, and the one-pass build of each set's HNSW index.
 */
@Injectable()
export class EmbeddingSetRepository {
  constructor(
    @Inject(DATABASE) private readonly database: Database,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Optional() metrics?: Metrics,
  ) {
    this.metrics = metrics ?? Metrics.detached();
  }

  private readonly metrics: Metrics;

  private get db() {
    return this.database.dataSource;
  }

  /** A new collection's first set. Its index is built once the first load is done (see pendingIndexes). */
  async createActive(m: EntityManager, collectionId: string, model: string, dimensions: number) {
    await m.query(
      `INSERT INTO embedding_sets (collection_id, model, dimensions, state) VALUES ($1, $2, $3, 'active')
       ON CONFLICT DO NOTHING`,
      [collectionId, model, dimensions],
    );
  }

  /** The sets new chunks of these collections get vectors in: the active one and a re-index's. */
  async writableSets(collectionIds: string[], m: EntityManager = this.db.manager): Promise<EmbeddingSet[]> {
    const rows = await m.query(
      `SELECT ${SET_COLUMNS} FROM embedding_sets WHERE collection_id = ANY($1::uuid[]) AND state IN ('active', 'building') ORDER BY id`,
      [collectionIds],
    );
    return rows.map(toSet);
  }

  async find(id: number): Promise<EmbeddingSet | null> {
    const rows = await this.db.query(`SELECT ${SET_COLUMNS} FROM embedding_sets WHERE id = $1`, [id]);
    return rows.length === 0 ? null : toSet(rows[0]);
  }

  /** The collection's re-index, if one is under way or failed. */
  async buildingSet(collectionName: string): Promise<EmbeddingSet | null> {
    const rows = await this.db.query(
      `SELECT ${prefixed('s')} FROM embedding_sets s JOIN collections c ON c.id = s.collection_id
        WHERE c.name = $1 AND s.state = 'building'`,
      [collectionName],
    );
    return rows.length === 0 ? null : toSet(rows[0]);
  }

  /** Re-indexes under way (not given up), oldest first. */
  async building(): Promise<EmbeddingSet[]> {
    const rows = await this.db.query(
      `SELECT ${SET_COLUMNS} FROM embedding_sets WHERE state = 'building' AND error IS NULL ORDER BY id`,
    );
    return rows.map(toSet);
  }

  /**
   * Starts moving a collection to another model: a new building set, or the one already under way for the
   * same model (its error cleared, so a failed re-index can be asked again). A re-index towards another
   * model replaces a building set of a different one. Returns null when the active set has that model;
   * throws COLLECTION_NOT_FOUND when the collection was deleted since the caller found it.
   */
  async startReindex(
    collection: { id: string; name: string },
    model: string,
    dimensions: number,
  ): Promise<EmbeddingSet | null> {
    const collectionId = collection.id;
    return transactionRetryingConflicts(this.db, async (m) => {
      // Deleted since the caller found it: a new set would reference a row that is gone.
      const found = await m.query(`SELECT 1 FROM collections WHERE id = $1 FOR UPDATE`, [collectionId]);
      if (found.length === 0)
        throw new AppError(COLLECTION_NOT_FOUND, `collection "${collection.name}" does not exist`);
      const sets: EmbeddingSet[] = (
        await m.query(
          `SELECT ${SET_COLUMNS} FROM embedding_sets WHERE collection_id = $1 AND state IN ('active', 'building')`,
          [collectionId],
        )
      ).map(toSet);
      const active = sets.find((s) => s.state === 'active');
      const building = sets.find((s) => s.state === 'building');
      const same = (s?: EmbeddingSet) => s && s.model === model && s.dimensions === dimensions;
      if (same(active)) {
        if (building) await this.retire(m, building.id);
        return null;
      }
      if (same(building)) {
        await m.query(`UPDATE embedding_sets SET error = NULL, updated_at = now() WHERE id = $1`, [
          building!.id,
        ]);
        return { ...building!, error: null };
      }
      if (building) await this.retire(m, building.id);
      const rows = await m.query(
        `INSERT INTO embedding_sets (collection_id, model, dimensions, state) VALUES ($1, $2, $3, 'building')
         RETURNING ${SET_COLUMNS}`,
        [collectionId, model, dimensions],
      );
      return toSet(rows[0]);
    });
  }

  /** The next chunks of the collection that have no vector in the set, in id order after `afterId`. */
  async missingChunks(set: EmbeddingSet, afterId: string, limit: number): Promise<ChunkText[]> {
    const rows: { id: string; title: string | null; text: string }[] = await this.db.query(
      `SELECT c.id, c.title, c.text FROM chunks c
        WHERE c.collection_id = $1 AND c.id > $2
          AND NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.set_id = $3 AND v.chunk_id = c.id)
        ORDER BY c.id LIMIT $4`,
      [set.collectionId, afterId, set.id, limit],
    );
    return rows.map((r) => ({ id: String(r.id), title: r.title, text: r.text }));
  }

  /**
   * Adds vectors to a set for chunks that still exist. The chunks are share-locked, so a document deleted
   * meanwhile either takes its chunks (and these vectors) with it after this commits, or was gone before.
   */
  async addVectors(setId: number, chunkIds: string[], vectors: string[]): Promise<void> {
    await this.db.query(
      `INSERT INTO chunk_vectors (set_id, chunk_id, embedding)
       SELECT $1, c.id, u.embedding::vector
         FROM unnest($2::bigint[], $3::text[]) AS u(chunk_id, embedding)
         JOIN chunks c ON c.id = u.chunk_id
         FOR KEY SHARE OF c
       ON CONFLICT DO NOTHING`,
      [setId, chunkIds, vectors],
    );
  }

  /**
   * Makes a complete building set the collection's active one, in one transaction: searches see the old
   * vectors until it commits and the new ones after. The collection row is locked first, which waits
   * for indexing transactions under way (they hold it key-shared) and holds back new ones, so no chunk
   * can slip in without a vector. Returns the collection's name once switched, or null, changing
   * nothing, when chunks are still missing or the set is no longer building.
   */
  async switchTo(set: EmbeddingSet): Promise<string | null> {
    return transactionRetryingConflicts(this.db, async (m) => {
      const [collection] = await m.query(`SELECT name FROM collections WHERE id = $1 FOR UPDATE`, [
        set.collectionId,
      ]);
      const current = await m.query(`SELECT state FROM embedding_sets WHERE id = $1`, [set.id]);
      if (!collection || current[0]?.state !== 'building') return null;
      const missing = await m.query(
        `SELECT 1 FROM chunks c WHERE c.collection_id = $1
            AND NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.set_id = $2 AND v.chunk_id = c.id) LIMIT 1`,
        [set.collectionId, set.id],
      );
      if (missing.length > 0) return null;
      await m.query(
        `UPDATE embedding_sets SET state = 'retired', updated_at = now() WHERE collection_id = $1 AND state = 'active'`,
        [set.collectionId],
      );
      await m.query(`UPDATE embedding_sets SET state = 'active', updated_at = now() WHERE id = $1`, [set.id]);
      await m.query(
        `UPDATE collections SET embedding_model = $2, dimensions = $3, updated_at = now() WHERE id = $1`,
        [set.collectionId, set.model, set.dimensions],
      );
      return collection.name as string;
    });
  }

  async markFailed(setId: number, error: string): Promise<void> {
    await this.db.query(`UPDATE embedding_sets SET error = $2, updated_at = now() WHERE id = $1`, [
      setId,
      error.slice(0, 2000),
    ]);
  }

  private async retire(m: EntityManager, setId: number) {
    await m.query(`UPDATE embedding_sets SET state = 'retired', updated_at = now() WHERE id = $1`, [setId]);
  }

  /**
   * Drops the sets retired more than `graceMs` ago: their index, vectors and row. The grace lets searches
   * that read the old set id just before a switch finish with its vectors.
   */
  async dropRetired(graceMs: number): Promise<number> {
    const rows: { id: number }[] = await this.db.query(
      `SELECT id FROM embedding_sets WHERE state = 'retired' AND updated_at <= now() - make_interval(secs => $1::float8 / 1000)`,
      [graceMs],
    );
    for (const { id } of rows) {
      await dropVectorIndex(this.db, this.database.kind, id);
      await this.db.query(`DELETE FROM chunk_vectors WHERE set_id = $1`, [id]);
      await this.db.query(`DELETE FROM embedding_sets WHERE id = $1`, [id]);
    }
    return rows.length;
  }

  /**
   * Active sets without their HNSW index, or with a single-precision one built before half-precision
   * indexes, that hold at least `minVectors` vectors and whose collection has nothing left to index: their
   * bulk load is over, so the index can be built in one pass. A single-precision index is searched until
   * the half one beside it is built (buildIndex).
   */
  async pendingIndexes(minVectors: number): Promise<EmbeddingSet[]> {
    const rows = await this.db.query(
      `SELECT ${prefixed('s')}
         FROM embedding_sets s
        WHERE s.state = 'active' AND (NOT s.indexed OR s.index_precision = 'single')
          AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.collection_id = s.collection_id AND d.status IN ('queued', 'processing'))
          AND (SELECT count(*) FROM (SELECT 1 FROM chunk_vectors v WHERE v.set_id = s.id LIMIT $1) n) >= $1
        ORDER BY s.id`,
      [minVectors],
    );
    return rows.map(toSet);
  }

  /**
   * Active, indexed sets of collections with a large load waiting: at least `minDocuments` documents
   * queued or processing, and at least as many as the collection has indexed (from the status counts).
   */
  async indexedUnderLargeLoad(minDocuments: number): Promise<EmbeddingSet[]> {
    const rows = await this.db.query(
      `SELECT ${prefixed('s')}
         FROM embedding_sets s
         JOIN (SELECT collection_id,
                      coalesce(sum(documents) FILTER (WHERE status IN ('queued', 'processing')), 0) AS pending,
                      coalesce(sum(documents) FILTER (WHERE status = 'indexed'), 0) AS indexed
                 FROM document_status_deltas GROUP BY collection_id) d ON d.collection_id = s.collection_id
        WHERE s.state = 'active' AND s.indexed AND d.pending >= $1 AND d.pending >= d.indexed
        ORDER BY s.id`,
      [minDocuments],
    );
    return rows.map(toSet);
  }

  /**
   * Drops a set's HNSW index for a load and records it as not indexed, so that `pendingIndexes` builds it
   * again once the load is over; dense search scans the set exactly meanwhile.
   */
  async suspendIndex(set: EmbeddingSet): Promise<void> {
    await this.db.query(`UPDATE embedding_sets SET indexed = false, updated_at = now() WHERE id = $1`, [
      set.id,
    ]);
    await dropVectorIndex(this.db, this.database.kind, set.id);
  }

  /**
   * Builds the set's (half-precision) HNSW index and records it (and the build's time, on /metrics);
   * returns the seconds the build itself took, or null when another process is building it. A single-precision index from before goes once
   * searches have been switched to the new one.
   */
  async buildIndex(set: EmbeddingSet): Promise<number | null> {
    const memoryMb = this.config.ingestion.vectorIndexBuildMemoryMb;
    const started = performance.now();
    if (!(await buildVectorIndex(this.db, this.database.kind, set, memoryMb))) return null;
    const seconds = (performance.now() - started) / 1000;
    this.metrics.ingestion.vectorIndexBuilt(seconds);
    await this.db.query(
      `UPDATE embedding_sets SET indexed = true, index_precision = 'half', updated_at = now() WHERE id = $1`,
      [set.id],
    );
    if (set.indexed && set.indexPrecision === 'single') {
      // Searches that read the set's statistics before the switch still order by the old index's expression.
      await delay(STATISTICS_LIFETIME_MS);
      await dropVectorIndex(this.db, this.database.kind, set.id, ['single']);
    }
    return seconds;
  }

  /** How many vectors the set holds (a re-index's progress). */
  async vectorCount(setId: number): Promise<number> {
    const rows = await this.db.query(`SELECT count(*) AS n FROM chunk_vectors WHERE set_id = $1`, [setId]);
    return Number(rows[0].n);
  }
}

function toSet(r: Record<string, unknown>): EmbeddingSet {
  return {
    id: Number(r.id),
    collectionId: r.collection_id as string,
    model: r.model as string,
    dimensions: Number(r.dimensions),
    state: r.state as EmbeddingSetState,
    indexed: Boolean(r.indexed),
    indexPrecision: r.index_precision as VectorIndexPrecision,
    error: (r.error as string | null) ?? null,
  };
}
