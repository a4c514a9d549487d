import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where a document is in the ingestion pipeline: `stage` (extract, chunk, embed or index while
 * processing, kept when it fails, null otherwise) and `progress` (percent, 100 once indexed).
 * Documents indexed before this migration are complete, so they start at 100.
 */
export class DocumentProgress1732560000000 implements MigrationInterface {
  name = 'DocumentProgress1732560000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE documents
        ADD COLUMN stage text CHECK (stage IN ('extract', 'chunk', 'embed', 'index')),
        ADD COLUMN progress smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100)`);
    await q.query(`UPDATE documents SET progress = 100 WHERE status = 'indexed'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE documents DROP COLUMN IF EXISTS progress, DROP COLUMN IF EXISTS stage`);
  }
}
