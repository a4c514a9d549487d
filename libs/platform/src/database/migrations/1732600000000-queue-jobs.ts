import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What keeps the queue from confusing one database's documents with another's (issue 16).
 *
 * `database_instance` holds one UUID made when this database was created: queue job ids carry it, and
 * the ingestion queue records it in Redis under its prefix, so two databases cannot share a prefix
 * unnoticed. A database restored from a backup keeps its id, which is why each document also gets a
 * `queue_token`, drawn at random each time a version is queued (and again whenever the reconciler
 * re-queues it): its job id is new even where document ids and versions repeat, so a job that Redis
 * already holds (completed, failed, from before a restore) can never stand in for it.
 *
 * The partial index holds only pending documents, so the reconciler pages through them and the
 * collection view finds its oldest pending document without reading the indexed ones. Rows from before
 * this migration have no token: the reconciler finds no job under their id and gives them one.
 */
/** 64 random bits in hex. Statements draw a new token with `queue_token = DEFAULT`. */
const NEW_QUEUE_TOKEN = `substr(md5(gen_random_uuid()::text), 1, 16)`;

export class QueueJobs1732600000000 implements MigrationInterface {
  name = 'QueueJobs1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE database_instance (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`INSERT INTO database_instance DEFAULT VALUES`);
    // Added without a default, then given one: existing rows are not rewritten.
    await q.query(`ALTER TABLE documents ADD COLUMN queue_token text`);
    await q.query(`ALTER TABLE documents ALTER COLUMN queue_token SET DEFAULT ${NEW_QUEUE_TOKEN}`);
    await q.query(
      `CREATE INDEX documents_pending_idx ON documents (collection_id, updated_at, id)
        WHERE status IN ('queued', 'processing')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS documents_pending_idx`);
    await q.query(`ALTER TABLE documents DROP COLUMN IF EXISTS queue_token`);
    await q.query(`DROP TABLE IF EXISTS database_instance`);
  }
}
