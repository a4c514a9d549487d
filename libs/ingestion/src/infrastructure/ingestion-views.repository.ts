import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  AppError,
  type CollectionSummary,
  type CollectionView,
  type DocumentStage,
  type DocumentStatus,
  type DocumentView,
  type Metadata,
} from '#contracts';
import { COLLECTION_NOT_FOUND, DOCUMENT_NOT_FOUND } from '../domain/ingestion.errors.js';
import { CollectionRepository } from './collection.repository.js';
import { EmbeddingSetRepository } from './embedding-set.repository.js';

/** Where a document stands, with the collection it belongs to (what a job's state is read from). */
export interface DocumentState {
  collection: string;
  externalId: string;
  version: number;
  status: DocumentStatus;
  stage: DocumentStage | null;
  progress: number;
  error: string | null;
  updatedAt: string;
}

/** The read side: a collection's and a document's views, a page of documents, and a job's document. */
@Injectable()
export class IngestionViewRepository {
  constructor(
    private readonly db: DataSource,
    private readonly sets: EmbeddingSetRepository,
    private readonly collections: CollectionRepository,
  ) {}

  /** Every collection by name, with its documents (from the status counts) and chunks. */
  async collectionList(): Promise<CollectionSummary[]> {
    const rows: { name: string; documents: string; chunk_count: string }[] = await this.db.query(
      `SELECT c.name, c.chunk_count, coalesce(sum(d.documents), 0) AS documents
         FROM collections c LEFT JOIN document_status_deltas d ON d.collection_id = c.id
        GROUP BY c.id
        ORDER BY c.name`,
    );
    return rows.map((r) => ({ name: r.name, documents: Number(r.documents), chunks: Number(r.chunk_count) }));
  }

  async collectionView(name: string): Promise<CollectionView> {
    const rows = await this.db.query(
      `SELECT c.name, c.embedding_model, c.dimensions, c.chunk_count,
              (SELECT indexed FROM embedding_sets s WHERE s.collection_id = c.id AND s.state = 'active') AS hnsw,
              coalesce(sum(d.documents) FILTER (WHERE d.status = 'queued'), 0) AS queued,
              coalesce(sum(d.documents) FILTER (WHERE d.status = 'processing'), 0) AS processing,
              coalesce(sum(d.documents) FILTER (WHERE d.status = 'indexed'), 0) AS indexed,
              coalesce(sum(d.documents) FILTER (WHERE d.status = 'failed'), 0) AS failed
         FROM collections c LEFT JOIN document_status_deltas d ON d.collection_id = c.id
        WHERE c.name = $1
        GROUP BY c.id`,
      [name],
    );
    if (rows.length === 0) throw new AppError(COLLECTION_NOT_FOUND, `collection "${name}" does not exist`);
    const r = rows[0];
    const chunks = Number(r.chunk_count);
    const building = await this.sets.buildingSet(name);
    let reindex: CollectionView['reindex'];
    if (building) {
      const embedded = await this.sets.vectorCount(building.id);
      reindex = {
        model: building.model,
        dimensions: building.dimensions,
        status: building.error ? 'failed' : 'running',
        embedded,
        progress: chunks === 0 ? 100 : Math.min(100, Math.floor((embedded / chunks) * 100)),
        ...(building.error ? { error: building.error } : {}),
      };
    }
    return {
      name: r.name,
      documents: {
        queued: Number(r.queued),
        processing: Number(r.processing),
        indexed: Number(r.indexed),
        failed: Number(r.failed),
      },
      chunks,
      embedding: { model: r.embedding_model, dimensions: r.dimensions, index: r.hnsw ? 'hnsw' : 'exact' },
      ...(reindex ? { reindex } : {}),
    };
  }

  async documentView(collectionName: string, externalId: string): Promise<DocumentView> {
    const collection = await this.collections.requireCollection(collectionName);
    const rows = await this.db.query(
      `SELECT ${DOCUMENT_VIEW_COLUMNS} FROM documents WHERE collection_id = $1 AND external_id = $2`,
      [collection.id, externalId],
    );
    if (rows.length === 0) {
      throw new AppError(
        DOCUMENT_NOT_FOUND,
        `document "${externalId}" does not exist in collection "${collectionName}"`,
      );
    }
    return toDocumentView(rows[0]);
  }

  /**
   * A page of a collection's documents in external-id order, after the given id (keyset paging: each page
   * is one range read of the (collection_id, external_id) index, however deep it is).
   */
  async listDocuments(
    collectionId: string,
    filter: { status?: DocumentStatus; after?: string },
    limit: number,
  ): Promise<DocumentView[]> {
    const params: unknown[] = [collectionId, limit];
    let where = 'collection_id = $1';
    if (filter.status !== undefined) {
      params.push(filter.status);
      where += ` AND status = $${params.length}`;
    }
    if (filter.after !== undefined) {
      params.push(filter.after);
      where += ` AND external_id > $${params.length}`;
    }
    const rows = await this.db.query(
      `SELECT ${DOCUMENT_VIEW_COLUMNS} FROM documents WHERE ${where} ORDER BY external_id LIMIT $2`,
      params,
    );
    return rows.map(toDocumentView);
  }

  /** The document a job belongs to, by its row id, whatever version it is at now. */
  async documentState(documentId: string): Promise<DocumentState | null> {
    const rows = await this.db.query(
      `SELECT c.name, d.external_id, d.version, d.status, d.stage, d.progress, d.error, d.updated_at
         FROM documents d JOIN collections c ON c.id = d.collection_id
        WHERE d.id = $1`,
      [documentId],
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      collection: r.name,
      externalId: r.external_id,
      version: r.version,
      status: r.status as DocumentStatus,
      stage: r.stage as DocumentStage | null,
      progress: r.progress,
      error: r.error,
      updatedAt: new Date(r.updated_at).toISOString(),
    };
  }
}

const DOCUMENT_VIEW_COLUMNS =
  'external_id, status, stage, progress, title, metadata, chunk_count, content_hash, version, error, updated_at';

function toDocumentView(r: Record<string, unknown>): DocumentView {
  return {
    id: r.external_id as string,
    status: r.status as DocumentStatus,
    ...(r.stage ? { stage: r.stage as DocumentStage } : {}),
    progress: r.progress as number,
    title: r.title as string | null,
    metadata: r.metadata as Metadata,
    chunkCount: r.chunk_count as number,
    contentHash: r.content_hash as string,
    version: r.version as number,
    ...(r.error ? { error: r.error as string } : {}),
    updatedAt: new Date(r.updated_at as string | Date).toISOString(),
  };
}
