import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, type Filter, type Metadata, type SearchHit } from '#contracts';
import { CONFIG, type AppConfig } from '#platform';
import {
  LexicalIndex,
  type LexicalLayout,
  toVectorLiteral,
  vectorDistanceSql,
  vectorOrderSql,
  vectorSetSql,
} from '#search-index';
import { compileFilter } from './filter-sql.js';
import { COLLECTION_NOT_FOUND } from '../domain/retrieval.errors.js';

export interface CollectionStats {
  id: string;
  name: string;
  /** The active embedding set: the vectors dense search reads. */
  setId: number;
  dimensions: number;
  /** The active set has its half-precision HNSW index built: dense search orders by its expression. */
  halfIndex: boolean;
  embeddingModel: string;
  analyzer: string;
  chunkCount: number;
  tokenCount: number;
  lexicalLayout: LexicalLayout;
}

export interface ScoredChunk {
  id: string;
  score: number;
  /** Sparse hits: the BM25 score of each query term the chunk has, by term. */
  terms?: Record<string, number>;
}

/**
 * How long a collection's statistics are reused before they are read again. It saves every search a
 * round trip to the database, and is safe: a stale chunk or token count only moves BM25's idf and length
 * norm by the documents of the last second, and a stale active set is still whole, since a re-index drops
 * the set it replaced only after a grace of several seconds (IndexMaintenance).
 */
export const COLLECTION_STATS_TTL_MS = 1000;

/**
 * The read side of the index. Every query is scoped by collection id first, so no path can return
 * another collection's rows.
 */
@Injectable()
export class ChunkSearchRepository {
  constructor(
    private readonly db: DataSource,
    private readonly lexical: LexicalIndex,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  private readonly stats = new Map<string, { value: CollectionStats; until: number }>();

  async collection(name: string): Promise<CollectionStats> {
    const now = Date.now();
    const cached = this.stats.get(name);
    if (cached && cached.until > now) return cached.value;
    const value = await this.readCollection(name);
    // Only known collections are kept, so a new collection is found at once; the map is bounded by the
    // number of collections searched in one TTL.
    for (const [key, entry] of this.stats) if (entry.until <= now) this.stats.delete(key);
    this.stats.set(name, { value, until: now + COLLECTION_STATS_TTL_MS });
    return value;
  }

  /** Drops a collection's cached statistics (it was deleted). */
  forget(name: string): void {
    this.stats.delete(name);
  }

  private async readCollection(name: string): Promise<CollectionStats> {
    const rows = await this.db.query(
      // The active set and the collection's model change together, in the re-index switch's transaction.
      `SELECT c.id, c.name, s.id AS set_id, s.dimensions, s.model, c.analyzer, c.chunk_count, c.token_count,
              c.lexical_layout, s.indexed AND s.index_precision = 'half' AS half_index
         FROM collections c JOIN embedding_sets s ON s.collection_id = c.id AND s.state = 'active'
        WHERE c.name = $1`,
      [name],
    );
    if (rows.length === 0) throw new AppError(COLLECTION_NOT_FOUND, `collection "${name}" does not exist`);
    const r = rows[0];
    return {
      id: r.id,
      name: r.name,
      setId: Number(r.set_id),
      dimensions: r.dimensions,
      halfIndex: r.half_index === true,
      embeddingModel: r.model,
      analyzer: r.analyzer,
      chunkCount: Number(r.chunk_count),
      tokenCount: Number(r.token_count),
      lexicalLayout: r.lexical_layout,
    };
  }

  /**
   * Nearest chunks by cosine distance in the collection's active embedding set, through its HNSW index
   * (or exactly, before the index is built); score = cosine similarity.
   */
  async dense(
    collection: CollectionStats,
    vector: number[],
    limit: number,
    filter?: Filter,
  ): Promise<ScoredChunk[]> {
    const f = compileFilter(filter, 3);
    const set = { id: collection.setId, dimensions: collection.dimensions, halfIndex: collection.halfIndex };
    const filtered = filter && Object.keys(filter).length > 0;
    // Found through the index (in half precision when it is a half one), scored at full precision.
    const rows: { id: string; distance: number }[] = await this.db.query(
      `SELECT v.chunk_id AS id, ${vectorDistanceSql(set, '$1')} AS distance
         FROM chunk_vectors v ${filtered ? 'JOIN chunks c ON c.id = v.chunk_id' : ''}
        WHERE ${vectorSetSql(set.id)} ${filtered ? `AND ${f.sql}` : ''}
        ORDER BY ${vectorOrderSql(set, '$1')}
        LIMIT $2`,
      [toVectorLiteral(vector), limit, ...(filtered ? f.params : [])],
    );
    // Iterative scans return rows in relaxed order: restore the exact order here.
    return rows
      .map((r) => ({ id: String(r.id), score: 1 - Number(r.distance) }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  }

  /**
   * Okapi BM25, exactly (Lucene's idf: ln(1 + (N - df + 0.5)/(df + 0.5))), from the collection's lexical
   * index: block-max top-k over compressed posting blocks (see LexicalIndex). Document frequencies are
   * the postings the index holds now, so the scores always match the index as it is.
   */
  async sparse(
    collection: CollectionStats,
    terms: Map<string, number>,
    limit: number,
    filter?: Filter,
  ): Promise<ScoredChunk[]> {
    const filtered = filter && Object.keys(filter).length > 0;
    const { hits } = await this.lexical.search(this.db, {
      collectionId: collection.id,
      layout: collection.lexicalLayout,
      terms,
      k: limit,
      scoring: {
        ...this.config.retrieval.bm25,
        chunks: collection.chunkCount,
        avgdl: collection.tokenCount / collection.chunkCount || 1,
      },
      ...(filtered && { filter: (first: number) => compileFilter(filter, first) }),
    });
    const names = [...terms.keys()];
    return hits.map((h) => {
      const byTerm: Record<string, number> = {};
      h.terms.forEach((score, i) => {
        if (score > 0) byTerm[names[i]] = score;
      });
      return { id: String(h.id), score: h.score, terms: byTerm };
    });
  }

  /**
   * The chunks themselves, in the order of the ids given; only the collection's own, whatever ids come
   * in (the ids come from this collection's retrievers, and the collection is bound here all the same).
   */
  async hits(collection: CollectionStats, ids: string[]): Promise<Map<string, Omit<SearchHit, 'score'>>> {
    if (ids.length === 0) return new Map();
    const rows: {
      id: string;
      external_id: string;
      position: number;
      title: string | null;
      text: string;
      metadata: Metadata;
    }[] = await this.db.query(
      `SELECT c.id, d.external_id, c.position, c.title, c.text, c.metadata
           FROM chunks c JOIN documents d ON d.id = c.document_id
          WHERE c.id = ANY($1::bigint[]) AND c.collection_id = $2`,
      [ids, collection.id],
    );
    return new Map(
      rows.map((r) => [
        String(r.id),
        {
          documentId: r.external_id,
          chunkId: `${r.external_id}#${r.position}`,
          title: r.title,
          text: r.text,
          metadata: r.metadata,
        },
      ]),
    );
  }
}
