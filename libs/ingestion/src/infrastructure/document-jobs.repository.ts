import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DocumentJob } from '../domain/document-job.js';

/** A pending document as the reconciler sees it: its version, its token, and how long it has sat still. */
export interface PendingDocument extends DocumentJob {
  status: 'queued' | 'processing';
  idleMs: number;
}

/** Where a page of pending documents ended, in the order of the pending index. */
export interface PendingCursor {
  collectionId: string;
  updatedAt: string;
  id: string;
}

/** Documents that have waited too long, in one collection or all. */
export interface StallReport {
  /** Pending documents untouched for longer than the stall age, counted up to STALL_COUNT_CAP. */
  stalled: number;
  /** How long the longest-waiting pending document has sat without progress; null when none is pending. */
  oldestPendingMs: number | null;
}

/** Counting stops here, so that a backlog of a million documents costs a poll no more than this many. */
export const STALL_COUNT_CAP = 100_000;

const PENDING = `status IN ('queued', 'processing')`;
const FIRST: PendingCursor = {
  collectionId: '00000000-0000-0000-0000-000000000000',
  updatedAt: '-infinity',
  id: '0',
};

/**
 * What the queue needs of the documents table to keep the database and the queue in agreement (issue
 * 16): this database's instance id, pages of pending documents for the reconciler, fresh queue tokens,
 * and the stall report. Apart from JobStateRepository, which moves versions through the pipeline.
 * Every query reads the partial index of pending documents (see the queue-jobs migration).
 */
@Injectable()
export class DocumentJobsRepository {
  private instance?: Promise<string>;

  constructor(private readonly db: DataSource) {}

  /** The id made once when this database was created (it survives restarts and restores). */
  instanceId(): Promise<string> {
    this.instance ??= this.db
      .query(`SELECT id FROM database_instance`)
      .then((rows: { id: string }[]) => rows[0].id);
    // A failed read is not kept: the next call tries again.
    this.instance.catch(() => (this.instance = undefined));
    return this.instance;
  }

  /**
   * Up to `limit` pending documents untouched for `untouchedForMs`, after `after`; `next` is where the
   * following page starts, absent once the last page has been read.
   */
  async pendingPage(
    after: PendingCursor | undefined,
    untouchedForMs: number,
    limit: number,
  ): Promise<{ documents: PendingDocument[]; next?: PendingCursor }> {
    const from = after ?? FIRST;
    const rows: {
      id: string;
      version: number;
      status: 'queued' | 'processing';
      queue_token: string | null;
      collection_id: string;
      at: string;
      idle_ms: number;
    }[] = await this.db.query(
      `SELECT id, version, status, queue_token, collection_id, updated_at::text AS at,
              (extract(epoch FROM now() - updated_at) * 1000)::float8 AS idle_ms
         FROM documents
        WHERE ${PENDING} AND updated_at <= now() - make_interval(secs => $4::float8 / 1000)
          AND (collection_id, updated_at, id) > ($1::uuid, $2::timestamptz, $3::bigint)
        ORDER BY collection_id, updated_at, id
        LIMIT $5`,
      [from.collectionId, from.updatedAt, from.id, untouchedForMs, limit],
    );
    const documents = rows.map((r) => ({
      documentId: String(r.id),
      version: r.version,
      ...(r.queue_token === null ? {} : { token: r.queue_token }),
      status: r.status,
      idleMs: Number(r.idle_ms),
    }));
    const last = rows.at(-1);
    return {
      documents,
      next:
        rows.length < limit || !last
          ? undefined
          : { collectionId: last.collection_id, updatedAt: last.at, id: String(last.id) },
    };
  }

  /**
   * Draws a new queue token for versions still pending under the token they were checked with, and
   * hands them back to the queue (`queued`, untouched as of now). A version that moved on meanwhile
   * (indexed, superseded, re-tokened by another replica) is left alone. Returns the versions re-tokened.
   */
  async retoken(jobs: DocumentJob[]): Promise<DocumentJob[]> {
    if (jobs.length === 0) return [];
    const rows: { id: string; version: number; queue_token: string }[] = await this.db.query(
      // Wrapped in a SELECT: TypeORM hands back an UPDATE's rows as [rows, count].
      `WITH requeued AS (
         UPDATE documents d SET queue_token = DEFAULT, status = 'queued', stage = NULL, progress = 0,
                updated_at = now()
           FROM unnest($1::bigint[], $2::int[], $3::text[]) AS j(id, version, token)
          WHERE d.id = j.id AND d.version = j.version AND d.${PENDING}
            AND d.queue_token IS NOT DISTINCT FROM j.token
         RETURNING d.id, d.version, d.queue_token)
       SELECT * FROM requeued`,
      [jobs.map((j) => j.documentId), jobs.map((j) => j.version), jobs.map((j) => j.token ?? null)],
    );
    return rows.map((r) => ({ documentId: String(r.id), version: r.version, token: r.queue_token }));
  }

  /** The stall report of one collection (null if it does not exist), or of all of them. */
  async stalls(stallAfterMs: number, collection?: string): Promise<StallReport | null> {
    const rows: { collections: number; stalled: number | null; oldest_ms: number | null }[] =
      // Per collection, so each count and each oldest entry is a range of the pending index.
      await this.db.query(
        `SELECT count(*)::int AS collections, sum(s.stalled)::int AS stalled, max(s.oldest_ms) AS oldest_ms
           FROM collections c
          CROSS JOIN LATERAL (
                SELECT (SELECT count(*) FROM (
                          SELECT 1 FROM documents d
                           WHERE d.collection_id = c.id AND d.${PENDING}
                             AND d.updated_at <= now() - make_interval(secs => $1::float8 / 1000)
                           LIMIT $2) n) AS stalled,
                       (SELECT (extract(epoch FROM now() - min(d.updated_at)) * 1000)::float8
                          FROM documents d WHERE d.collection_id = c.id AND d.${PENDING}) AS oldest_ms) s
          WHERE $3::text IS NULL OR c.name = $3`,
        [stallAfterMs, STALL_COUNT_CAP, collection ?? null],
      );
    const r = rows[0];
    if (collection !== undefined && r.collections === 0) return null;
    return {
      stalled: Math.min(STALL_COUNT_CAP, r.stalled ?? 0),
      oldestPendingMs: r.oldest_ms === null ? null : Math.max(0, Math.round(Number(r.oldest_ms))),
    };
  }
}
