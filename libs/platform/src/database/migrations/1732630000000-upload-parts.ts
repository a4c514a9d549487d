import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Staged uploads (issue 21), owned by ingestion. An uploaded file's bytes are streamed into
 * `ingestion_upload_parts` in parts of at most 1 MiB (in order, `part` from 0), by whichever process
 * received the upload, hashed on the way (`ingestion_uploads`), and only a reference (the blob id) crosses
 * the transport to ingestion. A document
 * version made from a staged file points at it (`documents.source_blob`); the parts go once the version is
 * indexed, replaced or deleted. A failed version keeps them, so that a retry can read them again.
 * `data` is stored EXTERNAL: uploads are mostly compressed formats already, and a part is written once.
 */
export class UploadParts1732630000000 implements MigrationInterface {
  name = 'UploadParts1732630000000';

  async up(q: QueryRunner): Promise<void> {
    // What was staged, filled in once its last part is written: its size, its SHA-256 and the content
    // hash of the document it was described as (`described`: the SHA-256 of the title and metadata framing).
    await q.query(`
      CREATE TABLE ingestion_uploads (
        blob_id uuid PRIMARY KEY,
        size bigint,
        sha256 text,
        content_hash text,
        described text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE ingestion_upload_parts (
        blob_id uuid NOT NULL REFERENCES ingestion_uploads (blob_id) ON DELETE CASCADE,
        part int NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (blob_id, part)
      )`);
    await q.query(`ALTER TABLE ingestion_upload_parts ALTER COLUMN data SET STORAGE EXTERNAL`);
    await q.query(`ALTER TABLE documents ADD COLUMN source_blob uuid`);
    await q.query(
      `CREATE INDEX documents_source_blob_idx ON documents (source_blob) WHERE source_blob IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE documents DROP COLUMN IF EXISTS source_blob`);
    await q.query(`DROP TABLE IF EXISTS ingestion_upload_parts`);
    await q.query(`DROP TABLE IF EXISTS ingestion_uploads`);
  }
}
