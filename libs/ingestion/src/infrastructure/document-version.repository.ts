import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { transactionRetryingConflicts } from '#platform';
import type { DocumentStatus } from '#contracts';
import type { DocumentJob, NewDocumentVersion } from '../domain/document-job.js';

/**
 * Document versions: a new version for changed content or a retried failure, each drawn a fresh queue
 * token, and the versions that already stand. An ingest runs in one transaction with its collection.
 */
@Injectable()
export class DocumentVersionRepository {
  constructor(private readonly db: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return transactionRetryingConflicts(this.db, fn);
  }

  /**
   * Upserts document versions in one statement. A document whose content hash is unchanged (and did not
   * fail) is left as it is; any other becomes a new queued version. Returns the new versions by external id.
   */
  async upsertVersions(
    m: EntityManager,
    collectionId: string,
    docs: NewDocumentVersion[],
  ): Promise<Map<string, DocumentJob>> {
    const rows: { external_id: string; id: string; version: number; queue_token: string }[] = await m.query(
      `INSERT INTO documents (collection_id, external_id, title, metadata, source_kind, source_text, source_bytes, source_blob, content_hash, status)
       SELECT $1, u.external_id, u.title, u.metadata::jsonb, u.source_kind, u.source_text, u.source_bytes, u.source_blob, u.content_hash, 'queued'
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::text[], $9::uuid[])
           AS u(external_id, title, metadata, source_kind, source_text, source_bytes, content_hash, source_blob)
       ON CONFLICT (collection_id, external_id) DO UPDATE
          SET title = excluded.title, metadata = excluded.metadata, source_kind = excluded.source_kind,
              source_text = excluded.source_text, source_bytes = excluded.source_bytes,
              source_blob = excluded.source_blob,
              content_hash = excluded.content_hash, status = 'queued', version = documents.version + 1,
              stage = NULL, progress = 0, error = NULL, updated_at = now(), queue_token = DEFAULT
        WHERE documents.content_hash <> excluded.content_hash OR documents.status = 'failed'
       RETURNING external_id, id, version, queue_token`,
      [
        collectionId,
        docs.map((d) => d.externalId),
        docs.map((d) => d.title),
        docs.map((d) => JSON.stringify(d.metadata)),
        docs.map((d) => d.sourceKind),
        docs.map((d) => d.sourceText),
        docs.map((d) => d.sourceBytes),
        docs.map((d) => d.contentHash),
        docs.map((d) => d.sourceBlob),
      ],
    );
    return new Map(
      rows.map((r) => [
        r.external_id,
        { documentId: String(r.id), version: r.version, token: r.queue_token },
      ]),
    );
  }

  /** Current versions of the given external ids that already exist (for `unchanged` answers). */
  async currentVersions(
    collectionId: string,
    externalIds: string[],
    m: EntityManager,
  ): Promise<Map<string, DocumentJob>> {
    const rows: { external_id: string; id: string; version: number }[] = await m.query(
      `SELECT external_id, id, version FROM documents WHERE collection_id = $1 AND external_id = ANY($2::text[])`,
      [collectionId, externalIds],
    );
    return new Map(rows.map((r) => [r.external_id, { documentId: String(r.id), version: r.version }]));
  }

  /**
   * Makes a failed document a new queued version, its error cleared, in one statement so that two retries
   * cannot both win. Returns the new version, or null when the document is missing or not failed.
   */
  async requeueFailed(collectionId: string, externalId: string): Promise<DocumentJob | null> {
    const rows: { id: string; version: number; queue_token: string }[] = await this.db.query(
      // Wrapped in a SELECT: TypeORM hands back an UPDATE's rows as [rows, count].
      `WITH requeued AS (
         UPDATE documents SET status = 'queued', version = version + 1, stage = NULL, progress = 0, error = NULL,
                updated_at = now(), queue_token = DEFAULT
          WHERE collection_id = $1 AND external_id = $2 AND status = 'failed'
         RETURNING id, version, queue_token)
       SELECT * FROM requeued`,
      [collectionId, externalId],
    );
    return rows.length === 0
      ? null
      : { documentId: String(rows[0].id), version: rows[0].version, token: rows[0].queue_token };
  }

  async documentStatus(collectionId: string, externalId: string): Promise<DocumentStatus | null> {
    const rows: { status: DocumentStatus }[] = await this.db.query(
      `SELECT status FROM documents WHERE collection_id = $1 AND external_id = $2`,
      [collectionId, externalId],
    );
    return rows.length === 0 ? null : rows[0].status;
  }
}
