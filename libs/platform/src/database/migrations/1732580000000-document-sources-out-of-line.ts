import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A document's row is updated several times while it is indexed (status, stage, progress), and each
 * update writes a new copy of the row. Kept inline, a source of a few KB was copied every time; stored
 * out of line (TOAST), the copies carry only a pointer to it.
 */
export class DocumentSourcesOutOfLine1732580000000 implements MigrationInterface {
  name = 'DocumentSourcesOutOfLine1732580000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE documents SET (toast_tuple_target = 256)`);
    await q.query(`ALTER TABLE documents ALTER COLUMN source_text SET STORAGE EXTERNAL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE documents ALTER COLUMN source_text SET STORAGE EXTENDED`);
    await q.query(`ALTER TABLE documents RESET (toast_tuple_target)`);
  }
}
