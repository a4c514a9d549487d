import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { StagedDocument, StagedFile, UploadStagingPort } from '#contracts';
import { contentHashFraming } from '../../domain/content-hash.js';

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

  async stage(bytes: AsyncIterable<Uint8Array>, as: StagedDocument): Promise<StagedFile> {
    const blobId = randomUUID();
    const sha256 = createHash('sha256');
    const { head, tail } = contentHashFraming({
      byteLength: as.size,
      title: as.title,
      metadata: as.metadata,
    });
    const content = createHash('sha256').update(head);
    let part = 0;
    let size = 0;
    // One buffer for every part: each INSERT has been sent and answered before it is filled again.
    const buffer = Buffer.allocUnsafe(UPLOAD_PART_BYTES);
    let filled = 0;
    const flush = async () => {
      await this.db.query(`INSERT INTO ingestion_upload_parts (blob_id, part, data) VALUES ($1, $2, $3)`, [
        blobId,
        part++,
        filled === buffer.length ? buffer : buffer.subarray(0, filled),
      ]);
      filled = 0;
    };
    await this.db.query(`INSERT INTO ingestion_uploads (blob_id) VALUES ($1)`, [blobId]);
    try {
      for await (const chunk of bytes) {
        sha256.update(chunk);
        content.update(chunk);
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
      if (size !== as.size) throw new Error(`the file was ${size} bytes, not the ${as.size} announced`);
      const digest = sha256.digest('hex');
      await this.db.query(
        `UPDATE ingestion_uploads SET size = $2, sha256 = $3, content_hash = $4, described = $5 WHERE blob_id = $1`,
        [blobId, size, digest, `sha256:${content.update(tail).digest('hex')}`, described(tail)],
      );
      return { blobId, size, sha256: digest };
    } catch (error) {
      await this.discard(blobId).catch(() => undefined);
      throw error;
    }
  }

  async discard(blobId: string): Promise<void> {
    await this.db.query(`DELETE FROM ingestion_uploads WHERE blob_id = $1`, [blobId]);
  }

  /**
   * The content hash of a staged file ingested as a document whose title and metadata framing is `tail`:
   * the one computed while it was staged when it was described the same, else computed again by the
   * database from its parts. Null when no such file is staged, or not as `expected`.
   */
  async contentHash(expected: StagedFile, head: Buffer, tail: Buffer): Promise<string | null> {
    const rows: { size: string; sha256: string; content_hash: string; described: string }[] =
      await this.db.query(
        `SELECT size, sha256, content_hash, described FROM ingestion_uploads
          WHERE blob_id = $1 AND content_hash IS NOT NULL`,
        [expected.blobId],
      );
    const r = rows[0];
    if (!r || Number(r.size) !== expected.size || r.sha256 !== expected.sha256) return null;
    if (r.described === described(tail)) return r.content_hash;
    return (await this.hash(expected.blobId, head, tail))?.contentHash ?? null;
  }

  /**
   * The content hash of a staged file, computed by the database from its parts (`sha256(head || bytes ||
   * tail)`, see contentHashFraming), with its size and plain SHA-256 to check against the reference.
   * Null when no such file is staged.
   */
  private async hash(
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

  /**
   * A staged file whole, read back a few parts at a time into one buffer of its size (the worker, to
   * extract its text).
   */
  async read(blobId: string): Promise<Buffer> {
    const sized: { size: string | null }[] = await this.db.query(
      `SELECT sum(length(data)) AS size FROM ingestion_upload_parts WHERE blob_id = $1`,
      [blobId],
    );
    if (sized[0]?.size == null) throw new Error(`the uploaded file's bytes are gone (staged file ${blobId})`);
    const whole = Buffer.allocUnsafe(Number(sized[0].size));
    let filled = 0;
    for (let next = 0; ; next += PARTS_PER_READ) {
      const rows: { data: Buffer }[] = await this.db.query(
        `SELECT data FROM ingestion_upload_parts WHERE blob_id = $1 AND part >= $2 ORDER BY part LIMIT $3`,
        [blobId, next, PARTS_PER_READ],
      );
      for (const r of rows) filled += r.data.copy(whole, filled);
      if (rows.length < PARTS_PER_READ) break;
    }
    if (filled !== whole.length)
      throw new Error(`the uploaded file changed while read (staged file ${blobId})`);
    return whole;
  }

  /** Removes the parts of the given staged files that no document version points at any more. */
  async releaseUnreferenced(blobIds: string[]): Promise<void> {
    if (blobIds.length === 0) return;
    await this.db.query(
      `DELETE FROM ingestion_uploads u
        WHERE u.blob_id = ANY($1::uuid[])
          AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.source_blob = u.blob_id)`,
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
         DELETE FROM ingestion_uploads u
          WHERE u.created_at < now() - make_interval(secs => $1)
            AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.source_blob = u.blob_id)
         RETURNING u.blob_id)
       SELECT blob_id FROM gone`,
      [olderThanMs / 1000],
    );
    return rows.length;
  }
}

/** What a staged file was described as: its title and metadata, as their content-hash framing. */
function described(tail: Buffer): string {
  return createHash('sha256').update(tail).digest('hex');
}
