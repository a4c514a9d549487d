import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { StagedFile, UploadStagingPort } from '#contracts';

/** A staged file is written and read in parts of this size: the most of it any process holds at once. */
export const UPLOAD_PART_BYTES = 1024 * 1024;
/** Parts read back per query when a file is reassembled. */
const PARTS_PER_READ = 4;

/**
 * Ingestion's staging store for uploaded files (table `ingestion_upload_parts`): bytes are written in
 * ordered parts of at most UPLOAD_PART_BYTES by plain INSERTs (so on PostgreSQL and PGlite alike), each
 * part one bound parameter, while their SHA-256 is computed. Nothing holds a whole file but the worker
 * that extracts it (`read`).
 */
@Injectable()
export class UploadPartsRepository implements UploadStagingPort {
  constructor(private readonly db: DataSource) {}

  async stage(bytes: AsyncIterable<Uint8Array>): Promise<StagedFile> {
    const blobId = randomUUID();
    const sha256 = createHash('sha256');
    let part = 0;
    let size = 0;
    let buffer = Buffer.allocUnsafe(UPLOAD_PART_BYTES);
    let filled = 0;
    const flush = async () => {
      await this.db.query(`INSERT INTO ingestion_upload_parts (blob_id, part, data) VALUES ($1, $2, $3)`, [
        blobId,
        part++,
        filled === buffer.length ? buffer : buffer.subarray(0, filled),
      ]);
      // A fresh buffer: the driver may still hold the one just sent.
      buffer = Buffer.allocUnsafe(UPLOAD_PART_BYTES);
      filled = 0;
    };
    try {
      for await (const chunk of bytes) {
        sha256.update(chunk);
        size += chunk.byteLength;
        let offset = 0;
        while (offset < chunk.byteLength) {
          const n = Math.min(chunk.byteLength - offset, buffer.length - filled);
          buffer.set(chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === buffer.length) await flush();
        }
      }
      if (filled > 0 || part === 0) await flush();
    } catch (error) {
      await this.discard(blobId).catch(() => undefined);
      throw error;
    }
    return { blobId, size, sha256: sha256.digest('hex') };
  }

  async discard(blobId: string): Promise<void> {
    await this.db.query(`DELETE FROM ingestion_upload_parts WHERE blob_id = $1`, [blobId]);
  }

  /**
   * The content hash of a staged file, computed by the database from its parts (`sha256(head || bytes ||
   * tail)`, see contentHashFraming), with its size and plain SHA-256 to check against the reference.
   * Null when no such file is staged.
   */
  async hash(
    blobId: string,
    head: Buffer,
    tail: Buffer,
  ): Promise<{ contentHash: string; sha256: string; size: number } | null> {
    const rows: { content_hash: string | null; sha256: string | null; size: number | null }[] =
      await this.db.query(
        `WITH b AS (SELECT string_agg(data, ''::bytea ORDER BY part) AS bytes
                      FROM ingestion_upload_parts WHERE blob_id = $1)
         SELECT encode(sha256($2::bytea || b.bytes || $3::bytea), 'hex') AS content_hash,
                encode(sha256(b.bytes), 'hex') AS sha256, length(b.bytes) AS size
           FROM b`,
        [blobId, head, tail],
      );
    const r = rows[0];
    if (!r || r.content_hash === null || r.sha256 === null) return null;
    return { contentHash: `sha256:${r.content_hash}`, sha256: r.sha256, size: Number(r.size) };
  }

  /** A staged file whole, read back a few parts at a time (the worker, to extract its text). */
  async read(blobId: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let next = 0; ; next += PARTS_PER_READ) {
      const rows: { data: Buffer }[] = await this.db.query(
        `SELECT data FROM ingestion_upload_parts WHERE blob_id = $1 AND part >= $2 ORDER BY part LIMIT $3`,
        [blobId, next, PARTS_PER_READ],
      );
      parts.push(...rows.map((r) => r.data));
      if (rows.length < PARTS_PER_READ) break;
    }
    if (parts.length === 0) throw new Error(`the uploaded file's bytes are gone (staged file ${blobId})`);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Removes the parts of the given staged files that no document version points at any more. */
  async releaseUnreferenced(blobIds: string[]): Promise<void> {
    if (blobIds.length === 0) return;
    await this.db.query(
      `DELETE FROM ingestion_upload_parts p
        WHERE p.blob_id = ANY($1::uuid[])
          AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.source_blob = p.blob_id)`,
      [blobIds],
    );
  }

  /** The staged files of the given current versions, if any (before they are replaced). */
  async blobsOf(collectionId: string, externalIds: string[], m: EntityManager): Promise<string[]> {
    const rows: { source_blob: string }[] = await m.query(
      `SELECT source_blob FROM documents
        WHERE collection_id = $1 AND external_id = ANY($2::text[]) AND source_blob IS NOT NULL`,
      [collectionId, externalIds],
    );
    return rows.map((r) => r.source_blob);
  }

  /** Indexed versions need their file no more: the pointers are cleared and the parts removed. */
  async releaseIndexed(documentIds: string[]): Promise<void> {
    if (documentIds.length === 0) return;
    const rows: { source_blob: string }[] = await this.db.query(
      `WITH old AS (SELECT id, source_blob FROM documents
                     WHERE id = ANY($1::bigint[]) AND status = 'indexed' AND source_blob IS NOT NULL
                       FOR UPDATE),
            cleared AS (UPDATE documents d SET source_blob = NULL FROM old WHERE d.id = old.id RETURNING old.source_blob)
       SELECT source_blob FROM cleared`,
      [documentIds],
    );
    await this.releaseUnreferenced(rows.map((r) => r.source_blob));
  }

  /**
   * Staged files no document points at that are older than `olderThanMs`: uploads whose ingest call never
   * arrived (a crash, a timeout), and files of versions deleted with their document or collection.
   */
  async sweepOrphans(olderThanMs: number): Promise<number> {
    const rows: { blob_id: string }[] = await this.db.query(
      `WITH gone AS (
         DELETE FROM ingestion_upload_parts p
          WHERE p.blob_id IN (SELECT blob_id FROM ingestion_upload_parts
                               GROUP BY blob_id HAVING max(created_at) < now() - make_interval(secs => $1))
            AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.source_blob = p.blob_id)
         RETURNING p.blob_id)
       SELECT DISTINCT blob_id FROM gone`,
      [olderThanMs / 1000],
    );
    return rows.length;
  }
}
