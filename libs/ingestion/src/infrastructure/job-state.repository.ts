import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DocumentStage, Metadata } from '#contracts';
import { retryConflicts } from '#platform';
import type { DocumentJob, DocumentSource } from '../domain/document-job.js';

/**
 * Where each document version stands in the pipeline (queued, processing, failed, its stage), as the
 * queues and the index use case move it on, and the status counts they keep.
 */
@Injectable()
export class JobStateRepository {
  constructor(private readonly db: DataSource) {}

  /** Document versions still waiting or interrupted (queued or processing), oldest first. */
  async pendingJobs(limit: number, untouchedForMs = 0): Promise<DocumentJob[]> {
    const rows = await this.db.query(
      `SELECT id, version FROM documents
        WHERE status IN ('queued', 'processing') AND updated_at <= now() - make_interval(secs => $2::float8 / 1000)
        ORDER BY updated_at, id LIMIT $1`,
      [limit, untouchedForMs],
    );
    return rows.map((r: { id: string; version: number }) => ({
      documentId: String(r.id),
      version: r.version,
    }));
  }

  /** Whether any document, in any collection, waits to be indexed or is being indexed. */
  async hasPendingDocuments(): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 FROM document_status_deltas WHERE status IN ('queued', 'processing')
        GROUP BY collection_id, status HAVING sum(documents) > 0 LIMIT 1`,
    );
    return rows.length > 0;
  }

  /**
   * After a load: each status change left a dead row version in `documents` and a dead entry in its
   * index of pending documents, which the collection view, the stall check and the reconciler read; at
   * 1M chunks, with autovacuum off or behind, that index held 166 MB for no pending document and those
   * reads took seconds.
   */
  async vacuum(): Promise<void> {
    await this.db.query('VACUUM (ANALYZE) documents');
    await this.db.query('VACUUM document_status_deltas');
  }

  /**
   * Folds each collection's status deltas into one row per status (see the document-status-counts
   * migration). Rows appended meanwhile by other transactions are not in this statement's snapshot, so
   * they are neither deleted nor summed: the totals stay exact.
   */
  async compactStatusCounts(): Promise<void> {
    await this.db.query(
      `WITH gone AS (DELETE FROM document_status_deltas RETURNING collection_id, status, documents)
       INSERT INTO document_status_deltas
       SELECT collection_id, status, sum(documents) FROM gone GROUP BY 1, 2 HAVING sum(documents) <> 0`,
    );
  }

  /**
   * Marks the still-current versions as processing, in their first stage, and returns their sources. A
   * job whose token is not the document's any more was replaced by the reconciler's fresh one (or came
   * back with an old Redis snapshot): it starts nothing, so the version is worked on by one job at a time.
   */
  async startProcessing(
    jobs: DocumentJob[],
    stage: DocumentStage,
    progress: number,
  ): Promise<DocumentSource[]> {
    const rows = await this.write(
      // Wrapped in a SELECT: TypeORM hands back an UPDATE's rows as [rows, count].
      `WITH started AS (
         UPDATE documents d SET status = 'processing', stage = $4, progress = $5, updated_at = now()
           FROM unnest($1::bigint[], $2::int[], $3::text[]) AS j(id, version, token)
          WHERE d.id = j.id AND d.version = j.version AND d.status IN ('queued', 'processing')
            AND (j.token IS NULL OR d.queue_token IS NOT DISTINCT FROM j.token)
         RETURNING d.id, d.version, d.collection_id, d.external_id, d.title, d.metadata, d.source_kind, d.source_text, d.source_bytes, d.source_blob)
       SELECT started.*, c.name AS collection FROM started JOIN collections c ON c.id = started.collection_id`,
      [
        jobs.map((j) => j.documentId),
        jobs.map((j) => j.version),
        jobs.map((j) => j.token ?? null),
        stage,
        progress,
      ],
    );
    return rows.map((r: Record<string, unknown>) => ({
      documentId: String(r.id),
      version: r.version as number,
      collectionId: r.collection_id as string,
      collection: r.collection as string,
      externalId: r.external_id as string,
      title: r.title as string | null,
      metadata: r.metadata as Metadata,
      sourceKind: r.source_kind as string,
      sourceText: r.source_text as string | null,
      sourceBytes: r.source_bytes as Buffer | null,
      sourceBlob: r.source_blob as string | null,
    }));
  }

  /** Puts versions that were being processed back in the queue's hands, untouched. */
  async requeue(jobs: DocumentJob[]): Promise<void> {
    await this.write(
      `UPDATE documents d SET status = 'queued', stage = NULL, progress = 0, updated_at = now()
         FROM unnest($1::bigint[], $2::int[]) AS j(id, version)
        WHERE d.id = j.id AND d.version = j.version AND d.status = 'processing'`,
      [jobs.map((j) => j.documentId), jobs.map((j) => j.version)],
    );
  }

  async markFailed(job: DocumentJob, error: string): Promise<void> {
    await this.write(
      `UPDATE documents SET status = 'failed', error = $3, updated_at = now() WHERE id = $1 AND version = $2`,
      [job.documentId, job.version, error.slice(0, 2000)],
    );
  }

  /**
   * Records the stage the versions being processed have entered, in one statement for the batch.
   * Versions superseded, deleted or no longer processing meanwhile are left alone.
   */
  async recordStage(jobs: DocumentJob[], stage: DocumentStage, progress: number): Promise<void> {
    if (jobs.length === 0) return;
    await this.write(
      `UPDATE documents d SET stage = $3, progress = $4, updated_at = now()
         FROM unnest($1::bigint[], $2::int[]) AS j(id, version)
        WHERE d.id = j.id AND d.version = j.version AND d.status = 'processing'`,
      [jobs.map((j) => j.documentId), jobs.map((j) => j.version), stage, progress],
    );
  }

  /**
   * A statement that updates documents an ingest or a delete may be locking in another order: run again
   * if PostgreSQL ends it to break a deadlock (see retryConflicts).
   */
  private write(sql: string, params: unknown[]): Promise<any> {
    return retryConflicts(() => this.db.query(sql, params));
  }
}
