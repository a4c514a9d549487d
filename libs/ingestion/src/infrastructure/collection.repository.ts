import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AppError } from '#contracts';
import type { EmbedderRegistry } from '#embeddings';
import { COLLECTION_NOT_FOUND, EMBEDDER_MISMATCH } from '../domain/ingestion.errors.js';
import { EmbeddingSetRepository } from './embedding-set.repository.js';

export interface CollectionRow {
  id: string;
  name: string;
  embeddingModel: string;
  dimensions: number;
  analyzer: string;
}

/**
 * A collection is filled with its own model's vectors until a re-index moves it to another: this process
 * must be able to make them (the hashing embedder always can; another model of the configured provider
 * is reached at the same endpoint).
 */
export function assertEmbeddable(collection: CollectionRow, embedders: EmbedderRegistry): void {
  if (!embedders.get(collection.embeddingModel, collection.dimensions)) {
    throw new AppError(
      EMBEDDER_MISMATCH,
      `collection "${collection.name}" holds ${collection.embeddingModel} vectors of ${collection.dimensions} dimensions, ` +
        `which this server cannot make (its embedder is ${embedders.configured.model}); ` +
        `re-index it with POST /rag/collections/${collection.name}/reindex`,
    );
  }
}

/** The collections table: a collection found, required, or created on first use with its embedder. */
@Injectable()
export class CollectionRepository {
  constructor(
    private readonly db: DataSource,
    private readonly sets: EmbeddingSetRepository,
  ) {}

  async findCollection(name: string, m: EntityManager = this.db.manager): Promise<CollectionRow | null> {
    return this.selectCollection(name, m, '');
  }

  private async selectCollection(
    name: string,
    m: EntityManager,
    lock: string,
  ): Promise<CollectionRow | null> {
    const rows = await m.query(
      `SELECT id, name, embedding_model, dimensions, analyzer FROM collections WHERE name = $1 ${lock}`,
      [name],
    );
    return rows.length === 0 ? null : toCollection(rows[0]);
  }

  async requireCollection(name: string): Promise<CollectionRow> {
    const c = await this.findCollection(name);
    if (!c) throw new AppError(COLLECTION_NOT_FOUND, `collection "${name}" does not exist`);
    return c;
  }

  /**
   * Creates the collection on first use, bound to the configured embedder (its first, active embedding
   * set) and analyzer; an existing collection keeps its model. The row is held key-shared to the end of
   * the caller's transaction, before any document row is touched: a collection delete (which holds it for
   * update, then takes the documents with it) either commits first, and the collection is created again,
   * or waits for this transaction. Without it the two took the documents and the collection in opposite
   * orders (a deadlock), or an ingest wrote documents under a collection deleted a moment before (a
   * foreign key violation): both a 500.
   */
  async ensureCollection(
    m: EntityManager,
    name: string,
    embedders: EmbedderRegistry,
    analyzer: string,
  ): Promise<CollectionRow> {
    const { model, dimensions } = embedders.configured;
    for (;;) {
      const created: { id: string }[] = await m.query(
        `INSERT INTO collections (name, embedding_model, dimensions, analyzer) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING RETURNING id`,
        [name, model, dimensions, analyzer],
      );
      if (created.length > 0) await this.sets.createActive(m, created[0].id, model, dimensions);
      // Gone again only if a delete committed between the two statements: then the insert can win.
      const collection = await this.selectCollection(name, m, 'FOR KEY SHARE');
      if (!collection) continue;
      assertEmbeddable(collection, embedders);
      return collection;
    }
  }
}

function toCollection(r: Record<string, unknown>): CollectionRow {
  return {
    id: r.id as string,
    name: r.name as string,
    embeddingModel: r.embedding_model as string,
    dimensions: r.dimensions as number,
    analyzer: r.analyzer as string,
  };
}
